"""Dates for tests, built from the clock of the run, never fixed days that the code compares
with today (a fixed day turns a green suite red once the calendar passes it).

The run's clock (`RUN_CLOCK`) starts at ten in the morning, China time, of the day the run
started (read from the system clock, so a run under `faketime` moves with it) and runs on from
there: a working hour, far from midnight, so "today" stays one day through the run, the same in
China and in UTC. Every server and device of the suite reads it: in-process through the
settings' `clock_offset`, in subprocesses through `GRIDSWEEP_CLOCK_OFFSET` (`CLOCK_ENV`). Tests
that step through days use a `ManualClock` starting from it (`conftest.clock`).

A birth date inside an ID number, which the code never compares with today, may stay fixed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from shared.clock import CHINA_TIME, OFFSET_ENV, Clock, china_date

_started = datetime.now(UTC)
NOW = datetime.combine(
    china_date(_started), datetime.min.time().replace(hour=10), CHINA_TIME
).astimezone(UTC)
"""When the run's clock started."""
TODAY = china_date(NOW)
OFFSET = NOW - _started
RUN_CLOCK = Clock(OFFSET)
CLOCK_ENV = {OFFSET_ENV: f"{OFFSET.total_seconds():.6f}"}
"""The environment that gives a subprocess the run's clock."""


def day(offset: int = 0) -> date:
    """Today plus `offset` days."""
    return TODAY + timedelta(days=offset)


def iso(offset: int = 0) -> str:
    """Today plus `offset` days as YYYY-MM-DD."""
    return day(offset).isoformat()


def at(offset: int = 0, hour: int = 10, minute: int = 0) -> datetime:
    """An instant `offset` days from today at `hour:minute` China time."""
    return datetime.combine(day(offset), datetime.min.time(), CHINA_TIME).replace(
        hour=hour, minute=minute
    )


def local(offset: int = 0, hour: int = 10, minute: int = 0) -> str:
    """That instant as China time with its offset, minutes precision (`…T10:15+08:00`)."""
    return at(offset, hour, minute).isoformat(timespec="minutes")
