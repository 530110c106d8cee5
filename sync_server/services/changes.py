"""Recording what a transaction changed, in commit order, for pulls to find after their cursor.

A unit of work collects (entity, record, grids) in a `ChangeSet` and calls `commit_changes` as its
last write. That bumps the single counter row; the row lock the UPDATE takes is held until the
transaction commits, so no other writer can take later numbers and commit first. Hence sequence
numbers become visible in order, and a pull that has read up to N can never later find a newly
committed change below N (docs/sync-protocol.md, "Ordering").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from sync_server.models import Change, SyncCounter


class ChangeSet:
    """Records touched in one unit of work, each with every grid it was or is now in."""

    def __init__(self) -> None:
        self._grids: dict[tuple[str, str], set[str]] = {}

    def add(self, entity: str, record_id: str, grids: Iterable[str]) -> None:
        self._grids.setdefault((entity, record_id), set()).update(g for g in grids if g)

    def merge(self, other: ChangeSet) -> None:
        for (entity, record_id), grids in other._grids.items():
            self.add(entity, record_id, grids)

    def __len__(self) -> int:
        return sum(len(g) for g in self._grids.values())

    def rows(self) -> list[tuple[str, str, str]]:
        return [
            (entity, record_id, grid)
            for (entity, record_id), grids in sorted(self._grids.items())
            for grid in sorted(grids)
        ]


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
    session.execute(
        insert(Change),
        [
            {"seq": first + i, "entity": entity, "record_id": record_id, "grid_id": grid}
            for i, (entity, record_id, grid) in enumerate(rows)
        ],
    )
    return int(last)


def current_seq(*, session: Session) -> int:
    return int(session.scalar(select(SyncCounter.value).where(SyncCounter.id == 1)) or 0)
