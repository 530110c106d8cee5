"""The change history: recent changes in a scope, and the full story of one record.

Every pushed operation is kept in the operation log with who made it, on which device, when, and
each field's value before (`base`) and after (`new`); conflicts keep the three values and how an
admin settled them. These two sources together are the history; nothing else needs recording.
A resident's history also holds the operations of duplicates that were merged into them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sync_server.models import ConflictRecord, Device, OperationLog, User
from sync_server.queries.labels import Ref, record_labels
from sync_server.queries.record_scope import ops_in_scope
from sync_server.records import MODELS, values_of
from sync_server.services.scope import Scope


@dataclass(frozen=True)
class FieldDiff:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ChangeEntry:
    """One pushed operation, ready to show."""

    op_id: str
    entity: str
    record_id: str
    kind: str
    status: str
    at: datetime
    user_id: str
    user_name: str
    device_id: str
    device_name: str
    label: str
    diffs: list[FieldDiff]
    conflict_id: str | None = None
    code: str | None = None
    reason: str | None = None


def _names(session: Session, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    return {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(user_ids)))
    }


def entries(session: Session, ops: Sequence[OperationLog]) -> list[ChangeEntry]:
    users = _names(session, {op.user_id for op in ops})
    device_ids = {op.device_id for op in ops}
    devices = dict(
        session.execute(select(Device.id, Device.name).where(Device.id.in_(device_ids))).all()
    )
    labels = record_labels(session=session, refs={(op.entity, op.record_id) for op in ops})
    out = []
    for op in ops:
        result = op.result or {}
        out.append(
            ChangeEntry(
                op_id=op.op_id,
                entity=op.entity,
                record_id=op.record_id,
                kind=op.kind,
                status=op.status,
                at=op.received_at,
                user_id=op.user_id,
                user_name=users.get(op.user_id, op.user_id[:8]),
                device_id=op.device_id,
                device_name=devices.get(op.device_id) or op.device_id[:8],
                label=labels.get((op.entity, op.record_id), ""),
                diffs=[
                    FieldDiff(name, change.get("base"), change.get("new"))
                    for name, change in sorted(op.fields.items())
                ],
                conflict_id=result.get("conflict_id"),
                code=result.get("code"),
                reason=result.get("reason"),
            )
        )
    return out


def recent_changes(
    *,
    session: Session,
    scope: Scope,
    limit: int = 50,
    offset: int = 0,
    entity: str | None = None,
    status: str | None = None,
    user_id: str | None = None,
) -> list[ChangeEntry]:
    """Pushed operations on records inside `scope`, newest first."""
    query = select(OperationLog).where(ops_in_scope(scope))
    if entity:
        query = query.where(OperationLog.entity == entity)
    if status:
        query = query.where(OperationLog.status == status)
    if user_id:
        query = query.where(OperationLog.user_id == user_id)
    ops = session.scalars(
        query.order_by(OperationLog.received_at.desc(), OperationLog.op_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return entries(session, ops)


def ref_labels(session: Session, changes: Sequence[ChangeEntry]) -> dict[str, str]:
    """Labels of the records that changed values point at (a binding's resident and house)."""
    refs: set[Ref] = set()
    for change in changes:
        for diff in change.diffs:
            for value in (diff.before, diff.after):
                if isinstance(value, str) and diff.field in _REF_ENTITY:
                    refs.add((_REF_ENTITY[diff.field], value))
    return {rid: label for (_, rid), label in record_labels(session=session, refs=refs).items()}


_REF_ENTITY = {
    "resident_id": "resident",
    "house_id": "house",
    "building_id": "building",
    "unit_id": "unit",
    "grid_id": "grid_node",
    "parent_id": "grid_node",
}


@dataclass(frozen=True)
class HistoryEvent:
    at: datetime
    kind: Literal["operation", "conflict", "settlement"]
    change: ChangeEntry | None = None
    conflict: ConflictRecord | None = None
    actor: str = ""
    merged_from: str | None = None  # the duplicate record this operation was made on


@dataclass
class RecordHistory:
    entity: str
    record_id: str
    label: str
    exists: bool
    deleted: bool = False
    version: int = 0
    updated_at: datetime | None = None
    updated_by: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    events: list[HistoryEvent] = field(default_factory=list)
    refs: dict[str, str] = field(default_factory=dict)


def record_history(*, session: Session, entity: str, record_id: str) -> RecordHistory:
    """The record as it is now and every event that shaped it, oldest first."""
    model = MODELS.get(entity)
    row = session.get(model, record_id) if model is not None else None
    labels = record_labels(session=session, refs=[(entity, record_id)])
    history = RecordHistory(
        entity=entity,
        record_id=record_id,
        label=labels.get((entity, record_id), ""),
        exists=row is not None,
    )
    if row is not None:
        history.deleted = bool(row.deleted)
        history.version = row.version
        history.updated_at = row.updated_at
        history.values = values_of(entity, row)
    conflicts = session.scalars(
        select(ConflictRecord)
        .where(
            ConflictRecord.entity == entity,
            or_(ConflictRecord.record_id == record_id, ConflictRecord.other_record_id == record_id),
        )
        .order_by(ConflictRecord.created_at)
    ).all()
    # A duplicate that was merged into this record brings its operations along.
    merged = {c.record_id: c.id for c in conflicts if c.record_id != record_id}
    ops = session.scalars(
        select(OperationLog)
        .where(OperationLog.entity == entity, OperationLog.record_id.in_([record_id, *merged]))
        .order_by(OperationLog.received_at, OperationLog.op_id)
    ).all()
    changes = entries(session, ops)
    history.refs = ref_labels(session, changes)
    names = _names(
        session,
        {c.resolved_by for c in conflicts if c.resolved_by}
        | ({row.updated_by_user_id} if row is not None and row.updated_by_user_id else set()),
    )
    if row is not None and row.updated_by_user_id:
        history.updated_by = names.get(row.updated_by_user_id, "")
    events = [
        HistoryEvent(
            at=c.at,
            kind="operation",
            change=c,
            merged_from=c.record_id if c.record_id != record_id else None,
        )
        for c in changes
    ]
    for conflict in conflicts:
        events.append(HistoryEvent(at=conflict.created_at, kind="conflict", conflict=conflict))
        if conflict.resolved_at is not None:
            events.append(
                HistoryEvent(
                    at=conflict.resolved_at,
                    kind="settlement",
                    conflict=conflict,
                    actor=names.get(conflict.resolved_by or "", ""),
                )
            )
    # Stable: an operation and the conflict it raised share a moment; the operation comes first.
    order = {"operation": 0, "conflict": 1, "settlement": 2}
    history.events = sorted(events, key=lambda e: (e.at, order[e.kind]))
    return history


def count_open_conflicts(*, session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(ConflictRecord).where(ConflictRecord.status == "open")
        )
        or 0
    )
