"""Listing and settling conflicts. A settlement is an ordinary change that devices then pull.

Field conflicts are settled per field (server's, device's or an entered value); a delete conflict
keeps or deletes the record; a duplicate either merges the new person into the existing resident
(their held bindings are replayed onto the existing resident), is discarded, or is kept as a
different person with a corrected ID number. Held records the devices still hold are sent back
as tombstones so no device keeps a person the server does not have.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.clock import china_date
from shared.hlc import HLC
from shared.moves import moved_since
from shared.protocol import ConflictField, ConflictList, ConflictView, Operation, Resolution
from shared.records import check_values
from shared.schema import Role
from sync_server.errors import Conflict, Forbidden, Invalid, NotFound
from sync_server.models import Binding, ConflictRecord, Resident, SyncedMixin, User
from sync_server.records import MODELS, assign
from sync_server.services import audit
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.record_grids import grids_of


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("only an administrator can see and settle conflicts", code="admin_only")


def view(conflict: ConflictRecord) -> ConflictView:
    return ConflictView(
        id=conflict.id,
        kind=conflict.kind,
        entity=conflict.entity,
        record_id=conflict.record_id,
        other_record_id=conflict.other_record_id,
        grid_id=conflict.grid_id,
        status=conflict.status,
        fields=[ConflictField(**f) for f in conflict.fields],
        user_id=conflict.user_id,
        device_id=conflict.device_id,
        created_at=conflict.created_at,
        resolved_at=conflict.resolved_at,
        resolved_by=conflict.resolved_by,
        resolution=conflict.resolution,
    )


def list_conflicts(
    *,
    session: Session,
    user: User,
    status: str | None = "open",
    entity: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ConflictList:
    require_admin(user)
    query = select(ConflictRecord)
    if status:
        query = query.where(ConflictRecord.status == status)
    if entity:
        query = query.where(ConflictRecord.entity == entity)
    if kind:
        query = query.where(ConflictRecord.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(ConflictRecord.created_at, ConflictRecord.id).limit(limit).offset(offset)
    ).all()
    return ConflictList(items=[view(c) for c in rows], total=total)


def get_conflict(*, session: Session, user: User, conflict_id: str) -> ConflictRecord:
    require_admin(user)
    # No id holds a NUL character (PostgreSQL's text cannot): such an id names no conflict.
    conflict = None if "\x00" in conflict_id else session.get(ConflictRecord, conflict_id)
    if conflict is None:
        raise NotFound(f"conflict {conflict_id} does not exist")
    return conflict


def resolve(
    *,
    session: Session,
    user: User,
    conflict_id: str,
    resolution: Resolution,
    clock: HLC,
    now: datetime,
    device_id: str | None = None,
    ip: str = "",
) -> ConflictRecord:
    conflict = get_conflict(session=session, user=user, conflict_id=conflict_id)
    if conflict.status != "open":
        raise Conflict("this conflict has already been settled", code="already_resolved")
    changes = ChangeSet()
    if conflict.kind == "duplicate":
        _settle_duplicate(session, user, conflict, resolution, changes, clock, now)
    elif conflict.kind == "delete":
        _settle_delete(session, user, conflict, resolution, changes, clock, now)
    else:
        _settle_fields(session, user, conflict, resolution, changes, clock, now)
    conflict.status = "resolved"
    conflict.resolved_at = now
    conflict.resolved_by = user.id
    conflict.resolution = resolution.model_dump(mode="json")
    commit_changes(session=session, changes=changes)
    audit.record(
        session,
        audit.Action.CONFLICT_SETTLED,
        user=user,
        device_id=device_id,
        ip=ip,
        entity=conflict.entity,
        record_id=conflict.record_id,
        conflict_id=conflict.id,
        kind=conflict.kind,
        choice=resolution.choice,
    )
    return conflict


def _write(
    session: Session,
    user: User,
    entity: str,
    row: Any,
    values: dict[str, Any],
    changes: ChangeSet,
    clock: HLC,
    now: datetime,
    *,
    deleted: bool | None = None,
) -> None:
    # The grids a person just moved out of still hold them (`shared.moves`).
    since = moved_since(china_date(now))
    before = (
        grids_of(session=session, entity=entity, row=row, since=since) if row.version else set()
    )
    stamp = clock.now()
    assign(entity, row, values)
    row.clocks = {**(row.clocks or {}), **{k: stamp for k in values}}
    if deleted is not None:
        row.deleted = deleted
    row.version = (row.version or 0) + 1
    row.updated_at = now
    row.updated_by_user_id = user.id
    row.updated_by_device_id = None
    session.flush()
    after = grids_of(session=session, entity=entity, row=row, since=since)
    changes.add(entity, row.id, before | after)
    if isinstance(row, Binding):
        # The person follows their binding: devices of the house's grid receive them too.
        resident = session.get_one(Resident, row.resident_id)
        changes.add(
            "resident",
            resident.id,
            after | grids_of(session=session, entity="resident", row=resident, since=since),
        )


def _conflict_row(session: Session, conflict: ConflictRecord) -> SyncedMixin:
    row = session.get(MODELS[conflict.entity], conflict.record_id)
    if row is None:
        raise NotFound(f"the {conflict.entity} of this conflict no longer exists")
    return row


def _checked(
    entity: str, values: dict[str, Any], *, creating: bool, now: datetime
) -> dict[str, Any]:
    """What an admin settles with obeys the phone's rules; every bad field is named."""
    checked, errors = check_values(entity, values, creating=creating, today=china_date(now))
    if errors:
        raise Invalid(
            "; ".join(str(e) for e in errors),
            code="invalid_value",
            errors=[{"field": e.field, "reason": e.message, "code": e.code} for e in errors],
        )
    return checked


