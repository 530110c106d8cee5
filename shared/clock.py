"""The one place "now" and "today" come from, on the server and on the phone.

Every rule that looks at the calendar (is a campaign running, has a token expired, is a device
stale, did a resident move out recently, is a visit today) asks a `Clock` handed to it, never
`date.today()` or `datetime.now()`, so tests can step through days and a whole test run can be
moved years ahead and still mean the same thing.

"Today" is the date in China time (UTC+8, no daylight saving): a grid worker's day, whatever zone
the server or the phone happens to be set to. Instants are always timezone-aware UTC.

A process takes its clock's offset from the environment (`GRIDSWEEP_CLOCK_OFFSET`, seconds or an
ISO-8601 duration such as `P30D`), so servers that tests start as subprocesses agree with the
test's own clock, and a demo can be shown as it will look next month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from pydantic import TypeAdapter, ValidationError

CHINA_TIME = timezone(timedelta(hours=8), "CST")
"""China Standard Time: the zone grid workers live by (no daylight saving since 1991)."""

OFFSET_ENV = "GRIDSWEEP_CLOCK_OFFSET"

_OFFSET = TypeAdapter(timedelta)


def parse_offset(text: str | None) -> timedelta:
    """`GRIDSWEEP_CLOCK_OFFSET`'s value: seconds (`86400`, `-3600.5`) or ISO 8601 (`P30D`).

    Empty means no offset. Raises ValueError naming the variable for anything else.
    """
    if text is None or not text.strip():
        return timedelta(0)
    value = text.strip()
    try:
        return timedelta(seconds=float(value))
    except ValueError:
        pass
    try:
        return _OFFSET.validate_python(value)
    except ValidationError:
        raise ValueError(
            f"{OFFSET_ENV}={text!r} is neither a number of seconds nor an ISO-8601 duration "
            "such as P30D"
        ) from None


def china_date(instant: datetime) -> date:
    """The calendar date of `instant` in China time (naive instants are read as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA_TIME).date()


class Clock:
    """The system clock, optionally shifted by a fixed offset."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """This instant, timezone-aware UTC."""
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        """Today's date in China time."""
        return china_date(self.now())

    def wall_ms(self) -> int:
        """Milliseconds since the Unix epoch: the physical part of hybrid-logical-clock stamps."""
        return int(self.now().timestamp() * 1000)


class MovableClock(Clock):
    """A clock that runs with the system's from where it starts, and can be moved on: tests
    jump days with it while the instants inside each step still follow one another."""

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(timedelta(0) if start is None else start - datetime.now(UTC))

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by `delta` or by `timedelta(**parts)` (days=, hours=, seconds=)."""
        self.offset += delta if delta is not None else timedelta(**parts)
        return self.now()


class ManualClock(Clock):
    """A clock that stands still until moved: tests step through days with it.

    It starts at the system's current instant (so a run under a shifted system clock is shifted
    too) unless told where to start.
    """

    def __init__(self, at: datetime | None = None) -> None:
        super().__init__()
        self._at = at if at is not None else datetime.now(UTC)
        if self._at.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware instant")

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta | None = None, **parts: float) -> datetime:
        """Move forward by `delta` or by `timedelta(**parts)` (days=, hours=, seconds=)."""
        self._at += delta if delta is not None else timedelta(**parts)
        return self._at

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware instant")
        self._at = at
