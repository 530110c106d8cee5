"""The hybrid logical clock: string order, monotonicity, causality and the drift guard."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.hlc import (
    HLC,
    MAX_LENGTH,
    MAX_LOGICAL,
    MAX_NODE_LENGTH,
    MAX_PHYSICAL,
    ClockDriftError,
    InvalidTimestamp,
    Timestamp,
    format_ts,
    is_timestamp,
    parse,
)

T0 = 1_764_339_600_000  # 2025-11-28 14:20 UTC, in ms


class FakeWall:
    """A wall clock the test moves by hand."""

    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_format_is_fixed_width_and_round_trips() -> None:
    ts = format_ts(T0, 7, "device-7f3a")
    assert ts == "0001764339600000-0007-device-7f3a"
    assert parse(ts) == Timestamp(T0, 7, "device-7f3a")
    assert str(parse(ts)) == ts


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "1764339600000-0000-a",  # physical part not padded
        "0001764339600000-0-a",  # logical part not padded
        "0001764339600000-0000-",  # no node
        "0001764339600000-0000-bad node",
        "0001764339600000-000a-a",
    ],
)
def test_malformed_timestamps_are_rejected(bad: str) -> None:
    assert not is_timestamp(bad)
    with pytest.raises(InvalidTimestamp):
        parse(bad)


def test_node_id_must_be_usable_in_a_timestamp() -> None:
    with pytest.raises(InvalidTimestamp, match="node id"):
        HLC("has space")
    HLC("3f2b8c1e-9d4a-4e6b-8f00-123456789abc")  # a UUID is fine


def test_the_longest_timestamp_fits_the_protocols_64_characters() -> None:
    longest = format_ts(MAX_PHYSICAL, MAX_LOGICAL, "n" * MAX_NODE_LENGTH)
    assert len(longest) == MAX_LENGTH <= 64
    with pytest.raises(InvalidTimestamp):
        HLC("n" * (MAX_NODE_LENGTH + 1))


def test_a_phone_with_a_running_clock_stamps_wall_time() -> None:
    wall = FakeWall()
    clock = HLC("phone-a", wall=wall)
    assert clock.now() == format_ts(T0, 0, "phone-a")
    wall.ms += 5
    assert clock.now() == format_ts(T0 + 5, 0, "phone-a")


def test_many_edits_within_one_millisecond_still_order() -> None:
    clock = HLC("phone-a", wall=FakeWall())
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 5
    assert parse(stamps[-1]).logical == 4


def test_a_phone_clock_set_backwards_never_reuses_a_timestamp() -> None:
    wall = FakeWall()
    clock = HLC("phone-a", wall=wall)
    first = clock.now()
    wall.ms -= 60_000  # the worker fixes the phone's time zone
    second = clock.now()
    assert second > first
    assert parse(second).physical == T0


def test_after_receiving_a_server_timestamp_the_next_edit_sorts_after_it() -> None:
    wall = FakeWall()
    phone = HLC("phone-a", wall=wall)
    server_ts = format_ts(T0 + 2_000, 3, "server")  # the server is 2 s ahead
    received = phone.observe(server_ts)
    assert received > server_ts
    assert parse(received) == Timestamp(T0 + 2_000, 4, "phone-a")
    assert phone.now() > received


def test_observing_an_older_timestamp_keeps_our_time() -> None:
    wall = FakeWall()
    clock = HLC("server", wall=wall)
    clock.now()
    received = clock.observe(format_ts(T0 - 10_000, 9, "phone-b"))
    assert parse(received) == Timestamp(T0, 1, "server")


def test_observe_when_wall_time_has_moved_past_both() -> None:
    wall = FakeWall()
    clock = HLC("server", wall=wall)
    clock.now()
    wall.ms += 100
    assert parse(clock.observe(format_ts(T0 + 50, 2, "phone"))) == Timestamp(T0 + 100, 0, "server")


def test_observe_equal_physical_takes_the_larger_counter() -> None:
    clock = HLC("server", wall=FakeWall())
    clock.now()
    assert parse(clock.observe(format_ts(T0, 6, "phone"))).logical == 7


def test_a_phone_clock_a_day_ahead_is_refused_and_does_not_poison_ours() -> None:
    wall = FakeWall()
    server = HLC("server", wall=wall, max_drift_ms=60_000)
    before = server.now()
    remote = format_ts(T0 + 86_400_000, 0, "phone-a")
    with pytest.raises(ClockDriftError, match="ahead of this clock") as info:
        server.observe(remote)
    assert info.value.drift_ms == 86_400_000
    assert info.value.remote.node == "phone-a"
    assert server.last == before
    assert parse(server.now()).physical == T0


def test_drift_within_the_limit_is_accepted() -> None:
    server = HLC("server", wall=FakeWall(), max_drift_ms=60_000)
    assert server.observe(format_ts(T0 + 60_000, 0, "phone")) > format_ts(T0 + 60_000, 0, "phone")


def test_drift_guard_can_be_disabled() -> None:
    phone = HLC("phone", wall=FakeWall(), max_drift_ms=None)
    far = format_ts(T0 + 86_400_000, 0, "server")
    assert phone.observe(far) > far


def test_negative_drift_limit_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="max_drift_ms"):
        HLC("a", max_drift_ms=-1)


def test_a_restarted_app_continues_after_its_last_timestamp() -> None:
    wall = FakeWall()
    clock = HLC("phone-a", wall=wall)
    for _ in range(3):
        clock.now()
    saved = clock.last
    wall.ms -= 5_000  # restarted with a wrong clock
    restarted = HLC("phone-a", wall=wall, last=saved)
    assert restarted.now() > saved


def test_counter_overflow_borrows_a_millisecond() -> None:
    clock = HLC("bulk", wall=FakeWall(), last=format_ts(T0, MAX_LOGICAL, "bulk"))
    assert parse(clock.now()) == Timestamp(T0 + 1, 0, "bulk")


def test_system_wall_clock_is_the_default() -> None:
    ts = parse(HLC("server").now())
    assert ts.physical > T0


# --- properties ------------------------------------------------------------------------------

nodes = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,10}\Z")
timestamps = st.builds(
    Timestamp,
    st.integers(min_value=0, max_value=T0 * 2),
    st.integers(min_value=0, max_value=MAX_LOGICAL),
    nodes,
)


@given(timestamps, timestamps)
def test_string_order_is_timestamp_order(a: Timestamp, b: Timestamp) -> None:
    assert (str(a) < str(b)) == (a < b)
    assert (str(a) == str(b)) == (a == b)


# Each step moves the wall clock (possibly backwards) and then either stamps a local event or
# observes a remote timestamp near the current wall time.
steps = st.lists(
    st.tuples(
        st.integers(min_value=-1_000, max_value=1_000),
        st.one_of(
            st.none(),
            st.tuples(
                st.integers(min_value=-5_000, max_value=5_000),
                st.integers(min_value=0, max_value=20),
            ),
        ),
    ),
    max_size=50,
)


@given(steps)
def test_timestamps_strictly_increase_and_follow_what_was_observed(
    script: list[tuple[int, tuple[int, int] | None]],
) -> None:
    wall = FakeWall()
    clock = HLC("me", wall=wall, max_drift_ms=10_000)
    previous = clock.last
    for move, remote in script:
        wall.ms += move
        seen_physical = 0
        if remote is None:
            stamp = clock.now()
        else:
            offset, logical = remote
            seen = format_ts(wall.ms + offset, logical, "other")
            seen_physical = wall.ms + offset
            stamp = clock.observe(seen)
            assert stamp > seen  # causality: the receive event sorts after the message
        assert stamp > previous
        # The physical part is the largest time seen (wall, own past, remote), never more.
        assert parse(stamp).physical == max(wall.ms, parse(previous).physical, seen_physical)
        previous = stamp
