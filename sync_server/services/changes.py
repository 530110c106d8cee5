"""Recording what a transaction changed, in commit order, for pulls to find after their cursor.

A unit of work collects (entity, record, grids) in a `ChangeSet` and calls `commit_changes` as its
last write. That bumps the single counter row; the row lock the UPDATE takes is held until the
transaction commits, so no other writer can take later numbers and commit first. Hence sequence
numbers become visible in order, and a pull that has read up to N can never later find a newly
committed change below N (docs/sync-protocol.md, "Ordering").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync_server.db import insert_rows
from sync_server.models import Change, SyncCounter

_NOT_ECHO = ""  # an echo state meaning: someone else's change too, or not as sent


class ChangeSet:
    """Records touched in one unit of work, each with every grid it was or is now in.

    A record can also be marked an echo of one device (`settle`): it changed in this unit of work
    only by that device's own operations, applied exactly as sent, so that device holds its
    state already. `add` marks a record as not an echo unless `pending` is true (the operation
    applying it settles that later); a record only ever added pending is not an echo either.
    """

    def __init__(self) -> None:
        self._grids: dict[tuple[str, str], set[str]] = {}
        self._echo: dict[tuple[str, str], str] = {}  # device id, or _NOT_ECHO

    def add(
        self, entity: str, record_id: str, grids: Iterable[str], *, pending: bool = False
    ) -> None:
        key = (entity, record_id)
        self._grids.setdefault(key, set()).update(g for g in grids if g)
        if not pending:
            self._echo[key] = _NOT_ECHO

    def settle(self, entity: str, record_id: str, echo_of: str | None) -> None:
        """The operation on this record is done: an echo of device `echo_of`, or (None) not."""
        key = (entity, record_id)
        if key in self._grids:
            self._echo[key] = _joined(self._echo.get(key), echo_of or _NOT_ECHO)

    def merge(self, other: ChangeSet) -> None:
        for key, grids in other._grids.items():
            self._grids.setdefault(key, set()).update(grids)
        for key, echo in other._echo.items():
            self._echo[key] = _joined(self._echo.get(key), echo)

    def __len__(self) -> int:
        return sum(len(g) for g in self._grids.values())

    def rows(self) -> list[tuple[str, str, str, str | None]]:
        """(entity, record id, grid, echo device or None), one per grid the record is in."""
        return [
            (entity, record_id, grid, self._echo.get((entity, record_id)) or None)
            for (entity, record_id), grids in sorted(self._grids.items())
            for grid in sorted(grids)
        ]


def _joined(mine: str | None, theirs: str) -> str:
    return theirs if mine is None or mine == theirs else _NOT_ECHO


def commit_changes(*, session: Session, changes: ChangeSet) -> int | None:
    """Number the changes and store them; returns the last sequence number, or None if empty."""
    rows = changes.rows()
    if not rows:
        return None
    session.flush()  # the record writes first, so the counter lock is the last one taken
    last = session.execute(
        update(SyncCounter)
        .where(SyncCounter.id == 1)
        .values(value=SyncCounter.value + len(rows))
        .returning(SyncCounter.value)
    ).scalar_one()
    first = last - len(rows) + 1
    insert_rows(
        session,
        Change.__table__,  # type: ignore[arg-type]
        [
            {
                "seq": first + i,
                "entity": entity,
                "record_id": record_id,
                "grid_id": grid,
                "echo_device_id": echo,
            }
            for i, (entity, record_id, grid, echo) in enumerate(rows)
        ],
    )
    return int(last)


def current_seq(*, session: Session) -> int:
    return int(session.scalar(select(SyncCounter.value).where(SyncCounter.id == 1)) or 0)
