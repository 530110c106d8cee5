"""Hybrid logical clock (Kulkarni et al., 2014): the timestamps every synced write carries.

A worker's phone may be offline for a day and its wall clock may be a little wrong, so the order of
two writes cannot come from wall time alone, and a pure logical counter says nothing about *when*.
A hybrid logical clock keeps both: a physical part that stays close to wall time (milliseconds
since the Unix epoch) and a logical counter that orders events within the same millisecond and
carries causality across devices (after `observe`, every later `now` sorts after what was seen).

Timestamps travel and are stored as strings that sort lexicographically in the same order as the
tuple (physical ms, logical counter, node id)::

    0001764339600000-0000-device-7f3a
    └── 16 digits ──┘ └4┘ └── node ──┘

The two numeric parts are fixed width, so string comparison (in Python, SQL `ORDER BY` or
`max()`) is timestamp comparison; the node id breaks ties so two different writers never produce
equal timestamps. `shared.merge` compares these strings for last-writer-wins fields.

Use one `HLC` per node (device or server process), persist `HLC.last` with the data it stamped, and
pass it back as `last=` after a restart so a wall clock set backwards never reuses a timestamp.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

PHYSICAL_DIGITS = 16
LOGICAL_DIGITS = 4
MAX_PHYSICAL = 10**PHYSICAL_DIGITS - 1
MAX_LOGICAL = 10**LOGICAL_DIGITS - 1
# Five minutes: phone clocks set by the network are rarely further off than that; a phone whose
# clock is hours or days ahead must be told to fix it rather than poison every later timestamp.
DEFAULT_MAX_DRIFT_MS = 5 * 60 * 1000

# Node ids up to 42 characters (a UUID is 36) keep a whole timestamp within MAX_LENGTH, the
# width of the protocol's `hlc` fields and the database's hlc columns.
MAX_NODE_LENGTH = 42
MAX_LENGTH = PHYSICAL_DIGITS + 1 + LOGICAL_DIGITS + 1 + MAX_NODE_LENGTH
_NODE = rf"[A-Za-z0-9][A-Za-z0-9._:-]{{0,{MAX_NODE_LENGTH - 1}}}"
_NODE_RE = re.compile(rf"^{_NODE}$")
_TIMESTAMP_RE = re.compile(rf"^(\d{{{PHYSICAL_DIGITS}}})-(\d{{{LOGICAL_DIGITS}}})-({_NODE})$")


class InvalidTimestamp(ValueError):
    """A string that is not a hybrid-logical-clock timestamp, or a node id that cannot be one."""


class ClockDriftError(ValueError):
    """A remote timestamp is further ahead of our wall clock than the configured maximum drift.

    Accepting it would drag this node's clock (and every timestamp it issues afterwards) into the
    future, so the caller must refuse the message and tell the sender to correct its clock.
    """

    def __init__(self, remote: Timestamp, wall_ms: int, max_drift_ms: int) -> None:
        self.remote = remote
        self.wall_ms = wall_ms
        self.max_drift_ms = max_drift_ms
        self.drift_ms = remote.physical - wall_ms
        super().__init__(
            f"The timestamp {remote} from node {remote.node!r} is {self.drift_ms} ms ahead of "
            f"this clock, more than the allowed {max_drift_ms} ms; the sender's clock must be "
            "corrected before its changes can be accepted."
        )


@dataclass(frozen=True, order=True)
class Timestamp:
    """A parsed timestamp; orders exactly like its string form."""

    physical: int  # milliseconds since the Unix epoch
    logical: int
    node: str

    def __post_init__(self) -> None:
        if not 0 <= self.physical <= MAX_PHYSICAL:
            raise InvalidTimestamp(f"The physical time {self.physical} ms is out of range.")
        if not 0 <= self.logical <= MAX_LOGICAL:
            raise InvalidTimestamp(f"The logical counter {self.logical} is out of range.")
        check_node(self.node)

    def __str__(self) -> str:
        return f"{self.physical:0{PHYSICAL_DIGITS}d}-{self.logical:0{LOGICAL_DIGITS}d}-{self.node}"


def check_node(node: str) -> str:
    """Return `node` if it can be a timestamp's node id, else raise `InvalidTimestamp`."""
    if not _NODE_RE.match(node):
        raise InvalidTimestamp(
            f"The node id {node!r} must be 1-{MAX_NODE_LENGTH} characters of letters, digits "
            "and ._:- "
            "and start with a letter or digit."
        )
    return node


def parse(ts: str) -> Timestamp:
    """Parse a timestamp string; raise `InvalidTimestamp` when it is malformed."""
    match = _TIMESTAMP_RE.match(ts) if isinstance(ts, str) else None
    if match is None:
        raise InvalidTimestamp(
            f"{ts!r} is not a hybrid-logical-clock timestamp "
            f"(expected {PHYSICAL_DIGITS} digits, '-', {LOGICAL_DIGITS} digits, '-', node id)."
        )
    return Timestamp(int(match[1]), int(match[2]), match[3])


