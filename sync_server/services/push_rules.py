"""The rules of a push, written once: `decide(op, view)` for every operation of every batch.

A push loads one `View` of everything its batch can touch (`push_load`), decides each operation
in order against it, lets each decision update the view in memory (`absorb`) so a later operation
sees the earlier ones, and then writes the decisions together (`push_write`). Every rule that
protects the grid is here and nowhere else: who may do what to which entity (the schema's
`device_*` flags), scope before and after, every reference checked for existence and scope,
what a delete may leave behind, duplicates held for an admin, the merge (`shared.merge`, as on
the device), versions, result texts and whether a change is its sender's echo.

Pure: plain data in, a `Decision` out. Nothing here touches a database (a test guards that
this module imports nothing from SQLAlchemy or `sync_server.models`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from shared import hlc
from shared.businesses import check_against_checklist
from shared.clock import format_timestamp
from shared.inspection_matters import Answer, Check, decide_check, open_by_item
from shared.matters import (
    CHECK_ACTIONS,
    EDITABLE_WHILE_REPORTED,
    Actor,
    MatterState,
    StepRefused,
    credits_for,
    decide_step,
    due_at,
    refusal_text,
)
from shared.members import ClaimRefused, decide_claim
from shared.merge import MergeRejected, MergeResult, Snapshot, merge
from shared.ops import new_values, operation_snapshots
from shared.protocol import Operation
from shared.records import REFERENCES, check_values
from shared.schema import ENTITIES, LEAF_LEVEL, Role
from shared.text import any_bad, first_bad_text
from shared.validation import mask_phone

Key = tuple[str, str]  # (entity, record id)


@dataclass(frozen=True)
class Rec:
    """A stored record as the rules read it: wire values of the entity's fields."""

    values: dict[str, Any]
    clocks: dict[str, str]
    version: int
    deleted: bool = False
    device_id: str | None = None  # the device of the last change

    def snapshot(self) -> Snapshot:
        return Snapshot(self.values, self.clocks, self.deleted)


@dataclass(frozen=True)
class Who:
    """The caller: who they are and the grids they hold."""

    user_id: str
    device_id: str
    leaves: frozenset[str]  # level-5 grids
    nodes: frozenset[str]  # every grid node they may see
    unlimited: bool  # an admin: no scope
    role: str = Role.WORKER
    org_id: str | None = None  # a handler's organisation


@dataclass
class View:
    """Everything the batch's decisions read, loaded once; `absorb` keeps it current."""

    who: Who
    today: date  # China date, for ID numbers' birth dates
    moved_since: str  # ISO date: a binding ended on or after it is a recent move
    records: dict[Key, Rec] = field(default_factory=dict)
    # ("resident", id) or ("house", id) -> ids of the bindings naming it (live or not).
    bindings_of: dict[Key, set[str]] = field(default_factory=dict)
    # A building or unit -> the live units and houses in it (loaded for deletes).
    children: dict[Key, set[Key]] = field(default_factory=dict)
    id_numbers: dict[str, str] = field(default_factory=dict)  # live residents' -> their id
    held: dict[str, str] = field(default_factory=dict)  # record id -> open duplicate conflict
    # Resident id -> (batch position, house id) of every binding create in the batch.
    binding_creates: dict[str, list[tuple[int, str | None]]] = field(default_factory=dict)
    created: set[Key] = field(default_factory=set)  # records this batch created
    # The batch's text checked once (`bad_text_fields`): op_id -> the field holding bad text.
    # None: not checked for the batch, so each decision checks its own operation.
    bad_text: Mapping[str, str] | None = None
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # column defaults
    new_id: Callable[[], str] = field(default=lambda: "")
    now: datetime | None = None  # when the push is applied: a step's points window
    rating_window_days: int = 7  # Settings.matter_rating_window_days
    users: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (role, org)
    user_names: dict[str, str] = field(default_factory=dict)  # id -> display name
    steps_of: dict[str, set[str]] = field(default_factory=dict)  # matter id -> its step ids
    # Business id -> the matters its checks opened (the open ones, loaded for the batch's checks).
    check_matters: dict[str, set[str]] = field(default_factory=dict)
    # Business type id -> its checklist items (id -> code), for the batch's checks.
    checklists: dict[str, dict[str, str]] = field(default_factory=dict)
    # post id -> {claim id: member's user id} of its live claims (shared.members.decide_claim)
    claims_of: dict[str, dict[str, str]] = field(default_factory=dict)

    def rec(self, entity: str, record_id: Any) -> Rec | None:
        return self.records.get((entity, record_id)) if isinstance(record_id, str) else None

    def live(self, entity: str, record_id: Any) -> Rec | None:
        found = self.rec(entity, record_id)
        return None if found is None or found.deleted else found

    def bindings(self, of: Key) -> list[tuple[str, Rec]]:
        """The live bindings of a resident or house."""
        out = []
        for binding_id in sorted(self.bindings_of.get(of, ())):
            binding = self.live("binding", binding_id)
            if binding is not None:
                out.append((binding_id, binding))
        return out

    def resident_grids(self, resident_id: str) -> set[str]:
        """The grids of the person's open, live bindings."""
        return {
            grid
            for _, b in self.bindings(("resident", resident_id))
            if b.values.get("end_date") is None
            if (grid := self._house_grid(b.values.get("house_id"))) is not None
        }

    def recent_grids(self, resident_id: str) -> set[str]:
        """The grids the person moved out of recently (a binding ended since `moved_since`)."""
        return {
            grid
            for _, b in self.bindings(("resident", resident_id))
            if (end := b.values.get("end_date")) is not None and end >= self.moved_since
            if (grid := self._house_grid(b.values.get("house_id"))) is not None
        }

    def grids_of(self, entity: str, record_id: str, rec: Rec) -> set[str]:
        """The level-5 grids a record belongs to (`sync_server.services.record_grids`)."""
        values = rec.values
        if entity == "grid_node":
            return {record_id}
        if entity in ("building", "house"):
            return {values["grid_id"]} if values.get("grid_id") else set()
        if entity == "unit":
            building = self.rec("building", values.get("building_id"))
            grid = building.values.get("grid_id") if building else None
            return {grid} if grid else set()
        if entity in ("binding", "visit"):
            grid = self._house_grid(values.get("house_id"))
            return {grid} if grid else set()
        if entity == "resident":
            return self.resident_grids(record_id)
        if entity in ("campaign", "matter", "business"):
            return {values["grid_id"]} if values.get("grid_id") else set()
        if entity == "business_check":
            business = self.rec("business", values.get("business_id"))
            grid = business.values.get("grid_id") if business is not None else None
            return {grid} if grid else set()
        if entity in ("business_type", "checklist_item"):
            return set()
        if entity == "matter_step":
            matter = self.rec("matter", values.get("matter_id"))
            grid = matter.values.get("grid_id") if matter is not None else None
            return {grid} if grid else set()
        if entity in ("org", "matter_category", "post", "post_claim"):
            return set()  # routed by keys of their own (post_routes)
        return self.resident_grids(values.get("resident_id") or "")  # outcome, completion

    def _house_grid(self, house_id: Any) -> str | None:
        house = self.rec("house", house_id)
        return house.values.get("grid_id") if house is not None else None


