"""The one place "now" and "today" come from, on the server and on the phone.

Every rule that looks at the calendar (is a campaign running, has a token expired, is a device
stale, did a resident move out recently, is a visit today) asks a `Clock` handed to it, never
`date.today()` or `datetime.now()`, so tests can step through days and a whole test run can be
moved years ahead and still mean the same thing.

"Today" is the date in China time (UTC+8, no daylight saving): a grid worker's day, whatever zone
the server or the phone happens to be set to. Instants are always timezone-aware UTC: a clock's
`now()` never returns a naive local time, so a phone set to UTC or to New York records the same
instant as one set to Beijing. On the wire and in the stores an instant has one text form,
`format_timestamp`'s (UTC, milliseconds, `Z`: `2026-11-28T15:30:00.000Z`, which sorts as text);
a person reads it in China time (`china_minutes`: `2026-11-28 23:30`).

A process takes its clock's offset from the environment (`GRIDSWEEP_CLOCK_OFFSET`, seconds or an
ISO-8601 duration such as `P30D`), so servers that tests start as subprocesses agree with the
test's own clock, and a demo can be shown as it will look next month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

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


def china_day(day: date) -> tuple[datetime, datetime]:
    """The instants a China-time calendar day spans: [its midnight, the next midnight)."""
    start = datetime.combine(day, time(), CHINA_TIME)
    return start, start + timedelta(days=1)


def china_minutes(instant: datetime) -> str:
    """`instant` as a person reads it: China time to the minute, `2026-11-28 23:30` (naive
    instants are read as UTC, as the databases hand them back)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


# --- the text form of an instant ----------------------------------------------------------------
# Written by people and by old phones, a time may come with any zone or none; a zone-less one is
# China time, the only zone a grid worker's paper forms and the platform's exports use.


def format_timestamp(moment: datetime) -> str:
    """The one text form of an instant on the wire and in the stores: UTC, milliseconds, `Z`
    (it sorts as text). A naive `moment` is China time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TIME)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(raw: str) -> datetime | None:
    """An ISO 8601 date-time as an aware instant in the zone it was written in (a zone-less one
    is China time), or None. It compares safely with any instant, but moving an extreme one
    (year 9999 at -08:00) to another zone overflows: check its range before formatting it."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TIME)


def china_timestamp_text(raw: str) -> str:
    """A stored instant's text (`format_timestamp`'s form, or an old phone's `+08:00` one) as a
    person reads it, China time to the minute; text that is no time is shown as it is."""
    moment = parse_timestamp(raw) if raw else None
    try:
        return china_minutes(moment) if moment is not None else raw
    except OverflowError:
        return raw


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
