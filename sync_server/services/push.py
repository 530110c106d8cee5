"""Applying a pushed batch of device operations: load, decide, write; idempotent, never
all-or-nothing.

*Load* (`push_load`): one view of everything the batch can touch, read set-based once. *Decide*
(`push_rules.decide`): one pure decision per operation, in batch order, each absorbed into the view
so the next operation sees it; every rule lives there, for workers, supervisors and admins alike.
*Write* (`push_write`): the decisions' records, conflicts and holds, grouped, then the operation
log and the change rows. If the grouped write fails (a concurrent writer took an ID number, a
row vanished), the batch is written one operation at a time instead, each re-decided against a
freshly loaded view in its own savepoint, so a failing one is rejected alone. That is the only
per-operation path.

Every result is stored under the operation's UUID, so a retried batch returns the same results
and applies nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from shared import hlc as hlc_mod
from shared.clock import china_date
from shared.moves import moved_since
from shared.protocol import (
    MAX_OPERATIONS_PER_PUSH,
    FieldChange,
    Operation,
    OpResult,
    PushRequest,
    PushResponse,
)
from shared.schema import Role
from shared.text import scrub
from sync_server.db import RawJSON, insert_rows
from sync_server.errors import Forbidden, TooLarge
from sync_server.models import OperationLog
from sync_server.services.auth import Caller
from sync_server.services.changes import ChangeSet, commit_changes
from sync_server.services.push_load import load_view
from sync_server.services.push_rules import (
    Decision,
    Key,
    View,
    Who,
    absorb,
    bad_text_fields,
    decide,
    reject,
)
from sync_server.services.push_write import write
from sync_server.services.scope import grid_set

log = logging.getLogger(__name__)
_FIELDS = TypeAdapter(dict[str, FieldChange])
_RESULTS = TypeAdapter(list[OpResult])


def push(
    *,
    session: Session,
    caller: Caller,
    request: PushRequest,
    clock: hlc_mod.HLC,
    now: datetime,
    rating_window_days: int = 7,
) -> PushResponse:
    device = caller.device
    if device is None or device.id != request.device_id:
        raise Forbidden(
            "push with the device id this sign-in was issued for", code="device_mismatch"
        )
    if len(request.operations) > MAX_OPERATIONS_PER_PUSH:
        raise TooLarge(f"at most {MAX_OPERATIONS_PER_PUSH} operations per push; send fewer")
    grids = grid_set(session=session, user=caller.user)
    handler = caller.user.role == Role.HANDLER
    who = Who(
        user_id=caller.user.id,
        device_id=device.id,
        # A handler holds no grid's records: only the matters they serve (their steps' scope
        # is decided by shared.matters over `nodes`).
        leaves=frozenset() if handler else grids.leaves,
        nodes=grids.nodes,
        unlimited=caller.user.role == Role.ADMIN,
        role=caller.user.role,
        org_id=caller.user.org_id,
    )
    logged = _stored_results(session, [op.op_id for op in request.operations])
    stamped, restamped = _stamped(clock, request.operations)

    # Which operations are decided now: the first of each op id not answered before.
    fresh: list[tuple[int, Operation]] = []
    seen: set[str] = set(logged)
    for index, op in enumerate(stamped):
        if op.op_id not in seen:
            seen.add(op.op_id)
            fresh.append((index, op))
    # An id holding a lone surrogate cannot even be looked up: such an operation is rejected
    # by its decision before anything is read for it.
    bad_text = bad_text_fields(op for _, op in fresh)
    loadable = [op for _, op in fresh if op.op_id not in bad_text]
    binding_creates = _binding_creates(request.operations)

    created: set[Key] = set()  # what the batch has created so far, for the views after

    def view_of(ops: list[Operation]) -> View:
        loaded = load_view(
            session,
            who=who,
            ops=ops,
            today=china_date(now),
            moved_since=moved_since(china_date(now)).isoformat(),
            binding_creates=binding_creates,
            new_id=lambda: str(uuid.uuid4()),
        )
        loaded.created |= created
        loaded.bad_text = bad_text
        loaded.now, loaded.rating_window_days = now, rating_window_days
        return loaded

    view = view_of(loadable)
    existing = set(view.records)
    decided = [(index, op, _decide_one(op, view, index)) for index, op in fresh]
    try:
        with session.begin_nested():
            write(
                session,
                [(op, d) for _, op, d in decided],
                existing=existing,
                user_id=who.user_id,
                now=now,
            )
    except Exception:
        log.warning("push: grouped write failed; writing one operation at a time", exc_info=True)
        decided = []
        for index, op in fresh:
            decision = _one_at_a_time(
                session, op, index, view_of, who, now, loadable=op.op_id not in bad_text
            )
            created.update(key for key, _ in decision.writes if key not in existing)
            decided.append((index, op, decision))

    changes = ChangeSet()
    results: dict[str, dict[str, Any]] = dict(logged)
    for _, op, decision in decided:
        _record_changes(changes, op, decision, echo_allowed=op.op_id not in restamped)
        results[op.op_id] = {
            "op_id": op.op_id,
            "entity": op.entity,
            "record_id": op.record_id,
            **decision.result,
        }
    _log_operations(session, decided, now)
    commit_changes(session=session, changes=changes)
    device.last_push_at = device.last_seen_at = now
    return PushResponse(
        # Built here, or read back from the log; validated in one call (in Rust), which costs
        # less than constructing a thousand models in Python.
        results=_RESULTS.validate_python([results[op.op_id] for op in request.operations]),
        server_hlc=clock.now(),
    )


def _decide_one(op: Operation, view: View, position: int) -> Decision:
    try:
        decision = decide(op, view, position)
    except Exception:
        # A rule that fails on some input is that operation's answer, not the batch's.
        log.exception("push: operation %s could not be decided", op.op_id)
        decision = _cannot_apply()
    absorb(view, decision)
    return decision


def _one_at_a_time(
    session: Session,
    op: Operation,
    position: int,
    view_of: Callable[[list[Operation]], View],
    who: Who,
    now: datetime,
    *,
    loadable: bool,
) -> Decision:
    """Decide and write one operation in its own savepoint, against what is stored now
    (`loadable`: its ids can be looked up, holding no bad text)."""
    try:
        with session.begin_nested():
            view = view_of([op] if loadable else [])
            existing = set(view.records)
            decision = decide(op, view, position)
            write(session, [(op, decision)], existing=existing, user_id=who.user_id, now=now)
            return decision
    except DataError:
        # The database's own message names its tables and columns: it stays in the server's log.
        log.warning("push: operation %s refused by the database", op.op_id, exc_info=True)
        return reject("invalid_value", "a value is too long or of the wrong kind to be stored")
    except IntegrityError as exc:
        log.warning("push: operation %s broke a database rule", op.op_id, exc_info=True)
        if "foreign key" in str(exc.orig).lower():
            return reject("unknown_reference", "a record this change refers to does not exist")
        return reject(
            "constraint",
            "the change conflicts with data the server holds (a value already in use)",
        )
    except Exception:
        log.exception("push: operation %s could not be applied", op.op_id)
        return _cannot_apply()


def _cannot_apply() -> Decision:
    return reject(
        "cannot_apply", "the server could not apply this change; it has been logged for an admin"
    )


def _record_changes(
    changes: ChangeSet, op: Operation, decision: Decision, *, echo_allowed: bool
) -> None:
    for entity, record_id, grids, pending in decision.changes:
        changes.add(entity, record_id, grids, pending=pending)
    if decision.changes:
        echo = decision.status == "applied" and decision.echo and echo_allowed
        changes.settle(op.entity, op.record_id, op.device_id if echo else None)


def _stored_results(session: Session, op_ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    unique = sorted(set(op_ids))
    for start in range(0, len(unique), 500):
        for op_id, stored in session.execute(
            select(OperationLog.op_id, OperationLog.result).where(
                OperationLog.op_id.in_(unique[start : start + 500])
            )
        ):
            found[op_id] = stored
    return found


def _log_operations(
    session: Session, decided: list[tuple[int, Operation, Decision]], now: datetime
) -> None:
    rows = [
        {
            "op_id": op.op_id,
            "device_id": op.device_id,
            "entity": op.entity,
            "record_id": op.record_id,
            "kind": op.kind,
            "base_version": op.base_version,
            **_loggable(op, decision),
            "status": decision.status,
            "result": {
                "op_id": op.op_id,
                "entity": op.entity,
                "record_id": op.record_id,
                **decision.result,
            },
            # Microseconds apart, so the history keeps the order of the batch.
            "received_at": now + timedelta(microseconds=n),
        }
        for n, (_, op, decision) in enumerate(decided)
    ]
    # Core rows (COPY on PostgreSQL): the ORM's bulk path costs more than the JSON it writes.
    insert_rows(session, OperationLog.__table__, rows)  # type: ignore[arg-type]


def _loggable(op: Operation, decision: Decision) -> dict[str, Any]:
    """The operation's texts as the log can store them: a lone surrogate or a NUL is that
    operation's rejection, not the log's, so such an operation is logged scrubbed."""
    if decision.code == "invalid_characters":
        return scrub(
            {
                "user_id": op.user_id,
                "fields": {k: {"base": v.base, "new": v.new} for k, v in op.fields.items()},
                "hlc": op.hlc,
            }
        )
    return {
        "user_id": op.user_id,
        "fields": RawJSON(_FIELDS.dump_json(op.fields).decode()),
        "hlc": op.hlc,
    }


def _binding_creates(operations: list[Operation]) -> dict[str, list[tuple[int, str | None]]]:
    """The batch's binding creates by the resident they bind: (position, house id)."""
    index: dict[str, list[tuple[int, str | None]]] = {}
    for position, op in enumerate(operations):
        if op.entity == "binding" and op.kind == "create" and "resident_id" in op.fields:
            resident_id = op.fields["resident_id"].new
            house = op.fields.get("house_id")
            if isinstance(resident_id, str):
                house_id = house.new if house is not None and isinstance(house.new, str) else None
                index.setdefault(resident_id, []).append((position, house_id))
    return index


def _stamped(clock: hlc_mod.HLC, ops: list[Operation]) -> tuple[list[Operation], set[str]]:
    """The operations as they are applied, and the op_ids re-stamped: an operation whose clock
    is further ahead of the server's than the drift bound (`shared.hlc`) is the same change
    under the server's clock, so a phone whose clock says 2100 keeps its edit but does not win
    every later last-writer-wins edit by it. A malformed clock is left for its decision
    (`bad_clock`)."""
    ahead = clock.observe_latest(op.hlc for op in ops)
    if not ahead:
        return ops, set()
    stamped = [op.model_copy(update={"hlc": clock.now()}) if op.hlc in ahead else op for op in ops]
    return stamped, {op.op_id for op in ops if op.hlc in ahead}
