"""`shared.clock`: one place for "now" and "today", and nothing else reads the wall clock.

A rule that called `date.today()` on its own would pass every test on the day it was written and
fail on a later one (a campaign window, a token's expiry); the scan below keeps the server, the
app and `shared` on their injected clock.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import field_app
import shared
import sync_server
from shared.clock import (
    CHINA_TIME,
    Clock,
    ManualClock,
    MovableClock,
    china_date,
    china_day,
    china_minutes,
    china_timestamp_text,
    format_timestamp,
    parse_offset,
)

PACKAGES = [Path(p.__file__).parent for p in (shared, sync_server, field_app)]
CLOCK_MODULE = Path(shared.__file__).parent / "clock.py"
WALL_CLOCK_CALLS = {
    ("date", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("time", "time"),
}


def wall_clock_calls(source: str) -> list[str]:
    """`date.today()`, `datetime.now()`, `datetime.utcnow()` and `time.time()` calls in source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in WALL_CLOCK_CALLS
        ):
            found.append(f"{node.func.value.id}.{node.func.attr}() on line {node.lineno}")
    return found


def test_the_scan_finds_a_wall_clock_call() -> None:
    assert wall_clock_calls("from datetime import date\nx = date.today()\n") == [
        "date.today() on line 2"
    ]
    assert wall_clock_calls("clock.today()\nself.now()\n") == []


@pytest.mark.parametrize(
    "module",
    sorted(m for package in PACKAGES for m in package.rglob("*.py") if m != CLOCK_MODULE),
    ids=lambda m: str(m.relative_to(m.parents[1])),
)
def test_no_module_reads_the_wall_clock_but_the_clock(module: Path) -> None:
    assert wall_clock_calls(module.read_text(encoding="utf-8")) == []


def test_today_is_the_date_in_china_whatever_the_zone_of_the_machine() -> None:
    late_evening_utc = datetime(2030, 3, 9, 17, 30, tzinfo=UTC)  # 01:30 on the 10th in China
    assert ManualClock(late_evening_utc).today() == date(2030, 3, 10)
    assert china_date(datetime(2030, 3, 9, 15, 59, tzinfo=UTC)) == date(2030, 3, 9)
    assert china_date(datetime(2030, 3, 9, 16, 0)) == date(2030, 3, 10)  # naive is UTC


def test_an_offset_clock_runs_ahead_of_the_system_by_its_offset() -> None:
    ahead = Clock(timedelta(days=400))
    gap = ahead.now() - datetime.now(UTC)
    assert timedelta(days=400) - timedelta(seconds=5) < gap <= timedelta(days=400)
    assert ahead.now().tzinfo is not None
    assert abs(ahead.wall_ms() - ahead.now().timestamp() * 1000) < 5_000


def test_a_manual_clock_stands_still_until_moved_and_a_movable_one_runs_on() -> None:
    start = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)
    manual = ManualClock(start)
    assert manual.now() == manual.now() == start
    manual.advance(days=2, hours=3)
    assert manual.now() == start + timedelta(days=2, hours=3)
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2030, 1, 1))

    movable = MovableClock(start)
    first = movable.now()
    assert timedelta(0) <= first - start < timedelta(seconds=5)
    movable.advance(days=30)
    assert movable.today() == date(2030, 1, 31)
    assert movable.now() >= first + timedelta(days=30)


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        (None, timedelta(0)),
        ("", timedelta(0)),
        ("86400", timedelta(days=1)),
        ("-3600.5", timedelta(seconds=-3600.5)),
        ("P30D", timedelta(days=30)),
        ("PT2H", timedelta(hours=2)),
    ],
)
def test_the_offset_setting_takes_seconds_or_an_iso_duration(
    text: str | None, offset: timedelta
) -> None:
    assert parse_offset(text) == offset


def test_a_bad_offset_setting_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="GRIDSWEEP_CLOCK_OFFSET='next week'"):
        parse_offset("next week")


def test_china_time_has_no_daylight_saving() -> None:
    summer = datetime(2030, 7, 1, tzinfo=CHINA_TIME)
    winter = datetime(2030, 1, 1, tzinfo=CHINA_TIME)
    assert summer.utcoffset() == winter.utcoffset() == timedelta(hours=8)


def test_a_stored_time_reads_in_china_time_and_a_broken_one_as_it_is() -> None:
    assert china_timestamp_text("2026-11-28T15:30:00.000Z") == "2026-11-28 23:30"
    assert china_timestamp_text("2026-11-28T23:30+08:00") == "2026-11-28 23:30"  # older apps
    assert china_timestamp_text("2026-11-28T16:10:00.000Z") == "2026-11-29 00:10"  # next day
    assert china_timestamp_text("9999-12-31T23:59:00.000Z") == "9999-12-31T23:59:00.000Z"
    assert china_timestamp_text("早上") == "早上" and china_timestamp_text("") == ""
    assert china_minutes(datetime(2026, 11, 28, 15, 30)) == "2026-11-28 23:30"  # naive: UTC
    start, end = china_day(date(2026, 11, 28))
    assert (format_timestamp(start), format_timestamp(end)) == (
        "2026-11-27T16:00:00.000Z",
        "2026-11-28T16:00:00.000Z",
    )
