"""Applying a pushed batch of device operations: idempotent, per-operation, never all-or-nothing.

Each operation runs in its own savepoint and gets its own result: applied, merged, conflict or
rejected. A rejected operation (bad value, out of scope, missing record) rolls back alone and is
stored with its reason, so one bad operation never blocks the ones behind it. Every result is
stored under the operation's UUID, so a retried batch returns the same results and applies
nothing twice. The merge itself is `shared.merge.merge`, the same function the device uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, lazyload

from shared import hlc as hlc_mod
from shared.clock import china_date
from shared.merge import MergeRejected, Snapshot, merge
from shared.protocol import (
    MAX_OPERATIONS_PER_PUSH,
    FieldChange,
    Operation,
    OpResult,
    PushRequest,
    PushResponse,
)
from shared.records import check_values
from shared.schema import ENTITIES, LEAF_LEVEL, Role
from shared.text import first_bad_text, scrub
from sync_server.errors import Forbidden, TooLarge
from sync_server.models import (
    Binding,
    Building,
    Campaign,
    ConflictRecord,
    GridNode,
    House,
    OperationLog,
    Resident,
    SyncedMixin,
    Unit,
)
from sync_server.records import MODELS, assign, snapshot_of, values_of
from sync_server.services.auth import Caller
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.push_bulk import BulkCreates, Planning, as_sent
from sync_server.services.push_edits import BulkEdits
from sync_server.services.record_grids import grids_of, resident_grids
from sync_server.services.scope import GridSet, grid_set

# A worker may still correct a person they moved out recently (the move and a last fix often
# come in one sweep), but not everyone who ever lived in their grid.
RECENTLY_MOVED = timedelta(days=30)

log = logging.getLogger(__name__)


class OpRejected(Exception):
    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.field = code, reason, field


@dataclass
class _Batch:
    session: Session
    caller: Caller
    grids: GridSet
    clock: hlc_mod.HLC
    now: datetime  # the server's clock, read once per push
    changes: ChangeSet = field(default_factory=ChangeSet)
    logged: dict[str, dict[str, Any]] = field(default_factory=dict)  # op_id -> stored result
    # Loaded once per batch instead of once per operation (see bench/sync_bench.py): the rows
    # the batch touches, the ids held by open duplicate conflicts, and residents' grids.
    rows: dict[tuple[str, str], SyncedMixin] = field(default_factory=dict)
    held_ids: set[str] = field(default_factory=set)
    resident_grid_cache: dict[str, set[str]] = field(default_factory=dict)
    # Records the preload looked for and the server does not have (what the batch creates): a
    # second SELECT per create would find nothing either (ids are UUIDs the device generated);
    # once created in this batch they are in `rows`.
    absent: set[tuple[str, str]] = field(default_factory=set)
    houses: list[House] = field(default_factory=list)  # preloaded, see `preload`
    # The batch's binding creates by the resident they bind: (position in the batch, house_id
    # change). A new resident is checked against the bindings after it; indexed once instead of
    # scanning the rest of the batch for each new resident (quadratic in the batch size).
    binding_creates: dict[str, list[tuple[int, FieldChange | None]]] = field(default_factory=dict)
    created: set[tuple[str, str]] = field(default_factory=set)  # records this batch created
    # Operations whose clock was too far ahead of the server's: applied under the server's clock
    # instead, so never the device's echo (it must learn the clocks the server stored).
    restamped: set[str] = field(default_factory=set)

    def row(self, entity: str, record_id: str) -> SyncedMixin | None:
        found = self.rows.get((entity, record_id))
        if found is None and (entity, record_id) not in self.absent:
            found = self.session.get(
                MODELS[entity], record_id, with_for_update=True, options=[lazyload("*")]
            )
            if found is not None:
                self.rows[(entity, record_id)] = found
        return found

    def grids_for(self, entity: str, row: SyncedMixin) -> set[str]:
        if entity != "resident":
            return grids_of(session=self.session, entity=entity, row=row)
        cached = self.resident_grid_cache.get(row.id)
        if cached is None:
            cached = resident_grids(session=self.session, resident_ids=[row.id]).get(row.id, set())
            self.resident_grid_cache[row.id] = cached
        return set(cached)

    def preload(self, operations: list[Operation]) -> None:
        ids: dict[str, set[str]] = {}
        residents: set[str] = set()
        for op in operations:
            ids.setdefault(op.entity, set()).add(op.record_id)
            if op.entity == "resident":
                residents.add(op.record_id)
            elif op.entity in ("binding", "outcome") and "resident_id" in op.fields:
                residents.add(str(op.fields["resident_id"].new))
        for entity, wanted in ids.items():
            model = MODELS[entity]
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start : start + 500]
                for found in self.session.scalars(
                    # Related rows are not loaded (PostgreSQL locks no outer join's rows).
                    select(model)
                    .options(lazyload("*"))
                    .where(model.id.in_(chunk))
                    .with_for_update()
                ):
                    self.rows[(entity, found.id)] = found
            self.absent.update((entity, i) for i in wanted if (entity, i) not in self.rows)
        every = sorted({i for wanted in ids.values() for i in wanted} | residents)
        for start in range(0, len(every), 500):
            self.held_ids.update(
                self.session.scalars(
                    select(ConflictRecord.record_id).where(
                        ConflictRecord.kind == "duplicate",
                        ConflictRecord.status == "open",
                        ConflictRecord.record_id.in_(every[start : start + 500]),
                    )
                )
            )
        found_grids = resident_grids(session=self.session, resident_ids=sorted(residents))
        for rid in residents:
            self.resident_grid_cache[rid] = found_grids.get(rid, set())
        # The houses new bindings name: each is read by `session.get` (the new resident's grids,
        # the reference check), which finds them in the identity map instead of one SELECT each.
        houses = sorted(
            {
                house.new
                for op in operations
                if op.entity == "binding" and (house := op.fields.get("house_id")) is not None
                if isinstance(house.new, str)
            }
        )
        for start in range(0, len(houses), 500):
            # Held here: the session's identity map keeps only weak references to clean rows.
            self.houses += self.session.scalars(
                select(House).where(House.id.in_(houses[start : start + 500]))
            ).all()

    def index_bindings(self, operations: list[Operation]) -> None:
        """Index the binding creates of the whole batch (answered before or not), by position."""
        for position, op in enumerate(operations):
            if op.entity == "binding" and op.kind == "create" and "resident_id" in op.fields:
                resident_id = op.fields["resident_id"].new
                if isinstance(resident_id, str):  # nothing else can equal a record id
                    self.binding_creates.setdefault(resident_id, []).append(
                        (position, op.fields.get("house_id"))
                    )

    def forget(self, op: Operation) -> None:
        """After a rolled-back operation: drop what it may have left half-made in the caches."""
        found = self.rows.get((op.entity, op.record_id))
        if found is not None and inspect(found).transient:
            del self.rows[(op.entity, op.record_id)]
        if op.entity == "binding" and "resident_id" in op.fields:
            self.resident_grid_cache.pop(str(op.fields["resident_id"].new), None)

    @property
    def unlimited(self) -> bool:
        return self.caller.user.role == Role.ADMIN


def push(
    *,
    session: Session,
    caller: Caller,
    request: PushRequest,
    clock: hlc_mod.HLC,
    now: datetime,
) -> PushResponse:
    device = caller.device
    if device is None or device.id != request.device_id:
        raise Forbidden(
            "push with the device id this sign-in was issued for", code="device_mismatch"
        )
    if len(request.operations) > MAX_OPERATIONS_PER_PUSH:
        raise TooLarge(f"at most {MAX_OPERATIONS_PER_PUSH} operations per push; send fewer")
    batch = _Batch(session, caller, grid_set(session=session, user=caller.user), clock, now)
    op_ids = [op.op_id for op in request.operations]
    for start in range(0, len(op_ids), 500):
        for op_id, stored in session.execute(
            select(OperationLog.op_id, OperationLog.result).where(
                OperationLog.op_id.in_(op_ids[start : start + 500])
            )
        ):
            batch.logged[op_id] = stored
    # What the preload reads by is only what could be stored: an id holding a lone surrogate
    # cannot even be looked up, and its operation is rejected before it touches the database.
    fresh = [
        op for op in request.operations if op.op_id not in batch.logged and _bad_text(op) is None
    ]
    batch.preload(fresh)
    batch.index_bindings(request.operations)
    planners = _planners(batch, fresh)
    results: list[OpResult | None] = [None] * len(request.operations)
    answered: list[tuple[int, Operation]] = []  # fresh operations, as their results came

    def flush_planned() -> None:
        for planner in planners:
            flushed = planner.flush(batch.changes)
            for position, result in flushed.results:
                results[position] = result
                batch.logged[result.op_id] = result.model_dump(mode="json")
                answered.append((position, request.operations[position]))
            for position, op in flushed.replay:
                run(position, op)

    def run(position: int, op: Operation) -> None:
        result = _run_one(batch, op, position)
        results[position] = result
        batch.logged[op.op_id] = result.model_dump(mode="json")
        answered.append((position, op))

    for index, sent in enumerate(request.operations):
        if any(sent.op_id in planner.op_ids for planner in planners):
            flush_planned()  # the same operation twice in one batch: answer it as a retry
        seen = batch.logged.get(sent.op_id)
        if seen is not None:
            results[index] = OpResult.model_validate(seen)
            continue
        op = _stamped(batch, sent)
        if _bad_text(op) is None and any(planner.take(op, index) for planner in planners):
            continue
        flush_planned()  # what they planned comes first, as in the batch
        for planner in planners:
            planner.forget(op)
        run(index, op)
    flush_planned()
    log_rows = [
        {
            "op_id": op.op_id,
            "device_id": op.device_id,
            "user_id": scrub(op.user_id),
            "entity": op.entity,
            "record_id": op.record_id,
            "kind": op.kind,
            "base_version": op.base_version,
            # Scrubbed: a lone surrogate or a NUL is that operation's rejection, not the log's.
            "fields": scrub({k: v.model_dump() for k, v in op.fields.items()}),
            "hlc": scrub(op.hlc),
            "status": batch.logged[op.op_id]["status"],
            "result": batch.logged[op.op_id],
            # Microseconds apart, so the history keeps the order of the batch.
            "received_at": now + timedelta(microseconds=n),
        }
        for n, (_, op) in enumerate(sorted(answered, key=lambda answer: answer[0]))
    ]
    if log_rows:
        session.execute(insert(OperationLog), log_rows)
    commit_changes(session=session, changes=batch.changes)
    device.last_push_at = device.last_seen_at = now
    return PushResponse(results=[r for r in results if r is not None], server_hlc=clock.now())


def _planners(batch: _Batch, fresh: list[Operation]) -> list[BulkCreates | BulkEdits]:
    """The set-based paths for plain creates and plain resident edits; an admin's pushes (rare,
    and unbounded by scope) all take the per-operation path."""
    if batch.unlimited or batch.caller.device is None:
        return []
    planning = Planning(
        session=batch.session,
        user_id=batch.caller.user.id,
        device_id=batch.caller.device.id,
        grids=batch.grids,
        clock=batch.clock,
        now=batch.now,
        resident_grid_cache=batch.resident_grid_cache,
        held=lambda ids: bool(batch.held_ids.intersection(ids)),
        restamped=batch.restamped,
        created=batch.created,
    )
    creates = BulkCreates(planning, binding_creates=batch.binding_creates, absent=batch.absent)
    creates.preload(fresh)
    return [creates, BulkEdits(planning, rows=batch.rows)]


def _run_one(batch: _Batch, op: Operation, position: int) -> OpResult:
    caller = batch.caller
    base = {"op_id": op.op_id, "entity": op.entity, "record_id": op.record_id}
    try:
        bad = _bad_text(op)
        if bad is not None:
            raise OpRejected(
                "invalid_characters",
                "text must be valid Unicode without lone surrogates or NUL characters",
                bad,
            )
        if op.device_id != caller.device.id or op.user_id != caller.user.id:  # type: ignore[union-attr]
            raise OpRejected("wrong_author", "operation was made by another user or device")
        try:
            batch.clock.observe(op.hlc)
        except hlc_mod.ClockDriftError:
            pass  # `_stamped` already put it under the server's clock
        except hlc_mod.InvalidTimestamp as exc:
            raise OpRejected("bad_clock", "hlc is not a valid HLC timestamp", "hlc") from exc
        local = ChangeSet()
        with batch.session.begin_nested():
            outcome = _apply(batch, op, position, local)
        clean = (
            outcome["status"] == "applied"
            and as_sent(op, outcome.pop("stored", None))
            and op.op_id not in batch.restamped
        )
        outcome.pop("stored", None)
        local.settle(op.entity, op.record_id, op.device_id if clean else None)
        batch.changes.merge(local)
        return OpResult(**base, **outcome)
    except OpRejected as exc:
        batch.forget(op)
        return OpResult(
            **base, status="rejected", code=exc.code, field=exc.field, reason=exc.reason
        )
    except MergeRejected as exc:
        batch.forget(op)
        return OpResult(
            **base, status="rejected", code=exc.code, field=exc.field, reason=exc.errors[0].message
        )
    except DataError:
        # The database's own message names its tables and columns: it stays in the server's log.
        log.warning("push: operation %s refused by the database", op.op_id, exc_info=True)
        batch.forget(op)
        return OpResult(
            **base,
            status="rejected",
            code="invalid_value",
            reason="a value is too long or of the wrong kind to be stored",
        )
    except IntegrityError as exc:
        log.warning("push: operation %s broke a database rule", op.op_id, exc_info=True)
        batch.forget(op)
        if "foreign key" in str(exc.orig).lower():
            return OpResult(
                **base,
                status="rejected",
                code="unknown_reference",
                reason="a record this change refers to does not exist",
            )
        return OpResult(
            **base,
            status="rejected",
            code="constraint",
            reason="the change conflicts with data the server holds (a value already in use)",
        )
    except Exception:
        # Whatever else goes wrong with one operation is that operation's answer, not the batch's.
        log.exception("push: operation %s could not be applied", op.op_id)
        batch.forget(op)
        return OpResult(
            **base,
            status="rejected",
            code="cannot_apply",
            reason="the server could not apply this change; it has been logged for an admin",
        )


def _bad_text(op: Operation) -> str | None:
    """The field (or `hlc`, `user_id`) of `op` holding a lone surrogate or a NUL, if any."""
    return first_bad_text(
        [
            ("hlc", op.hlc),
            ("user_id", op.user_id),
            *((name, (change.base, change.new)) for name, change in op.fields.items()),
        ]
    )


def _stamped(batch: _Batch, op: Operation) -> Operation:
    """`op` itself, or, when its clock is further ahead of the server's than the drift bound
    (`shared.hlc`), the same change under the server's clock: a phone whose clock says 2100
    keeps its edit but does not win every later last-writer-wins edit by it."""
    try:
        batch.clock.observe(op.hlc)
    except hlc_mod.ClockDriftError:
        batch.restamped.add(op.op_id)
        return op.model_copy(update={"hlc": batch.clock.now()})
    except hlc_mod.InvalidTimestamp:
        pass  # the per-operation path rejects it as `bad_clock`
    return op


def _apply(batch: _Batch, op: Operation, position: int, changes: ChangeSet) -> dict[str, Any]:
    session = batch.session
    spec = ENTITIES[op.entity]
    model = MODELS[op.entity]
    _require_device_may(batch, op)
    row = batch.row(op.entity, op.record_id)
    held = _held_duplicate(batch, op)
    if held is not None:
        return _hold(batch, held, op)
    if spec.append_only:
        _check_fact(batch, op, row)
    dependants: list[Binding] = []
    if op.kind == "delete" and row is not None and not row.deleted:
        dependants = _dependants(batch, op.entity, row)
    new_values = {name: change.new for name, change in op.fields.items()}
    if op.kind != "delete":
        normalised, errors = check_values(
            op.entity,
            new_values,
            creating=op.kind == "create" and row is None,
            today=china_date(batch.now),
        )
        if errors:
            first = errors[0]
            raise OpRejected(first.code, "; ".join(str(e) for e in errors), first.field)
        new_values = normalised

    grids_before: set[str] = set()
    resident_before: dict[str, set[str]] = {}
    if row is not None:
        grids_before = batch.grids_for(op.entity, row)
        _require_in_scope(batch, op.entity, row, grids_before)
        if op.entity == "binding":
            rid = row.resident_id  # type: ignore[attr-defined]
            resident_before = resident_grids(session=session, resident_ids=[rid])

    if op.kind == "create":
        if row is None and op.entity == "resident":
            duplicate = session.scalar(
                select(Resident).where(
                    Resident.id_number == new_values["id_number"], Resident.deleted.is_(False)
                )
            )
            if duplicate is not None:
                return _duplicate(batch, op, duplicate, new_values, position)
        base_snap = None
        theirs = Snapshot(new_values, {k: op.hlc for k in new_values})
    elif op.kind == "update":
        if row is None:
            raise OpRejected("no_such_record", f"the {op.entity} does not exist on the server")
        base_snap = Snapshot({k: v.base for k, v in op.fields.items()})
        theirs = Snapshot(new_values, {k: op.hlc for k in new_values})
    else:
        if row is None:
            raise OpRejected("no_such_record", f"the {op.entity} does not exist on the server")
        if op.base_version is not None and row.version > op.base_version and not row.deleted:
            return _delete_against_edit(batch, op, row)
        base_snap = Snapshot({k: v.base for k, v in op.fields.items()})
        theirs = Snapshot({}, deleted=True)

    result = merge(op.entity, base_snap, snapshot_of(op.entity, row), theirs, theirs_clock=op.hlc)
    # Someone else moved the record on since the device's base: what applies was merged with it.
    # (The device's own earlier operations in the outbox also move the version; they don't count.)
    moved_on = (
        row is not None
        and op.base_version is not None
        and row.version > op.base_version
        and row.updated_by_device_id != op.device_id
    )
    if not result.deleted and result.kind not in ("conflict", "delete_conflict"):
        _check_references(batch, op.entity, result.values)
    if row is None:
        row = model()
        row.id = op.record_id
        session.add(row)
        batch.rows[(op.entity, op.record_id)] = row
        batch.created.add((op.entity, op.record_id))
    if result.kind != "unchanged":
        assign(op.entity, row, {k: result.values[k] for k in result.changed if k in spec.fields})
        if row.version is None:
            row.version = 1
        elif result.changed or result.deleted != row.deleted:
            row.version += 1
        row.clocks = dict(result.clocks)
        row.deleted = result.deleted
        row.updated_at = batch.now
        row.updated_by_user_id = batch.caller.user.id
        row.updated_by_device_id = op.device_id
        session.flush()
    if result.deleted and dependants:
        _take_dependants(batch, op, dependants, changes)
    if op.entity == "resident" and op.kind == "create" and not batch.unlimited:
        _require_new_resident_bound(batch, op, position)
        grids_after: set[str] = _grids_of_binding_ops(batch, op, position)
    else:
        grids_after = batch.grids_for(op.entity, row)
        if op.kind != "delete":
            _require_in_scope(batch, op.entity, row, grids_after)
    # Pending: `_run_one` settles whether the record's change is only this operation's echo.
    changes.add(op.entity, row.id, grids_before | grids_after, pending=True)
    if op.entity == "binding":
        rid = row.resident_id  # type: ignore[attr-defined]
        after = resident_grids(session=session, resident_ids=[rid]).get(rid, set())
        batch.resident_grid_cache[rid] = set(after)
        # The person's own record did not change: this only routes it to the grids it is in now.
        changes.add("resident", rid, resident_before.get(rid, set()) | after, pending=True)
        # A person found at the door arrives with their first binding.
        changes.add("binding", row.id, after, pending=True)

    outcome: dict[str, Any] = {"version": row.version}
    if result.conflicts:
        conflict = ConflictRecord(
            kind="field",
            entity=op.entity,
            record_id=row.id,
            grid_id=min(grids_before | grids_after) if grids_before | grids_after else None,
            op_id=op.op_id,
            user_id=op.user_id,
            device_id=op.device_id,
            hlc=op.hlc,
            fields=[
                {"field": c.field, "base": c.base, "server": c.mine, "device": c.theirs}
                for c in result.conflicts
            ],
        )
        session.add(conflict)
        session.flush()
        return {**outcome, "status": "conflict", "conflict_id": conflict.id}
    if result.superseded:
        names = ", ".join(sorted(result.superseded))
        return {**outcome, "status": "merged", "reason": f"a later edit elsewhere won for {names}"}
    merged = result.kind == "merged" or (moved_on and result.kind != "unchanged")
    if merged:
        return {**outcome, "status": "merged"}
    stored = None if row.deleted else values_of(op.entity, row)
    return {**outcome, "status": "applied", "stored": stored}


def _require_in_scope(batch: _Batch, entity: str, row: SyncedMixin, grids: set[str]) -> None:
    if batch.unlimited:
        return
    if entity == "resident" and not grids:
        grids = _recent_resident_grids(batch, row.id)
    if entity == "outcome" and not grids:  # the worker learnt at the door they had moved out
        grids = _recent_resident_grids(batch, row.resident_id)  # type: ignore[attr-defined]
    if entity == "grid_node":
        allowed = row.id in batch.grids.nodes
    else:
        allowed = bool(grids) and grids <= batch.grids.leaves
    if not allowed:
        raise OpRejected("out_of_scope", f"this {entity} is outside your assigned grids")


def _check_fact(batch: _Batch, op: Operation, row: SyncedMixin | None) -> None:
    """Append-only records (campaign outcomes) are created once and never changed, so workers
    recording on one person never conflict; an admin may delete one recorded in error. A new
    outcome names a campaign the caller holds and a resident the server has."""
    if op.kind == "delete" and batch.unlimited:
        return
    if op.kind != "create" or row is not None:
        raise OpRejected(
            "append_only", f"a {op.entity} is never changed once recorded; record a new one instead"
        )
    if op.entity != "outcome":
        return
    new = {name: change.new for name, change in op.fields.items()}
    if new.get("campaign_id"):
        campaign = batch.session.get(Campaign, str(new["campaign_id"]))
        held = batch.unlimited or (campaign is not None and campaign.grid_id in batch.grids.nodes)
        if campaign is None or campaign.deleted or not held:
            raise OpRejected(
                "unknown_reference", f"campaign {new['campaign_id']} does not exist", "campaign_id"
            )
    if new.get("resident_id"):
        resident = batch.session.get(Resident, str(new["resident_id"]))
        if resident is None or resident.deleted:
            raise OpRejected(
                "unknown_reference", f"resident {new['resident_id']} does not exist", "resident_id"
            )


def _recent_resident_grids(batch: _Batch, resident_id: str) -> set[str]:
    since = china_date(batch.now - RECENTLY_MOVED)
    rows = batch.session.scalars(
        select(House.grid_id)
        .join(Binding, Binding.house_id == House.id)
        .where(
            Binding.resident_id == resident_id,
            Binding.deleted.is_(False),
            Binding.end_date >= since,
        )
    ).all()
    return set(rows)


def _grids_of_binding_ops(batch: _Batch, op: Operation, position: int) -> set[str]:
    """The grids of the houses that binding creates after `position` in the batch bind the
    resident `op` creates to."""
    grids: set[str] = set()
    for at, house_id in batch.binding_creates.get(op.record_id, ()):
        if at > position:
            house = batch.session.get(House, house_id.new) if house_id else None
            if house is not None and not house.deleted:
                grids.add(house.grid_id)
    return grids


def _require_new_resident_bound(batch: _Batch, op: Operation, position: int) -> None:
    grids = _grids_of_binding_ops(batch, op, position)
    if not grids or not grids <= batch.grids.leaves:
        raise OpRejected(
            "unbound_resident",
            "a new resident must be bound to a house in your grids in the same sync",
        )


def _check_references(batch: _Batch, entity: str, values: dict[str, Any]) -> None:
    """Every record the change refers to exists, is live, and (for a worker or supervisor) is
    in the caller's scope; places sit in a level-5 grid. Checked before anything is written, so
    a bad reference is this operation's `unknown_reference` or `out_of_scope` naming the field,
    never a database error."""
    session = batch.session

    def need(model: type[SyncedMixin], name: str) -> Any:
        ref = values.get(name)
        target = session.get(model, ref) if isinstance(ref, str) and ref else None
        if target is None or target.deleted:
            raise OpRejected("unknown_reference", f"{name} names no record the server has", name)
        return target

    def in_scope(grid_id: str, name: str) -> None:
        if not batch.unlimited and grid_id not in batch.grids.leaves:
            raise OpRejected("out_of_scope", f"{name} is outside your assigned grids", name)

    if entity in ("building", "house"):
        grid = need(GridNode, "grid_id")
        if grid.level != LEAF_LEVEL:
            raise OpRejected("grid_level", "places belong to a level-5 grid", "grid_id")
    if entity == "unit":
        in_scope(need(Building, "building_id").grid_id, "building_id")
    if entity == "house":
        building = need(Building, "building_id")
        in_scope(building.grid_id, "building_id")
        if values.get("unit_id") is not None:
            unit = need(Unit, "unit_id")
            if unit.building_id != building.id:
                raise OpRejected("unknown_reference", "the unit is in another building", "unit_id")
    if entity in ("binding", "visit"):
        need(House, "house_id")
        if entity == "binding" or values.get("resident_id") is not None:
            resident = need(Resident, "resident_id")
            if not _reachable(batch, resident.id):
                raise OpRejected(
                    "out_of_scope", "resident_id names a person outside your grids", "resident_id"
                )


def _reachable(batch: _Batch, resident_id: str) -> bool:
    """Whether the caller may name this person: bound in their grids (or moved out of them
    recently), or created in this very batch. Someone of another grid who now lives here is
    found through the duplicate check of their ID number, which an admin settles."""
    if batch.unlimited or ("resident", resident_id) in batch.created:
        return True
    grids = batch.resident_grid_cache.get(resident_id)
    if grids is None:
        grids = resident_grids(session=batch.session, resident_ids=[resident_id]).get(
            resident_id, set()
        )
        batch.resident_grid_cache[resident_id] = set(grids)
    return bool(grids & batch.grids.leaves) or bool(
        _recent_resident_grids(batch, resident_id) & batch.grids.leaves
    )


def _require_device_may(batch: _Batch, op: Operation) -> None:
    """The entity's `device_*` flags (`shared.schema`): grid nodes, campaigns and completions
    are the server's; a campaign outcome is created once and never changed (an admin may delete
    one recorded in error)."""
    spec = ENTITIES[op.entity]
    if spec.device_may(op.kind):
        return
    if spec.append_only and spec.device_creatable:
        if op.kind == "delete" and batch.unlimited:
            return
        raise OpRejected(
            "append_only", f"a {op.entity} is never changed once recorded; record a new one instead"
        )
    verb = {"create": "created", "update": "changed", "delete": "deleted"}[op.kind]
    code = {"create": "creatable", "update": "updatable", "delete": "deletable"}[op.kind]
    raise OpRejected(f"not_device_{code}", f"{op.entity} records cannot be {verb} from a device")


def _dependants(batch: _Batch, entity: str, row: SyncedMixin) -> list[Binding]:
    """What deleting `row` must take with it, or the rejection when it may not go at all: a
    house with someone living in it (`has_residents`), a building or unit with live places in it
    (`has_places`). A person takes all their bindings; a house, its ended ones (history)."""
    session = batch.session
    if entity == "building":
        units = session.scalar(
            select(Unit.id).where(Unit.building_id == row.id, Unit.deleted.is_(False)).limit(1)
        )
        houses = session.scalar(
            select(House.id).where(House.building_id == row.id, House.deleted.is_(False)).limit(1)
        )
        if units is not None or houses is not None:
            raise OpRejected(
                "has_places", "the building still has units or houses; delete those first"
            )
    if entity == "unit":
        houses = session.scalar(
            select(House.id).where(House.unit_id == row.id, House.deleted.is_(False)).limit(1)
        )
        if houses is not None:
            raise OpRejected("has_places", "the unit still has houses; delete those first")
    if entity not in ("house", "resident"):
        return []
    column = Binding.house_id if entity == "house" else Binding.resident_id
    bindings = list(
        session.scalars(
            select(Binding).where(column == row.id, Binding.deleted.is_(False)).with_for_update()
        )
    )
    if entity == "house" and any(b.end_date is None for b in bindings):
        raise OpRejected(
            "has_residents", "people are still bound to this house; move them out first"
        )
    return bindings


def _take_dependants(
    batch: _Batch, op: Operation, bindings: list[Binding], changes: ChangeSet
) -> None:
    """Delete the bindings a deleted person or house leaves behind, in the same operation."""
    houses = {
        h.id: h.grid_id
        for h in batch.session.scalars(
            select(House).where(House.id.in_(sorted({b.house_id for b in bindings})))
        )
    }
    for binding in bindings:
        binding.deleted = True
        binding.version += 1
        binding.updated_at = batch.now
        binding.updated_by_user_id = batch.caller.user.id
        binding.updated_by_device_id = op.device_id
        grid = houses.get(binding.house_id)
        # Not the device's echo: it may still hold the binding, and must drop it.
        changes.add("binding", binding.id, [grid] if grid else [])
        batch.resident_grid_cache.pop(binding.resident_id, None)
    batch.session.flush()


# --- duplicates and held operations ---------------------------------------------------------


def _held_duplicate(batch: _Batch, op: Operation) -> ConflictRecord | None:
    """The open duplicate conflict that holds this record, or that of the resident it binds."""
    ids = [op.record_id]
    if op.entity in ("binding", "outcome") and "resident_id" in op.fields:
        ids.append(str(op.fields["resident_id"].new))
    if not batch.held_ids.intersection(ids):
        return None
    return batch.session.scalar(
        select(ConflictRecord).where(
            ConflictRecord.kind == "duplicate",
            ConflictRecord.status == "open",
            ConflictRecord.record_id.in_(ids),
        )
    )


def _hold(batch: _Batch, conflict: ConflictRecord, op: Operation) -> dict[str, Any]:
    conflict.held_ops = [*conflict.held_ops, op.model_dump(mode="json")]
    if op.entity == "binding" and "house_id" in op.fields:
        house = batch.session.get(House, op.fields["house_id"].new)
        if house is not None:
            conflict.grid_id = house.grid_id
    return {
        "status": "conflict",
        "conflict_id": conflict.id,
        "reason": "held until an admin settles a suspected duplicate",
    }


def _duplicate(
    batch: _Batch, op: Operation, existing: Resident, values: dict[str, Any], position: int
) -> dict[str, Any]:
    """Two people with one ID number: hold the new record for an admin instead of a second person."""
    existing_values = snapshot_of("resident", existing)
    assert existing_values is not None
    grids = _grids_of_binding_ops(batch, op, position)
    conflict = ConflictRecord(
        kind="duplicate",
        entity="resident",
        record_id=op.record_id,
        other_record_id=existing.id,
        grid_id=min(grids) if grids else None,
        op_id=op.op_id,
        user_id=op.user_id,
        device_id=op.device_id,
        hlc=op.hlc,
        fields=[
            {
                "field": name,
                "base": None,
                "server": existing_values.values.get(name),
                "device": value,
            }
            for name, value in sorted(values.items())
        ],
        held_ops=[op.model_dump(mode="json")],
    )
    batch.session.add(conflict)
    batch.session.flush()
    batch.held_ids.add(op.record_id)
    return {
        "status": "conflict",
        "conflict_id": conflict.id,
        "reason": f"a resident with ID number ending {values['id_number'][-4:]} already exists",
    }


def _delete_against_edit(batch: _Batch, op: Operation, row: SyncedMixin) -> dict[str, Any]:
    grids = grids_of(session=batch.session, entity=op.entity, row=row)
    _require_in_scope(batch, op.entity, row, grids)
    conflict = ConflictRecord(
        kind="delete",
        entity=op.entity,
        record_id=row.id,
        grid_id=min(grids) if grids else None,
        op_id=op.op_id,
        user_id=op.user_id,
        device_id=op.device_id,
        hlc=op.hlc,
        fields=[{"field": "_deleted", "base": False, "server": False, "device": True}],
    )
    batch.session.add(conflict)
    batch.session.flush()
    return {
        "status": "conflict",
        "conflict_id": conflict.id,
        "version": row.version,
        "reason": "the record was changed on the server after the device deleted it",
    }
