"""Loading a push's view: everything its batch can touch, read set-based, once.

The records the operations target (locked for the transaction), every record their values and
those records refer to, the bindings of every person involved and the houses of those bindings
(a person's grids follow them), what a delete would leave behind, the live ID numbers the batch
sets, and the open duplicate conflicts that hold any of its records. A few statements per
entity, whatever the batch's size; `push_rules.decide` then reads only this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from shared.inspection_matters import CATEGORY_ID
from shared.matters import OPEN_STATES
from shared.protocol import Operation
from shared.schema import ENTITIES
from sync_server.models import (
    Binding,
    ChecklistItem,
    ConflictRecord,
    House,
    Matter,
    MatterStep,
    PostClaim,
    Resident,
    Unit,
    User,
)
from sync_server.records import MODELS, wire_value
from sync_server.services.push_rules import Key, Rec, View, Who, references_of

_CHUNK = 500


def load_view(
    session: Session,
    *,
    who: Who,
    ops: list[Operation],
    today: date,
    moved_since: str,
    binding_creates: dict[str, list[tuple[int, str | None]]],
    new_id: Callable[[], str],
) -> View:
    view = View(
        who=who,
        today=today,
        moved_since=moved_since,
        binding_creates=binding_creates,
        defaults=_defaults(),
        new_id=new_id,
    )
    # Keys looked up and not found: a record the batch creates is not asked for again as the
    # reference of another of its operations (a binding's new person and house).
    absent: set[Key] = set()
    targets: set[Key] = {(op.entity, op.record_id) for op in ops}
    # A step moves its matter: the matter is locked too, so two steps on one matter (two
    # verifications racing) are decided one after the other, the second against the first.
    targets |= {
        ("matter", op.fields["matter_id"].new)
        for op in ops
        if op.entity == "matter_step"
        and "matter_id" in op.fields
        and isinstance(op.fields["matter_id"].new, str)
    }
    # A claim moves its post's count: the post is locked too, so claims racing for its last
    # place (through any number of server processes) are decided one after the other.
    targets |= {
        ("post", op.fields["post_id"].new)
        for op in ops
        if op.entity == "post_claim"
        and "post_id" in op.fields
        and isinstance(op.fields["post_id"].new, str)
    }
    _load(session, view, targets, lock=True, absent=absent)
    wanted: set[Key] = set()
    for op in ops:
        wanted.update(references_of(op.entity, {n: c.new for n, c in op.fields.items()}))
        if op.entity == "resident" and op.kind == "create":
            # The houses a new person's bindings name (they decide the person's grids).
            wanted.update(("house", h) for _, h in binding_creates.get(op.record_id, ()) if h)
    _load(session, view, wanted, absent=absent)
    # What the loaded records refer to: a unit's building, a binding's house, a house's unit.
    _load(session, view, _references_in(view), absent=absent)
    _load(session, view, _references_in(view), absent=absent)

    # Every person involved, however they came in (targeted, bound, visited, recorded).
    residents = sorted(i for e, i in view.records if e == "resident")
    _load_bindings(session, view, Binding.resident_id, residents)
    deleted = [op for op in ops if op.kind == "delete"]
    _load_bindings(
        session, view, Binding.house_id, [op.record_id for op in deleted if op.entity == "house"]
    )
    _load(session, view, _references_in(view))  # the houses of those bindings
    _load_children(session, view, deleted)
    _load_id_numbers(session, view, ops)
    _load_held(session, view, ops)
    _load_users(session, view, ops)
    _load_steps_of(session, view, ops)
    _load_checklists(session, view, ops)
    _load_check_matters(session, view, ops)
    _load_claims_of(session, view)
    return view


def _load_checklists(session: Session, view: View, ops: list[Operation]) -> None:
    """The checklist items (id -> code) of the business types that the batch's checks name
    through their businesses, so a check's every answer is judged against its type's list."""
    types: set[str] = set()
    for op in ops:
        # A business added at the door is often checked in the same batch.
        if op.entity == "business" and "business_type_id" in op.fields:
            type_id = op.fields["business_type_id"].new
            if isinstance(type_id, str):
                types.add(type_id)
        if op.entity != "business_check" or "business_id" not in op.fields:
            continue
        business = view.rec("business", op.fields["business_id"].new)
        type_id = business.values.get("business_type_id") if business is not None else None
        if isinstance(type_id, str):
            types.add(type_id)
    for type_id in sorted(types):
        view.checklists[type_id] = dict(
            session.execute(
                select(ChecklistItem.id, ChecklistItem.code).where(
                    ChecklistItem.business_type_id == type_id,
                    ChecklistItem.deleted.is_(False),
                )
            ).all()
        )


def _load(
    session: Session,
    view: View,
    keys: Iterable[Key],
    *,
    lock: bool = False,
    absent: set[Key] | None = None,
) -> None:
    """Load the records of `keys` the view lacks; those not found are added to `absent`, and
    keys already in it are not looked up again."""
    by_entity: dict[str, set[str]] = {}
    for key in keys:
        if key not in view.records and key[0] in MODELS and (absent is None or key not in absent):
            by_entity.setdefault(key[0], set()).add(key[1])
    for entity, ids in sorted(by_entity.items()):
        table = _table(entity)
        names = list(ENTITIES[entity].fields)
        columns = [table.c.id, table.c.version, table.c.deleted, table.c.clocks]
        columns += [table.c.updated_by_device_id, *(table.c[n] for n in names)]
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            query = select(*columns).where(table.c.id.in_(ordered[start : start + _CHUNK]))
            if lock:
                query = query.with_for_update()
            for record_id, version, deleted, clocks, device_id, *values in session.execute(query):
                rec = Rec(
                    {
                        n: v if v is None or type(v) is str or type(v) is int else wire_value(v)
                        for n, v in zip(names, values, strict=True)
                    },
                    dict(clocks or {}),
                    version,
                    bool(deleted),
                    device_id,
                )
                view.records[(entity, record_id)] = rec
                if entity == "binding":
                    _index_binding(view, record_id, rec)
        if absent is not None:
            absent.update((entity, i) for i in ids if (entity, i) not in view.records)


def _index_binding(view: View, binding_id: str, rec: Rec) -> None:
    for name, of in (("resident_id", "resident"), ("house_id", "house")):
        ref = rec.values.get(name)
        if isinstance(ref, str):
            view.bindings_of.setdefault((of, ref), set()).add(binding_id)


def _references_in(view: View) -> set[Key]:
    return {
        key
        for (entity, _), rec in list(view.records.items())
        for key in references_of(entity, rec.values)
        if key not in view.records
    }


def _load_bindings(session: Session, view: View, column: Any, ids: list[str]) -> None:
    """The live bindings naming any of `ids` (residents or houses), with their rows."""
    found: set[Key] = set()
    unique = sorted(set(ids))
    for start in range(0, len(unique), _CHUNK):
        found.update(
            ("binding", binding_id)
            for binding_id in session.scalars(
                select(Binding.id).where(
                    column.in_(unique[start : start + _CHUNK]), Binding.deleted.is_(False)
                )
            )
        )
    _load(session, view, found)
    for entity, record_id in found:
        rec = view.records.get((entity, record_id))
        if rec is not None:
            _index_binding(view, record_id, rec)


def _load_children(session: Session, view: View, deletes: list[Operation]) -> None:
    """The live units and houses of the buildings and units the batch deletes."""
    buildings = sorted({op.record_id for op in deletes if op.entity == "building"})
    units = sorted({op.record_id for op in deletes if op.entity == "unit"})
    for start in range(0, len(buildings), _CHUNK):
        chunk = buildings[start : start + _CHUNK]
        for unit_id, building_id in session.execute(
            select(Unit.id, Unit.building_id).where(
                Unit.building_id.in_(chunk), Unit.deleted.is_(False)
            )
        ):
            view.children.setdefault(("building", building_id), set()).add(("unit", unit_id))
        for house_id, building_id in session.execute(
            select(House.id, House.building_id).where(
                House.building_id.in_(chunk), House.deleted.is_(False)
            )
        ):
            view.children.setdefault(("building", building_id), set()).add(("house", house_id))
    for start in range(0, len(units), _CHUNK):
        for house_id, in_unit in session.execute(
            select(House.id, House.unit_id).where(
                House.unit_id.in_(units[start : start + _CHUNK]), House.deleted.is_(False)
            )
        ):
            view.children.setdefault(("unit", str(in_unit)), set()).add(("house", house_id))
    _load(session, view, {key for keys in view.children.values() for key in keys})


def _load_id_numbers(session: Session, view: View, ops: list[Operation]) -> None:
    """Which living person holds each ID number the batch sets (as sent, and as normalised)."""
    wanted: set[str] = set()
    for op in ops:
        change = op.fields.get("id_number") if op.entity == "resident" else None
        if change is not None and isinstance(change.new, str):
            raw = change.new.strip()
            wanted.update({raw, raw.upper()})
    ordered = sorted(wanted)
    for start in range(0, len(ordered), _CHUNK):
        for resident_id, id_number in session.execute(
            select(Resident.id, Resident.id_number).where(
                Resident.id_number.in_(ordered[start : start + _CHUNK]),
                Resident.deleted.is_(False),
            )
        ):
            view.id_numbers[id_number] = resident_id
    # The holders themselves: a duplicate conflict shows their values beside the device's.
    _load(session, view, {("resident", rid) for rid in view.id_numbers.values()})
    for (entity, record_id), rec in view.records.items():
        if entity == "resident" and not rec.deleted and rec.values.get("id_number"):
            view.id_numbers.setdefault(rec.values["id_number"], record_id)


def _load_held(session: Session, view: View, ops: list[Operation]) -> None:
    # Only people are ever held (a duplicate conflict's record is the new resident): the
    # residents the batch changes, binds or records outcomes of.
    ids = {op.record_id for op in ops if op.entity == "resident"}
    ids |= {
        str(op.fields["resident_id"].new)
        for op in ops
        if op.entity in ("binding", "outcome") and "resident_id" in op.fields
    }
    ordered = sorted(ids)
    for start in range(0, len(ordered), _CHUNK):
        for record_id, conflict_id in session.execute(
            select(ConflictRecord.record_id, ConflictRecord.id).where(
                ConflictRecord.kind == "duplicate",
                ConflictRecord.status == "open",
                ConflictRecord.record_id.in_(ordered[start : start + _CHUNK]),
            )
        ):
            view.held[record_id] = conflict_id


def _load_users(session: Session, view: View, ops: list[Operation]) -> None:
    """The users a step dispatches to (their role and organisation, if active), and who last
    moved the matters the batch steps on (named in a `stale_transition`)."""
    wanted = {
        op.fields["user_id"].new
        for op in ops
        if op.entity == "matter_step"
        and "user_id" in op.fields
        and isinstance(op.fields["user_id"].new, str)
    }
    wanted |= {
        str(rec.values["state_by"])
        for (entity, _), rec in view.records.items()
        if entity == "matter" and rec.values.get("state_by")
    }
    ids = sorted(wanted)
    for start in range(0, len(ids), _CHUNK):
        for user_id, role, org_id, active, name, username in session.execute(
            select(
                User.id, User.role, User.org_id, User.active, User.display_name, User.username
            ).where(User.id.in_(ids[start : start + _CHUNK]))
        ):
            if active:
                view.users[user_id] = (role, org_id)
            view.user_names[user_id] = name or username


def _load_steps_of(session: Session, view: View, ops: list[Operation]) -> None:
    """The ids of the steps already made on the matters the batch steps on: a step that gives
    its matter a new reader (a dispatch, a publication) sends them the earlier ones too."""
    ids = sorted(
        {
            op.fields["matter_id"].new
            for op in ops
            if op.entity == "matter_step"
            and "matter_id" in op.fields
            and isinstance(op.fields["matter_id"].new, str)
        }
    )
    _load_steps_of_matters(session, view, ids)


def _load_steps_of_matters(session: Session, view: View, ids: list[str]) -> None:
    for start in range(0, len(ids), _CHUNK):
        for step_id, matter_id in session.execute(
            select(MatterStep.id, MatterStep.matter_id).where(
                MatterStep.matter_id.in_(ids[start : start + _CHUNK]),
                MatterStep.deleted.is_(False),
            )
        ):
            view.steps_of.setdefault(matter_id, set()).add(step_id)


def _load_check_matters(session: Session, view: View, ops: list[Operation]) -> None:
    """For the batch's new business checks: the open matters earlier checks of their businesses
    opened (locked, so two checks of one business are decided one after the other), the
    checklist items they answer (their words become the matter's), and the category."""
    checks = [op for op in ops if op.entity == "business_check" and op.kind == "create"]
    if not checks:
        return
    businesses = sorted(
        {
            str(op.fields["business_id"].new)
            for op in checks
            if "business_id" in op.fields and isinstance(op.fields["business_id"].new, str)
        }
    )
    found: set[Key] = set()
    for start in range(0, len(businesses), _CHUNK):
        for matter_id, business_id in session.execute(
            select(Matter.id, Matter.business_id).where(
                Matter.business_id.in_(businesses[start : start + _CHUNK]),
                Matter.state.in_(sorted(OPEN_STATES)),
                Matter.deleted.is_(False),
            )
        ):
            view.check_matters.setdefault(str(business_id), set()).add(matter_id)
            found.add(("matter", matter_id))
    _load(session, view, found, lock=True)
    items: set[Key] = {("matter_category", CATEGORY_ID)}
    for op in checks:
        results = op.fields["results"].new if "results" in op.fields else None
        for answer in results if isinstance(results, list) else ():
            if isinstance(answer, dict) and isinstance(answer.get("item_id"), str):
                items.add(("checklist_item", answer["item_id"]))
    _load(session, view, items)
    _load(session, view, _references_in(view))  # the re-inspected matters' grids
    _load_steps_of_matters(session, view, sorted(m for _, m in found))
    _load_users(session, view, [])


def _load_claims_of(session: Session, view: View) -> None:
    """The live claims of the posts the batch claims (read after the posts were locked, so a
    claim committed meanwhile by another process is counted)."""
    ids = sorted(i for e, i in view.records if e == "post")
    for start in range(0, len(ids), _CHUNK):
        for claim_id, post_id, user_id in session.execute(
            select(PostClaim.id, PostClaim.post_id, PostClaim.user_id).where(
                PostClaim.post_id.in_(ids[start : start + _CHUNK]),
                PostClaim.deleted.is_(False),
            )
        ):
            view.claims_of.setdefault(post_id, {})[claim_id] = user_id


@cache
def _defaults() -> dict[str, dict[str, Any]]:
    """What each column default puts in a field a create leaves out ('' for text, [] for tags,
    `permanent` for a residence status)."""
    out: dict[str, dict[str, Any]] = {}
    for entity, spec in ENTITIES.items():
        columns = _table(entity).columns
        for name in spec.fields:
            default = columns[name].default
            if default is None:
                continue
            arg = default.arg  # type: ignore[attr-defined]
            value = arg(None) if callable(arg) else arg
            out.setdefault(entity, {})[name] = wire_value(value)
    return out


def _table(entity: str) -> Table:
    return cast(Table, MODELS[entity].__table__)  # type: ignore[attr-defined]