@dataclass
class Decision:
    """What one operation does: its answer, and what must be written for it."""

    status: str  # applied, merged, conflict, rejected
    version: int | None = None
    code: str | None = None
    field: str | None = None
    reason: str | None = None
    conflict_id: str | None = None
    # `dataclasses.field`: within this class `field` is the attribute above.
    writes: list[tuple[Key, Rec]] = dataclasses.field(default_factory=list)  # states, in order
    new_conflict: dict[str, Any] | None = None  # a conflict row to insert
    hold: tuple[str, str | None] | None = None  # (open conflict to hold the op in, its new grid)
    # (entity, id, grids, pending): change rows; pending ones are settled by `echo`.
    changes: list[tuple[str, str, set[str], bool]] = dataclasses.field(default_factory=list)
    echo: bool = False  # the record is now exactly as its sender holds it
    superseded: list[str] | None = None  # merged: fields a later edit elsewhere kept
    # Points ledger rows the step earns ({user_id, matter_id, kind, amount}), written with it.
    credits: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def result(self) -> dict[str, Any]:
        """The stored and returned result, less op_id, entity and record_id."""
        out: dict[str, Any] = {"status": self.status}
        for name in ("version", "conflict_id", "code", "field", "reason", "superseded"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        conflict = self.new_conflict
        if conflict is not None and conflict["kind"] == "field":
            # The worker is shown what clashed, not every field they edited.
            out["conflicts"] = conflict["fields"]
        return out


class Rejected(Exception):
    def __init__(self, code: str, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.code, self.reason, self.field = code, reason, field


def reject(code: str, reason: str, field: str | None = None) -> Decision:
    return Decision("rejected", code=code, field=field, reason=reason)


# --- deciding --------------------------------------------------------------------------------


def decide(op: Operation, view: View, position: int) -> Decision:
    """The one decision for `op`, the `position`-th operation of its batch."""
    try:
        return _decide(op, view, position)
    except Rejected as exc:
        return reject(exc.code, exc.reason, exc.field)
    except MergeRejected as exc:
        return reject(exc.code, exc.errors[0].message, exc.field)


def _decide(op: Operation, view: View, position: int) -> Decision:
    who, spec = view.who, ENTITIES[op.entity]
    bad = bad_text_field(op) if view.bad_text is None else view.bad_text.get(op.op_id)
    if bad is not None:
        raise Rejected(
            "invalid_characters",
            "text must be valid Unicode without lone surrogates or NUL characters",
            bad,
        )
    if (op.device_id, op.user_id) != (who.device_id, who.user_id):
        raise Rejected("wrong_author", "operation was made by another user or device")
    if not hlc.is_timestamp(op.hlc):
        raise Rejected("bad_clock", "hlc is not a valid HLC timestamp", "hlc")
    _require_device_may(op, who)
    if op.entity in ("matter", "matter_step") or who.role == Role.HANDLER:
        _require_matter_role(op, who)
    if op.entity == "post_claim" and op.kind == "create":
        return _claim_post(op, view)
    held = _held_by(op, view)
    if held is not None:
        return _hold(op, view, held)
    rec = view.rec(op.entity, op.record_id)
    if spec.append_only:
        _check_fact(op, view, rec)
    cascade: list[tuple[str, Rec]] = []
    if op.kind == "delete" and rec is not None and not rec.deleted:
        cascade = _dependants(op.entity, op.record_id, view)

    values = new_values(op)
    if op.kind != "delete":
        checked, errors = check_values(
            op.entity, values, creating=op.kind == "create" and rec is None, today=view.today
        )
        if errors:
            first = errors[0]
            raise Rejected(first.code, "; ".join(str(e) for e in errors), first.field)
        values = checked

    grids_before: set[str] = set()
    if rec is not None:
        grids_before = view.grids_of(op.entity, op.record_id, rec)
        _require_in_scope(op.entity, op.record_id, rec, grids_before, view)
        if op.entity == "matter" and op.kind != "delete":
            _require_matter_editable(rec, values)

    if op.kind == "create":
        if rec is None and op.entity == "resident":
            existing = view.id_numbers.get(values["id_number"])
            if existing is not None:
                return _duplicate(op, view, existing, values, position)
        base, theirs = operation_snapshots(op, values)
        base = None
    elif rec is None:
        raise Rejected("no_such_record", f"the {op.entity} does not exist on the server")
    else:
        if (
            op.kind == "delete"
            and op.base_version is not None
            and rec.version > op.base_version
            and not rec.deleted
        ):
            return _delete_against_edit(op, view, rec, grids_before)
        base, theirs = operation_snapshots(op, values)

    result = merge(op.entity, base, rec.snapshot() if rec else None, theirs, theirs_clock=op.hlc)
    if not result.deleted and result.kind not in ("conflict", "delete_conflict"):
        _check_references(op.entity, result.values, view)
    if op.entity == "resident" and not result.deleted:
        _check_id_number_free(result.values, view, op.record_id)

    # Someone else moved the record on since the device's base: what applies was merged with it.
    # (The device's own earlier operations in the outbox also move the version; they don't count.)
    moved_on = (
        rec is not None
        and op.base_version is not None
        and rec.version > op.base_version
        and rec.device_id != op.device_id
    )
    current = _stored(op, view, rec, result)
    decision = Decision("applied")
    if op.entity == "matter" and rec is None:
        current = _new_matter(current, view)
    step_moves: tuple[str, Rec, Rec] | None = None
    if op.entity == "matter_step" and rec is None and not current.deleted:
        step_moves, decision.credits = _apply_step(current, view)
    if current is not rec:
        decision.writes.append(((op.entity, op.record_id), current))
    if step_moves is not None:
        matter_id, matter_before, matter_after = step_moves
        decision.writes.append((("matter", matter_id), matter_after))
        before_keys = matter_routes(matter_before, view)
        after_keys = matter_routes(matter_after, view)
        # Not the device's echo: it learns the matter's new state (and version) by pulling.
        decision.changes.append(("matter", matter_id, before_keys | after_keys, False))
        # Whoever the matter newly reaches (dispatched to, published to) gets its timeline.
        gained = after_keys - before_keys
        for step_id in sorted(view.steps_of.get(matter_id, ())) if gained else ():
            decision.changes.append(("matter_step", step_id, gained, False))

    if op.entity == "business_check" and rec is None and not current.deleted:
        _check_matters(op, current, view, decision)

    if op.entity == "resident" and op.kind == "create" and not who.unlimited:
        grids_after = _require_new_resident_bound(op, view, position)
    else:
        grids_after = _grids_with(view, op.entity, op.record_id, current)
        # A step's scope is `decide_step`'s (a dispatched handler may serve no grid of it).
        if op.kind != "delete" and op.entity != "matter_step":
            _require_in_scope(op.entity, op.record_id, current, grids_after, view)
    routed = grids_before | grids_after | _recently_left(view, op.entity, op.record_id, current)
    if op.entity == "matter":
        routed |= matter_routes(current, view)
        routed |= matter_routes(rec, view) if rec is not None else set()
    if step_moves is not None:
        routed |= matter_routes(step_moves[2], view)
    decision.changes.append((op.entity, op.record_id, routed, True))
    if op.entity == "binding":
        rid = current.values.get("resident_id") or ""
        before = view.resident_grids(rid)
        now_in = _resident_grids_with(view, rid, op.record_id, current)
        # The person's own record did not change: this only routes it to the grids it is in now.
        decision.changes.append(("resident", rid, before | now_in, True))
        # A person found at the door arrives with their first binding.
        decision.changes.append(("binding", op.record_id, now_in, True))
    if result.deleted and not (rec is not None and rec.deleted):
        for binding_id, binding in cascade:
            gone = replace(
                binding, deleted=True, version=binding.version + 1, device_id=op.device_id
            )
            decision.writes.append((("binding", binding_id), gone))
            house_grid = view._house_grid(binding.values.get("house_id"))
            # Not the device's echo: it may still hold the binding, and must drop it.
            decision.changes.append(
                ("binding", binding_id, {house_grid} if house_grid else set(), False)
            )

    decision.version = current.version
    if result.conflicts:
        grids = grids_before | grids_after
        decision.status = "conflict"
        decision.conflict_id = view.new_id()
        decision.new_conflict = _conflict_row(
            op,
            decision.conflict_id,
            "field",
            min(grids) if grids else None,
            [
                {"field": c.field, "base": c.base, "server": c.mine, "device": c.theirs}
                for c in result.conflicts
            ],
        )
        return decision
    if result.superseded:
        names = ", ".join(sorted(result.superseded))
        decision.status, decision.reason = "merged", f"a later edit elsewhere won for {names}"
        decision.superseded = sorted(result.superseded)
        return decision
    if result.kind == "merged" or (moved_on and result.kind != "unchanged"):
        decision.status = "merged"
        return decision
    stored = None if current.deleted else current.values
    decision.echo = as_sent(op, stored)
    return decision


def bad_text_fields(ops: Iterable[Operation]) -> dict[str, str]:
    """op_id -> the field holding bad text, for each operation of a batch that has any: one
    search over the whole batch's strings, and one per operation only when that finds some."""
    ops = list(ops)
    values: list[Any] = []
    for op in ops:
        values += _texts(op)
    if not any_bad(values):
        return {}
    return {op.op_id: bad for op in ops if (bad := bad_text_field(op)) is not None}


def bad_text_field(op: Operation) -> str | None:
    """The field (or `hlc`, `user_id`) of `op` holding a lone surrogate or a NUL, if any."""
    if not any_bad(_texts(op)):
        return None
    return first_bad_text(
        [("hlc", op.hlc), ("user_id", op.user_id)]
        + [(name, (change.base, change.new)) for name, change in op.fields.items()]
    )


def _texts(op: Operation) -> list[Any]:
    values: list[Any] = [op.hlc, op.user_id]
    for name, change in op.fields.items():
        values += (name, change.base, change.new)
    return values


def absorb(view: View, decision: Decision) -> None:
    """Let the view hold what `decision` writes, for the operations after it."""
    for (entity, record_id), rec in decision.writes:
        if entity == "matter_step" and not rec.deleted and rec.values.get("matter_id"):
            view.steps_of.setdefault(str(rec.values["matter_id"]), set()).add(record_id)
        if entity == "matter" and rec.values.get("business_id"):
            view.check_matters.setdefault(str(rec.values["business_id"]), set()).add(record_id)
        if entity == "post_claim" and not rec.deleted and rec.values.get("post_id"):
            claims = view.claims_of.setdefault(str(rec.values["post_id"]), {})
            claims[record_id] = str(rec.values.get("user_id"))
        old = view.records.get((entity, record_id))
        if old is None:
            view.created.add((entity, record_id))
        view.records[(entity, record_id)] = rec
        if entity == "binding":
            for name, of in (("resident_id", "resident"), ("house_id", "house")):
                ref = rec.values.get(name)
                if isinstance(ref, str):
                    view.bindings_of.setdefault((of, ref), set()).add(record_id)
        if entity == "resident":
            before = str(old.values.get("id_number")) if old is not None else ""
            if view.id_numbers.get(before) == record_id:
                del view.id_numbers[before]
            if not rec.deleted and rec.values.get("id_number"):
                view.id_numbers[rec.values["id_number"]] = record_id
    conflict = decision.new_conflict
    if conflict is not None and conflict["kind"] == "duplicate":
        view.held[conflict["record_id"]] = conflict["id"]


def as_sent(op: Operation, stored: dict[str, Any] | None) -> bool:
    """Whether the server now holds the record exactly as the device that sent `op` will believe
    once told "applied": every field it sent stored unchanged (nothing normalised) and, for a
    create, every field it left out empty. `stored` is the record's wire values, None if deleted.
    Such a change is that device's echo: its next pull need not bring the record back."""
    if op.kind == "delete" or stored is None:
        return op.kind == "delete" and stored is None
    if any(stored.get(name) != change.new for name, change in op.fields.items()):
        return False
    return op.kind != "create" or all(
        value is None for name, value in stored.items() if name not in op.fields
    )


# --- the rules -------------------------------------------------------------------------------


def _require_device_may(op: Operation, who: Who) -> None:
    """The entity's `device_*` flags (`shared.schema`): grid nodes, campaigns and completions
    are the server's; a campaign outcome is created once and never changed (an admin may delete
    one recorded in error)."""
    spec = ENTITIES[op.entity]
    if spec.device_may(op.kind):
        return
    if spec.append_only and spec.device_creatable:
        if op.kind == "delete" and who.unlimited:
            return
        raise Rejected(
            "append_only", f"a {op.entity} is never changed once recorded; record a new one instead"
        )
    verb = {"create": "created", "update": "changed", "delete": "deleted"}[op.kind]
    code = {"create": "creatable", "update": "updatable", "delete": "deletable"}[op.kind]
    raise Rejected(f"not_device_{code}", f"{op.entity} records cannot be {verb} from a device")


def _check_fact(op: Operation, view: View, rec: Rec | None) -> None:
    """A new outcome names a campaign the caller holds and a resident the server has."""
    if op.kind == "delete" and view.who.unlimited:
        return
    if op.kind != "create" or rec is not None:
        raise Rejected(
            "append_only", f"a {op.entity} is never changed once recorded; record a new one instead"
        )
    if op.entity == "business_check":
        _check_business_check(new_values(op), view)
        return
    if op.entity != "outcome":
        return
    values = new_values(op)
    if values.get("campaign_id"):
        campaign = view.live("campaign", values["campaign_id"])
        held = view.who.unlimited or (
            campaign is not None and campaign.values.get("grid_id") in view.who.nodes
        )
        if campaign is None or not held:
            raise Rejected(
                "unknown_reference",
                f"campaign {values['campaign_id']} does not exist",
                "campaign_id",
            )
    if values.get("resident_id") and view.live("resident", values["resident_id"]) is None:
        raise Rejected(
            "unknown_reference", f"resident {values['resident_id']} does not exist", "resident_id"
        )


def _require_in_scope(entity: str, record_id: str, rec: Rec, grids: set[str], view: View) -> None:
    who = view.who
    if who.unlimited:
        return
    if entity == "resident" and not grids:
        grids = view.recent_grids(record_id)
    if entity == "outcome" and not grids:  # the worker learnt at the door they had moved out
        grids = view.recent_grids(rec.values.get("resident_id") or "")
    if entity == "grid_node":
        allowed = record_id in who.nodes
    else:
        allowed = bool(grids) and grids <= who.leaves
    if not allowed:
        raise Rejected("out_of_scope", f"this {entity} is outside your assigned grids")


def _check_references(entity: str, values: Mapping[str, Any], view: View) -> None:
    """Every record the change refers to exists, is live, and (for a worker or supervisor) is
    in the caller's scope; places sit in a level-5 grid."""
    who = view.who

    def need(target: str, name: str) -> Rec:
        found = view.live(target, values.get(name))
        if found is None:
            raise Rejected("unknown_reference", f"{name} names no record the server has", name)
        return found

    def in_scope(grid_id: Any, name: str) -> None:
        if not who.unlimited and grid_id not in who.leaves:
            raise Rejected("out_of_scope", f"{name} is outside your assigned grids", name)

    if entity in ("building", "house"):
        grid = need("grid_node", "grid_id")
        if grid.values.get("level") != LEAF_LEVEL:
            raise Rejected("grid_level", "places belong to a level-5 grid", "grid_id")
    if entity == "unit":
        in_scope(need("building", "building_id").values.get("grid_id"), "building_id")
    if entity == "house":
        building = need("building", "building_id")
        in_scope(building.values.get("grid_id"), "building_id")
        if values.get("unit_id") is not None:
            unit = need("unit", "unit_id")
            if unit.values.get("building_id") != values.get("building_id"):
                raise Rejected("unknown_reference", "the unit is in another building", "unit_id")
    if entity == "business":
        grid = need("grid_node", "grid_id")
        if grid.values.get("level") != LEAF_LEVEL:
            raise Rejected("grid_level", "places belong to a level-5 grid", "grid_id")
        in_scope(values.get("grid_id"), "grid_id")
        need("business_type", "business_type_id")
        if values.get("building_id") is not None:
            building = need("building", "building_id")
            if building.values.get("grid_id") != values.get("grid_id"):
                raise Rejected(
                    "unknown_reference", "the building is in another grid", "building_id"
                )
    if entity == "matter":
        _check_matter_references(values, view, need, in_scope)
    if entity == "matter_step":
        _check_step_references(values, view, need)
    if entity in ("binding", "visit"):
        need("house", "house_id")
        if entity == "binding" or values.get("resident_id") is not None:
            need("resident", "resident_id")
            if not _reachable(values["resident_id"], view):
                raise Rejected(
                    "out_of_scope", "resident_id names a person outside your grids", "resident_id"
                )


def _reachable(resident_id: str, view: View) -> bool:
    """Whether the caller may name this person: bound in their grids (or moved out of them
    recently), or created in this very batch. Someone of another grid who now lives here is
    found through the duplicate check of their ID number, which an admin settles."""
    who = view.who
    if who.unlimited or ("resident", resident_id) in view.created:
        return True
    return bool(view.resident_grids(resident_id) & who.leaves) or bool(
        view.recent_grids(resident_id) & who.leaves
    )


def _check_id_number_free(values: Mapping[str, Any], view: View, record_id: str) -> None:
    """An edit may not give a person an ID number another living person has (a create with
    one is a duplicate conflict instead)."""
    holder = view.id_numbers.get(str(values.get("id_number") or ""))
    if holder is not None and holder != record_id:
        raise Rejected("constraint", "another resident already has this ID number", "id_number")


def _dependants(entity: str, record_id: str, view: View) -> list[tuple[str, Rec]]:
    """What deleting the record must take with it, or the rejection when it may not go: a house
    someone lives in (`has_residents`), a building or unit with live places in it
    (`has_places`). A person takes all their bindings; a house, its ended ones (history)."""
    if entity in ("building", "unit"):
        if any(view.live(e, i) is not None for e, i in view.children.get((entity, record_id), ())):
            what = "units or houses" if entity == "building" else "houses"
            raise Rejected("has_places", f"the {entity} still has {what}; delete those first")
        return []
    if entity not in ("house", "resident"):
        return []
    bindings = view.bindings((entity, record_id))
    if entity == "house" and any(b.values.get("end_date") is None for _, b in bindings):
        raise Rejected("has_residents", "people are still bound to this house; move them out first")
    return bindings


def _stored(op: Operation, view: View, rec: Rec | None, result: MergeResult) -> Rec:
    """The record's state after the merge (`rec` itself when nothing is written)."""
    if result.kind == "unchanged" and rec is not None:
        return rec
    spec = ENTITIES[op.entity]
    if rec is None:
        defaults = view.defaults.get(op.entity, {})
        values = {
            name: result.values[name] if name in result.values else defaults.get(name)
            for name in spec.fields
        }
        version = 1
    else:
        values = {name: result.values.get(name) for name in spec.fields}
        changed = bool(result.changed) or result.deleted != rec.deleted
        version = rec.version + 1 if changed else rec.version
    return Rec(values, dict(result.clocks), version, result.deleted, op.device_id)


def _grids_with(view: View, entity: str, record_id: str, rec: Rec) -> set[str]:
    """The record's grids once `rec` is stored (a binding moves its person's grids)."""
    if entity == "resident":
        return view.resident_grids(record_id)
    return view.grids_of(entity, record_id, rec)


def _recently_left(view: View, entity: str, record_id: str, rec: Rec) -> set[str]:
    """The grids a person (or a campaign record about them) still travels to after moving out of
    them (`shared.moves`): the phones there keep the person for the window."""
    if entity == "resident":
        return view.recent_grids(record_id)
    if entity in ("outcome", "completion"):
        return view.recent_grids(rec.values.get("resident_id") or "")
    return set()


def _resident_grids_with(view: View, resident_id: str, binding_id: str, binding: Rec) -> set[str]:
    """The person's grids once `binding` is stored."""
    grids = {
        grid
        for other_id, b in view.bindings(("resident", resident_id))
        if other_id != binding_id and b.values.get("end_date") is None
        if (grid := view._house_grid(b.values.get("house_id"))) is not None
    }
    if (
        not binding.deleted
        and binding.values.get("end_date") is None
        and binding.values.get("resident_id") == resident_id
        and (grid := view._house_grid(binding.values.get("house_id"))) is not None
    ):
        grids.add(grid)
    return grids


def _new_resident_grids(op: Operation, view: View, position: int) -> set[str]:
    """The grids of the live houses that binding creates after `position` bind the new
    resident `op` creates to."""
    grids: set[str] = set()
    for at, house_id in view.binding_creates.get(op.record_id, ()):
        house = view.live("house", house_id)
        if at > position and house is not None and house.values.get("grid_id"):
            grids.add(house.values["grid_id"])
    return grids


def _require_new_resident_bound(op: Operation, view: View, position: int) -> set[str]:
    grids = _new_resident_grids(op, view, position)
    if not grids or not grids <= view.who.leaves:
        raise Rejected(
            "unbound_resident",
            "a new resident must be bound to a house in your grids in the same sync",
        )
    return grids


# --- duplicates, holds and delete conflicts ---------------------------------------------------


def _held_by(op: Operation, view: View) -> str | None:
    """The open duplicate conflict that holds this record, or that of the resident it binds."""
    ids = [op.record_id]
    if op.entity in ("binding", "outcome") and "resident_id" in op.fields:
        ids.append(str(op.fields["resident_id"].new))
    return next((view.held[i] for i in ids if i in view.held), None)


def _hold(op: Operation, view: View, conflict_id: str) -> Decision:
    grid = None
    if op.entity == "binding" and "house_id" in op.fields:
        house = view.rec("house", op.fields["house_id"].new)
        grid = house.values.get("grid_id") if house is not None else None
    return Decision(
        "conflict",
        conflict_id=conflict_id,
        reason="held until an admin settles a suspected duplicate",
        hold=(conflict_id, grid),
    )


def _duplicate(
    op: Operation, view: View, existing_id: str, values: dict[str, Any], position: int
) -> Decision:
    """Two people with one ID number: hold the new record for an admin instead of a second
    person."""
    existing = view.records[("resident", existing_id)]
    grids = _new_resident_grids(op, view, position)
    conflict_id = view.new_id()
    row = _conflict_row(
        op,
        conflict_id,
        "duplicate",
        min(grids) if grids else None,
        [
            {"field": name, "base": None, "server": existing.values.get(name), "device": value}
            for name, value in sorted(values.items())
        ],
    )
    row.update(other_record_id=existing_id, held_ops=[op.model_dump(mode="json")])
    return Decision(
        "conflict",
        conflict_id=conflict_id,
        reason=f"a resident with ID number ending {values['id_number'][-4:]} already exists",
        new_conflict=row,
    )


def _delete_against_edit(op: Operation, view: View, rec: Rec, grids: set[str]) -> Decision:
    conflict_id = view.new_id()
    return Decision(
        "conflict",
        version=rec.version,
        conflict_id=conflict_id,
        reason="the record was changed on the server after the device deleted it",
        new_conflict=_conflict_row(
            op,
            conflict_id,
            "delete",
            min(grids) if grids else None,
            [{"field": "_deleted", "base": False, "server": False, "device": True}],
        ),
    )


def _conflict_row(
    op: Operation, conflict_id: str, kind: str, grid_id: str | None, fields: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": conflict_id,
        "kind": kind,
        "entity": op.entity,
        "record_id": op.record_id,
        "grid_id": grid_id,
        "op_id": op.op_id,
        "user_id": op.user_id,
        "device_id": op.device_id,
        "hlc": op.hlc,
        "fields": fields,
    }


def references_of(entity: str, values: Mapping[str, Any]) -> Iterable[Key]:
    """The records `values` refer to, as (entity, id)."""
    for name, value in values.items():
        target = REFERENCES.get(name)
        if target is not None and isinstance(value, str) and name in ENTITIES[entity].fields:
            yield target, value


# --- businesses (shared/businesses.py) -----------------------------------------------------------


def _check_business_check(values: Mapping[str, Any], view: View) -> None:
    """A new check names a business_inspection campaign the caller holds, a live business in
    the caller's grids, and only items of that business's type's checklist."""
    who = view.who
    campaign = view.live("campaign", values.get("campaign_id"))
    held = campaign is not None and (who.unlimited or campaign.values.get("grid_id") in who.nodes)
    if campaign is None or not held:
        raise Rejected(
            "unknown_reference",
            f"campaign {values.get('campaign_id')} does not exist",
            "campaign_id",
        )
    if campaign.values.get("kind") != "business_inspection":
        raise Rejected(
            "not_business_inspection",
            "the campaign is not a business inspection (排查整治) campaign",
            "campaign_id",
        )
    business = view.live("business", values.get("business_id"))
    if business is None:
        raise Rejected(
            "unknown_reference",
            f"business {values.get('business_id')} does not exist",
            "business_id",
        )
    if not who.unlimited and business.values.get("grid_id") not in who.leaves:
        raise Rejected("out_of_scope", "business_id is outside your assigned grids", "business_id")
    wanted = campaign.values.get("business_types") or []
    if wanted and business.values.get("business_type_id") not in wanted:
        raise Rejected(
            "not_campaign_target",
            "the campaign does not cover this business's type",
            "business_id",
        )
    results = values.get("results")
    if isinstance(results, list):
        items = view.checklists.get(business.values.get("business_type_id") or "", {})
        error = check_against_checklist([r for r in results if isinstance(r, Mapping)], items)
        if error is not None:
            raise Rejected(error.code, error.message, error.field)


# --- matters (shared/matters.py) ----------------------------------------------------------------

_USER_ROLES_DISPATCHABLE = frozenset({Role.HANDLER, Role.WORKER})


def matter_routes(rec: Rec, view: View) -> set[str]:
    """The change-row keys a matter (and its steps) travel under besides its grid: its assignee
    org and person (`org:<id>`, `user:<id>`) and, while it is on the claim list, its community
    (`pub:<level-4 id>`, the parent of its grid); a handler's pull reads exactly those keys
    (services/matter_sync.py)."""
    values = rec.values
    keys = {str(values["grid_id"])} if values.get("grid_id") else set()
    if values.get("assignee_org_id"):
        keys.add(f"org:{values['assignee_org_id']}")
    if values.get("assignee_user_id"):
        keys.add(f"user:{values['assignee_user_id']}")
    grid = view.rec("grid_node", values.get("grid_id"))
    community = grid.values.get("parent_id") if grid is not None else None
    if values.get("state") == MatterState.PUBLISHED and community:
        keys.add(f"pub:{community}")
    return keys


def _require_matter_role(op: Operation, who: Who) -> None:
    """Handlers only make steps; a matter is reported by workers, supervisors and admins."""
    if who.role == Role.HANDLER and op.entity not in ("matter_step", "post_claim"):
        raise Rejected("not_allowed", f"a handler cannot {op.kind} a {op.entity}")
    action = op.fields["action"].new if "action" in op.fields else None
    if op.entity == "matter_step" and action in CHECK_ACTIONS:
        raise Rejected(
            "not_allowed",
            "a re-inspection is recorded by checking the business again, not sent as a step",
            "action",
        )


def _require_matter_editable(rec: Rec, values: Mapping[str, Any]) -> None:
    """A device edits a matter's description, place, urgency and photos while it is reported;
    everything else about it, and everything once accepted, goes through steps."""
    changed = {name for name, value in values.items() if value != rec.values.get(name)}
    if not changed:
        return  # nothing it would change (a create sent again)
    fixed = sorted(changed - EDITABLE_WHILE_REPORTED)
    if rec.values.get("state") != MatterState.REPORTED or fixed:
        raise Rejected(
            "matter_not_editable",
            "a matter changes through its steps once reported; only its description, place, "
            "urgency and photos may be edited, and only before it is accepted",
            fixed[0] if fixed else None,
        )


def _check_matter_references(
    values: Mapping[str, Any],
    view: View,
    need: Callable[[str, str], Rec],
    in_scope: Callable[[Any, str], None],
) -> None:
    category = need("matter_category", "category_id")
    if not category.values.get("active"):
        raise Rejected("unknown_reference", "the category is no longer in use", "category_id")
    grid = need("grid_node", "grid_id")
    if grid.values.get("level") != LEAF_LEVEL:
        raise Rejected("grid_level", "a matter is reported in a level-5 grid", "grid_id")
    for name, target in (("building_id", "building"), ("house_id", "house")):
        if values.get(name) is not None:
            place = need(target, name)
            if place.values.get("grid_id") != values.get("grid_id"):
                raise Rejected("unknown_reference", f"{name} is in another grid", name)
    if values.get("resident_id") is not None:
        need("resident", "resident_id")
        if not _reachable(values["resident_id"], view):
            raise Rejected(
                "out_of_scope", "resident_id names a person outside your grids", "resident_id"
            )
    in_scope(values.get("grid_id"), "grid_id")


def _check_step_references(
    values: Mapping[str, Any], view: View, need: Callable[[str, str], Rec]
) -> None:
    need("matter", "matter_id")
    if values.get("org_id") is not None:
        need("org", "org_id")
    user = values.get("user_id")
    role = view.users.get(str(user), ("", None))[0] if user is not None else None
    if user is not None and role not in _USER_ROLES_DISPATCHABLE:
        raise Rejected("unknown_reference", "user_id names no handler or worker", "user_id")


def _new_matter(current: Rec, view: View) -> Rec:
    """A new matter as the server keeps it: reported now, due by its category's time limit, and
    the resident's name and masked phone for whoever handles it."""
    values = dict(current.values)
    for name in ("state", "assignee_org_id", "assignee_user_id", "rating", "closed_at"):
        values[name] = None
    values["state"] = MatterState.REPORTED.value
    values["state_by"] = view.who.user_id
    reported = str(values.get("reported_at") or "")
    now = _now_text(view)
    # A phone's clock may run ahead: nothing is reported, or due, from the future.
    if now is not None and (not reported or reported > now):
        values["reported_at"] = reported = now
    values["state_at"] = reported or None
    category = view.live("matter_category", values.get("category_id"))
    hours = category.values.get("time_limit_hours") if category is not None else None
    values["due_at"] = due_at(reported or None, hours)
    resident = view.live("resident", values.get("resident_id"))
    values["resident_name"] = resident.values.get("name") if resident is not None else None
    phone = resident.values.get("phone") if resident is not None else None
    values["resident_phone_masked"] = mask_phone(phone) if phone else None
    return replace(current, values=values)


def _now_text(view: View) -> str | None:
    return format_timestamp(view.now) if view.now is not None else None


def _apply_step(step: Rec, view: View) -> tuple[tuple[str, Rec, Rec], list[dict[str, Any]]]:
    """Decide the step against the server's current matter (`shared.matters.decide_step`):
    the matter before and after, and the points the step earns; or the refusal."""
    matter_id = str(step.values.get("matter_id"))
    matter = view.live("matter", matter_id)
    if matter is None:
        raise Rejected("unknown_reference", "matter_id names no matter", "matter_id")
    who = view.who
    actor = Actor(
        user_id=who.user_id,
        role=Role.ADMIN if who.unlimited else who.role,
        org_id=who.org_id,
        grids=who.nodes,
    )
    decided = decide_step(matter.values, step.values, actor)
    if isinstance(decided, StepRefused):
        # Who moved it, by the name people know them by (and their id, which is stable).
        names = {uid: f"{name} ({uid})" for uid, name in view.user_names.items()}
        message = refusal_text(decided.code, decided.params, "en", names=names)
        raise Rejected(decided.code, message, decided.params.get("field"))
    now_text = _now_text(view)
    if now_text is not None:
        # The server's moment, not the phone's: "moved by whom and when" is the server's record.
        for name in ("state_at", "closed_at"):
            if name in decided and decided[name] == step.values.get("at"):
                decided[name] = now_text
    after = replace(
        matter,
        values={**matter.values, **decided},
        version=matter.version + 1,
        device_id=step.device_id,
    )
    credits: list[dict[str, Any]] = []
    category = view.rec("matter_category", matter.values.get("category_id"))
    if category is not None and view.now is not None:
        for credit in credits_for(
            matter.values,
            after.values,
            category.values,
            now=view.now,
            rating_window_days=view.rating_window_days,
        ):
            credits.append(
                {
                    "user_id": credit.user_id,
                    "matter_id": matter_id,
                    "kind": credit.kind,
                    "amount": credit.amount,
                }
            )
    return (matter_id, matter, after), credits


# --- business checks' matters (shared/inspection_matters.py) ------------------------------------


def _check_matters(op: Operation, check: Rec, view: View, decision: Decision) -> None:
    """What a newly applied business check does to matters, written with it: a matter for each
    failed item without an open one, a re-inspection step on each open one it marks (each step
    decided by `shared.matters.decide_step` like any other; one it refuses is left out)."""
    business_id = check.values.get("business_id")
    business = view.live("business", business_id)
    if business is None or not isinstance(business_id, str):
        return
    answers = []
    for raw in check.values.get("results") or []:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("item_id"), str):
            continue
        item = view.rec("checklist_item", raw["item_id"])
        answers.append(
            Answer(
                item_id=raw["item_id"],
                result=str(raw.get("result")),
                label=str(item.values.get("text") or "") if item is not None else "",
                note=str(raw.get("note") or ""),
                photos=tuple(raw.get("photos") or ()),
            )
        )
    known = [
        {**found.values, "id": matter_id}
        for matter_id in sorted(view.check_matters.get(business_id, ()))
        if (found := view.live("matter", matter_id)) is not None
    ]
    at = str(check.values.get("checked_at") or "")
    now = _now_text(view)
    outcome = decide_check(
        Check(
            id=op.record_id,
            business_id=business_id,
            business_name=str(business.values.get("name") or ""),
            grid_id=str(business.values.get("grid_id")),
            # A phone's clock may run ahead: nothing is re-inspected from the future.
            at=now if now is not None and (not at or at > now) else at,
            answers=tuple(answers),
            building_id=business.values.get("building_id"),
            place=str(business.values.get("address") or business.values.get("name") or ""),
        ),
        open_by_item(known),
    )
    defaults = view.defaults.get("matter", {})
    for values in outcome.new_matters:
        matter_id = values.pop("id")
        if view.rec("matter", matter_id) is not None:
            continue
        full = {n: values[n] if n in values else defaults.get(n) for n in ENTITIES["matter"].fields}
        full["place"] = str(full["place"] or "")[:200]
        clocks = {n: op.hlc for n, v in full.items() if v is not None}
        matter = _new_matter(Rec(full, clocks, 1, False, op.device_id), view)
        decision.writes.append((("matter", matter_id), matter))
        # Not the device's echo: the phone learns of the matter by pulling.
        decision.changes.append(("matter", matter_id, matter_routes(matter, view), False))
    step_defaults = view.defaults.get("matter_step", {})
    for values in outcome.steps:
        step_id = values.pop("id")
        if view.rec("matter_step", step_id) is not None:
            continue
        full = {
            n: values[n] if n in values else step_defaults.get(n)
            for n in ENTITIES["matter_step"].fields
        }
        step = Rec(
            full, {n: op.hlc for n, v in full.items() if v is not None}, 1, False, op.device_id
        )
        try:
            (matter_id, before, after), credits = _apply_step(step, view)
        except Rejected:
            continue
        keys = matter_routes(before, view) | matter_routes(after, view)
        decision.writes += [(("matter_step", step_id), step), (("matter", matter_id), after)]
        decision.changes += [
            ("matter_step", step_id, keys, False),
            ("matter", matter_id, keys, False),
        ]
        decision.credits += credits


# --- members' posts (shared/members.py) -------------------------------------------------------


def post_routes(entity: str, rec: Rec) -> set[str]:
    """The change-row keys of a post (its community's members: `pub:<community>`) and of a
    claim (its member: `user:<id>`), which a handler's pull reads (services/matter_sync.py)."""
    if entity == "post":
        community = rec.values.get("community_id")
        return {f"pub:{community}"} if community else set()
    user = rec.values.get("user_id")
    return {f"user:{user}"} if user else set()


def _claim_post(op: Operation, view: View) -> Decision:
    """A member claims a post: `shared.members.decide_claim` over the post (locked while the
    batch is decided) and its live claims; the post's `claimed` moves with the claim."""
    who = view.who
    if view.rec(op.entity, op.record_id) is not None:
        raise Rejected(
            "append_only", "a post_claim is never changed once recorded; record a new one instead"
        )
    if who.role != Role.HANDLER:
        raise Rejected("not_allowed", "posts are claimed by members, from their own phone")
    values, errors = check_values(op.entity, new_values(op), creating=True, today=view.today)
    if errors:
        first = errors[0]
        raise Rejected(first.code, "; ".join(str(e) for e in errors), first.field)
    if values.get("user_id") != who.user_id:
        raise Rejected("wrong_author", "a member claims a post for themselves", "user_id")
    post_id = str(values["post_id"])
    post = view.live("post", post_id)
    claims = view.claims_of.get(post_id, {})
    try:
        claimed = decide_claim(
            post.values if post is not None else None,
            claimant_id=who.user_id,
            claimant_communities=who.nodes,
            live_claimants=claims,
        )
    except ClaimRefused as refused:
        raise Rejected(refused.code, refused.message, "post_id") from refused
    assert post is not None  # decide_claim refuses a missing post
    claim = Rec(values, {name: op.hlc for name in values}, 1, device_id=op.device_id)
    after = replace(
        post, values={**post.values, "claimed": claimed}, version=post.version + 1, device_id=None
    )
    decision = Decision("applied", version=1)
    decision.writes += [((op.entity, op.record_id), claim), (("post", post_id), after)]
    decision.changes.append((op.entity, op.record_id, post_routes(op.entity, claim), True))
    # Every member of the community learns the post's new count (the claimant too: not an echo).
    decision.changes.append(("post", post_id, post_routes("post", after), False))
    decision.echo = as_sent(op, values)
    return decision