def _settle_fields(
    session: Session,
    user: User,
    conflict: ConflictRecord,
    resolution: Resolution,
    changes: ChangeSet,
    clock: HLC,
    now: datetime,
) -> None:
    row = _conflict_row(session, conflict)
    names = [f["field"] for f in conflict.fields]
    if resolution.choice == "server":
        return  # the server already holds its values; nothing to send
    if resolution.choice == "device":
        wanted = {f["field"]: f["device"] for f in conflict.fields}
    elif resolution.choice == "values":
        missing = sorted(set(names) - set(resolution.values))
        if missing:
            raise Invalid(f"enter a value for {', '.join(missing)}", code="values_missing")
        wanted = {k: resolution.values[k] for k in names}
    else:
        raise Invalid(
            f"a field conflict is settled with server, device or values, not {resolution.choice}"
        )
    values = _checked(conflict.entity, wanted, creating=False, now=now)
    _write(session, user, conflict.entity, row, values, changes, clock, now)


def _settle_delete(
    session: Session,
    user: User,
    conflict: ConflictRecord,
    resolution: Resolution,
    changes: ChangeSet,
    clock: HLC,
    now: datetime,
) -> None:
    row = _conflict_row(session, conflict)
    if resolution.choice == "server":
        return
    if resolution.choice != "device":
        raise Invalid("a delete conflict is settled with server (keep) or device (delete)")
    _write(session, user, conflict.entity, row, {}, changes, clock, now, deleted=True)


def _settle_duplicate(
    session: Session,
    user: User,
    conflict: ConflictRecord,
    resolution: Resolution,
    changes: ChangeSet,
    clock: HLC,
    now: datetime,
) -> None:
    held = [Operation.model_validate(op) for op in conflict.held_ops]
    existing = session.get(Resident, conflict.other_record_id) if conflict.other_record_id else None
    if resolution.choice == "merge":
        if existing is None:
            raise NotFound("the existing resident of this duplicate no longer exists")
        target_id = existing.id
    elif resolution.choice == "device":
        id_number = resolution.values.get("id_number")
        if not id_number:
            raise Invalid(
                "keeping both needs the corrected id_number in values", code="values_missing"
            )
        target_id = conflict.record_id
    elif resolution.choice == "discard":
        target_id = None
    else:
        raise Invalid("a duplicate is settled with merge, discard or device")

    for op in held:
        new = {k: v.new for k, v in op.fields.items()}
        if op.entity == "resident" and op.record_id == conflict.record_id:
            if resolution.choice == "device":
                new["id_number"] = resolution.values["id_number"]
                values = _checked("resident", new, creating=op.kind == "create", now=now)
                row = session.get(Resident, op.record_id) or Resident(id=op.record_id, version=0)
                session.add(row)
                _write(session, user, "resident", row, values, changes, clock, now)
            else:
                _tombstone(
                    session, user, "resident", op.record_id, new, conflict, changes, clock, now
                )
            continue
        if target_id is None:
            if op.kind == "create":
                _tombstone(
                    session, user, op.entity, op.record_id, new, conflict, changes, clock, now
                )
            continue
        if op.entity in ("binding", "outcome") and new.get("resident_id") == conflict.record_id:
            new["resident_id"] = target_id
        values = _checked(op.entity, new, creating=op.kind == "create", now=now)
        model = MODELS[op.entity]
        target = session.get(model, op.record_id)
        if target is None:
            target = model()
            target.id = op.record_id
            target.version = 0
            session.add(target)
        _write(session, user, op.entity, target, values, changes, clock, now)


def _tombstone(
    session: Session,
    user: User,
    entity: str,
    record_id: str,
    values: dict[str, Any],
    conflict: ConflictRecord,
    changes: ChangeSet,
    clock: HLC,
    now: datetime,
) -> None:
    """Keep the device's record as a deleted row so devices holding it drop it on their next pull."""
    model = MODELS[entity]
    if session.get(model, record_id) is not None:
        return
    checked, _ = check_values(entity, values, creating=False, today=china_date(now))
    row = model()
    row.id = record_id
    assign(entity, row, checked)
    row.version = 1
    row.deleted = True
    row.clocks = {}
    row.updated_at = now
    row.updated_by_user_id = user.id
    session.add(row)
    session.flush()
    changes.add(entity, record_id, {conflict.grid_id} if conflict.grid_id else set())