def format_ts(physical: int, logical: int, node: str) -> str:
    """The string form of (physical ms, logical counter, node id)."""
    return str(Timestamp(physical, logical, node))


def is_timestamp(ts: object) -> bool:
    """Whether `ts` is a well-formed timestamp string."""
    return isinstance(ts, str) and _TIMESTAMP_RE.match(ts) is not None


def system_wall_ms() -> int:
    """The system's wall clock in milliseconds since the Unix epoch."""
    return time.time_ns() // 1_000_000


class HLC:
    """One node's hybrid logical clock.

    `now()` stamps a local event (an edit, or a message about to be sent); `observe(ts)` merges a
    timestamp received from another node and stamps the receive event. Both return timestamp
    strings that are strictly increasing for this node. Thread-safe: the server shares one clock
    between request handlers.
    """

    def __init__(
        self,
        node: str,
        *,
        wall: Callable[[], int] = system_wall_ms,
        max_drift_ms: int | None = DEFAULT_MAX_DRIFT_MS,
        last: str | Timestamp | None = None,
    ) -> None:
        """Create a clock for `node`.

        `wall` returns the wall clock in ms (inject a fake one in tests). `max_drift_ms` is how far
        ahead of our wall clock a remote timestamp may be; None disables the guard (a device that
        knows its own clock is unreliable may prefer to follow the server). `last` restores the
        clock after a restart from the last timestamp it issued or observed.
        """
        if max_drift_ms is not None and max_drift_ms < 0:
            raise ValueError("max_drift_ms must be zero or positive, or None to disable the guard.")
        self._node = check_node(node)
        self._wall = wall
        self._max_drift_ms = max_drift_ms
        self._lock = threading.Lock()
        restored = parse(last) if isinstance(last, str) else last
        # Only the numeric parts carry over: a restored clock continues after `last` even when
        # `last` was observed from another node.
        self._physical = restored.physical if restored else 0
        self._logical = restored.logical if restored else 0

    @property
    def node(self) -> str:
        return self._node

    @property
    def last(self) -> str:
        """The latest timestamp this clock issued (or the restored one); persist it."""
        with self._lock:
            return format_ts(self._physical, self._logical, self._node)

    def now(self) -> str:
        """Stamp a local or send event."""
        with self._lock:
            wall = self._wall()
            if wall > self._physical:
                self._physical, self._logical = wall, 0
            else:
                # Wall clock stalled or went backwards: keep physical time, count events.
                self._advance_logical(self._logical + 1)
            return format_ts(self._physical, self._logical, self._node)

    def observe(self, remote: str | Timestamp) -> str:
        """Merge a received timestamp and stamp the receive event.

        Raises `InvalidTimestamp` for a malformed string and `ClockDriftError` when the remote
        physical time is more than `max_drift_ms` ahead of our wall clock; in both cases the clock
        is left unchanged.
        """
        ts = parse(remote) if isinstance(remote, str) else remote
        with self._lock:
            wall = self._wall()
            if self._max_drift_ms is not None and ts.physical - wall > self._max_drift_ms:
                raise ClockDriftError(ts, wall, self._max_drift_ms)
            physical = max(self._physical, ts.physical, wall)
            if physical == self._physical == ts.physical:
                logical = max(self._logical, ts.logical) + 1
            elif physical == self._physical:
                logical = self._logical + 1
            elif physical == ts.physical:
                logical = ts.logical + 1
            else:
                logical = 0
            self._physical = physical
            self._advance_logical(logical)
            return format_ts(self._physical, self._logical, self._node)

    def observe_latest(self, remotes: Iterable[object]) -> set[str]:
        """Merge many received timestamps at once, as observing the latest of them would.

        Returns those further ahead of our wall clock than `max_drift_ms` (each would raise
        `ClockDriftError` alone; they are not merged); malformed ones are skipped (each would
        raise `InvalidTimestamp`). A batch of a thousand operations takes the lock once.
        """
        limit = None if self._max_drift_ms is None else self._wall() + self._max_drift_ms
        ahead: set[str] = set()
        latest: str | None = None
        for ts in remotes:
            if not isinstance(ts, str) or _TIMESTAMP_RE.match(ts) is None:
                continue
            if limit is not None and int(ts[:PHYSICAL_DIGITS]) > limit:
                ahead.add(ts)
            elif latest is None or ts > latest:  # fixed width: string order is clock order
                latest = ts
        if latest is not None:
            self.observe(latest)
        return ahead

    def _advance_logical(self, logical: int) -> None:
        # The counter has four digits; ten thousand events in one millisecond only happen in
        # bulk imports, where borrowing a millisecond is harmless and keeps timestamps fixed-width.
        if logical > MAX_LOGICAL:
            self._physical += 1
            logical = 0
        self._logical = logical
