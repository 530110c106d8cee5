"""What a worker is told about their own changes after a sync, until they have read it.

Two things the server decided without them: a value they typed that a later edit made elsewhere
outranked (a "merged" answer naming the superseded fields), and how an admin settled a conflict
of theirs (the conflict leaves the open list). The notice keeps what was typed; what the record
holds now is read when the notice is shown. Kept in the device's meta table, oldest first, with
personal values typed kept sealed (`sealed.py`).

These functions run statements in the caller's transaction and never commit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from field_app.store.meta import Meta
from field_app.store.sealed import StoreDb
from shared.protocol import Operation

NOTICES = "notices"  # meta key
NoticeKind = Literal["superseded", "settled"]


@dataclass(frozen=True)
class Notice:
    op_id: str
    kind: NoticeKind
    entity: str
    record_id: str
    at: str  # when the device learnt it (ISO, UTC)
    typed: dict[str, Any] = field(default_factory=dict)  # field -> what the worker typed
    resident_id: str | None = None  # whose record it was about, when a person's


def of(op: Operation, kind: NoticeKind, names: list[str] | None, at: str) -> Notice:
    """A notice about `op`: for the fields `names` (all it changed when None)."""
    chosen = list(op.fields) if names is None else [n for n in names if n in op.fields]
    resident = op.record_id if op.entity == "resident" else None
    if op.entity in ("binding", "visit", "outcome") and "resident_id" in op.fields:
        resident = op.fields["resident_id"].new
    typed = {n: op.fields[n].new for n in chosen}
    if op.kind == "delete":
        typed = {"_deleted": True}
    return Notice(op.op_id, kind, op.entity, op.record_id, at, typed, resident)


def load(db: StoreDb) -> list[Notice]:
    notices = [Notice(**n) for n in Meta(db).get(NOTICES, [])]
    return [
        replace(n, typed=db.sealer.open_values(n.entity, n.record_id, n.typed)) for n in notices
    ]


def add(db: StoreDb, new: list[Notice]) -> None:
    if not new:
        return
    kept = {n.op_id: n for n in load(db)}
    kept.update((n.op_id, n) for n in new)
    _save(db, list(kept.values()))


def dismiss(db: StoreDb, op_id: str) -> bool:
    notices = load(db)
    left = [n for n in notices if n.op_id != op_id]
    if len(left) == len(notices):
        return False
    _save(db, left)
    return True


def _save(db: StoreDb, notices: list[Notice]) -> None:
    sealed = [
        asdict(replace(n, typed=db.sealer.seal_values(n.entity, n.record_id, n.typed)))
        for n in notices
    ]
    Meta(db).set(NOTICES, sealed or None)
