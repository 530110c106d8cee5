"""The recently-moved window: how long a person who moved out stays with the grid they left.

A move and a last correction (a phone number, the outcome "已搬离" of a running campaign) often
come in one sweep, and a worker who moved someone out must still be able to find them. So for
`RECENTLY_MOVED_DAYS` after a binding's `end_date` the person stays with the binding's grid: the
server lets that grid's worker name and correct them, bootstraps them there, routes their later
changes there, and the phone keeps them (searchable, marked as moved out) until the window closes,
when it forgets them by itself, holding then exactly what a fresh download would give it.

The window is counted in China-time calendar days: a binding that ended on `moved_since(today)`
or later is recent. One function decides it for the server and the phone alike.
"""

from __future__ import annotations

from datetime import date, timedelta

RECENTLY_MOVED_DAYS = 30


def moved_since(today: date) -> date:
    """The earliest end date of a binding that still counts as a recent move on `today`
    (China time)."""
    return today - timedelta(days=RECENTLY_MOVED_DAYS)


def binding_held(end_date: str | None, since: date) -> bool:
    """Whether a live binding (its `end_date` as ISO text, as records carry it) still ties its
    person to its house's grid: open, or ended within the window that starts on `since`."""
    return end_date is None or end_date >= since.isoformat()
