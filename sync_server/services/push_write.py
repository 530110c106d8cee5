"""Writing a push's decisions set-based: each record's final state once, grouped by entity.

A record the batch changed several times is written once, as it ended up. New records go in with
one multi-row INSERT per entity (COPY on PostgreSQL), in the order their references need;
changed ones with one executemany UPDATE per entity. Then the new conflicts, and the operations
held in open ones. Statements run in the caller's transaction; nothing commits here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from shared.protocol import Operation
from sync_server.db import insert_rows
from sync_server.models import ConflictRecord, PointsEntry
from sync_server.records import MODELS, column_values
from sync_server.services.push_rules import Decision, Key, Rec

# Inserted in this order: every reference among new records points to an entity earlier in it.
INSERT_ORDER = (
    "building",
    "unit",
    "house",
    "resident",
    "binding",
    "visit",
    "outcome",
    "matter",
    "matter_step",
    "business",
    "business_check",
    "post",
    "post_claim",
)


def write(
    session: Session,
    decisions: Iterable[tuple[Operation, Decision]],
    *,
    existing: set[Key],
    user_id: str,
    now: datetime,
) -> None:
    """Store what `decisions` decided. `existing`: the records the server had before the batch
    (the rest of those written are new)."""
    final: dict[Key, Rec] = {}
    conflicts: list[dict[str, Any]] = []
    holds: list[tuple[str, str | None, Operation]] = []
    credits: list[dict[str, Any]] = []
    for op, decision in decisions:
        credits.extend({**c, "at": now} for c in decision.credits)
        for key, rec in decision.writes:
            final.pop(key, None)  # re-inserted, so the last write keeps its place in the order
            final[key] = rec
        if decision.new_conflict is not None:
            conflicts.append(decision.new_conflict)
        if decision.hold is not None:
            holds.append((*decision.hold, op))
    inserts: dict[str, list[dict[str, Any]]] = {}
    updates: dict[str, list[dict[str, Any]]] = {}
    for (entity, record_id), rec in final.items():
        row = _row(entity, record_id, rec, user_id, now)
        (updates if (entity, record_id) in existing else inserts).setdefault(entity, []).append(row)
    for entity in INSERT_ORDER:
        for rows in _by_keys(inserts.get(entity, [])):
            insert_rows(session, _table(entity), rows)
    for entity, rows in sorted(updates.items()):
        table = _table(entity)
        for group in _by_keys(rows):
            names = [name for name in group[0] if name != "id"]
            statement = (
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({name: bindparam(f"_{name}") for name in names})
            )
            session.execute(
                statement, [{f"_{name}": value for name, value in row.items()} for row in group]
            )
    if credits:
        # In the step's transaction; the ledger's unique (matter, kind) refuses a second credit.
        insert_rows(session, _points_table(), credits)
    if conflicts:
        session.add_all(ConflictRecord(**row) for row in conflicts)
        session.flush()
    if holds:
        ids = sorted({conflict_id for conflict_id, _, _ in holds})
        held = {
            c.id: c
            for c in session.scalars(select(ConflictRecord).where(ConflictRecord.id.in_(ids)))
        }
        for conflict_id, grid_id, op in holds:
            conflict = held[conflict_id]
            conflict.held_ops = [*conflict.held_ops, op.model_dump(mode="json")]
            if grid_id is not None:
                conflict.grid_id = grid_id
        session.flush()


def _row(entity: str, record_id: str, rec: Rec, user_id: str, now: datetime) -> dict[str, Any]:
    row = column_values(entity, rec.values)
    row.update(
        id=record_id,
        version=rec.version,
        clocks=dict(rec.clocks),
        deleted=rec.deleted,
        updated_at=now,
        updated_by_user_id=user_id,
        updated_by_device_id=rec.device_id,
    )
    return row


def _by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    return list(groups.values())


def _points_table() -> Table:
    return cast(Table, PointsEntry.__table__)


def _table(entity: str) -> Table:
    return cast(Table, MODELS[entity].__table__)  # type: ignore[attr-defined]
