"""Set-based apply of a push batch's plain creates: new places, people and bindings in bulk.

A phone that has just mapped its grid pushes thousands of creates of records the server has never
seen. Applied one at a time (a savepoint, an ORM flush, reference and scope lookups each) they
cost milliseconds apiece. Here the same checks run in memory against rows loaded once per batch
and the rows go in with one INSERT per entity (COPY on PostgreSQL).

Only what can be decided in memory is taken: a create, by a worker, of an id the server does not
have, whose values pass the rules, whose references and grids the batch can see, not held by a
duplicate conflict, and (for a resident) whose ID number is not taken. Everything else is left to
the per-operation path in `sync_server.services.push`, which gives the answer it always gave; the
push flushes what is planned here before each operation it runs that way, so the order of the batch
holds. If the bulk INSERT fails, its creates are replayed one by one on that path, where a bad one
is rejected alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from shared import hlc as hlc_mod
from shared.clock import china_date
from shared.merge import MergeRejected, MergeResult, Snapshot, merge
from shared.protocol import FieldChange, Operation, OpResult
from shared.records import check_values
from shared.schema import ENTITIES, LEAF_LEVEL
from sync_server.db import insert_rows
from sync_server.models import Binding, Building, GridNode, House, Resident, Unit
from sync_server.records import MODELS, column_values, wire_value
from sync_server.services.changes import ChangeSet
from sync_server.services.record_grids import resident_grids
from sync_server.services.scope import GridSet

# Inserted in this order: every reference among them points to an entity earlier in it.
BULK_ENTITIES = ("building", "unit", "house", "resident", "binding")

BindingIndex = Mapping[str, list[tuple[int, FieldChange | None]]]


@dataclass
class _Ref:
    """What the checks need of a record a create refers to."""

    grid_id: str | None = None  # a building's or house's grid
    building_id: str | None = None  # a unit's building
    level: int | None = None  # a grid node's level


@dataclass
class _Planned:
    position: int
    op: Operation
    row: dict[str, Any]
    grids: set[str]  # the grids of the change row, as the per-operation path computes them
    stored: dict[str, Any]  # the record's wire values once inserted


@dataclass(frozen=True)
class Planning:
    """What the set-based planners (creates here, edits in `push_edits`) read of their push."""

    session: Session
    user_id: str
    device_id: str
    grids: GridSet
    clock: hlc_mod.HLC
    now: datetime
    resident_grid_cache: dict[str, set[str]]  # the push's: residents' grids, kept current
    held: Callable[[Iterable[str]], bool]  # whether an open duplicate conflict holds an id
    restamped: set[str]  # the push's: op ids applied under the server's clock (never echoes)
    created: set[tuple[str, str]]  # the push's: records this batch created

    def echo_of(self, op: Operation, stored: dict[str, Any] | None) -> str | None:
        """The device whose echo this applied change is (see `as_sent`), or None."""
        if op.op_id in self.restamped or not as_sent(op, stored):
            return None
        return op.device_id

    def made_it(self, op: Operation) -> bool:
        """The operation is by the signed-in user on this device (else: rejected, one by one)."""
        return (op.device_id, op.user_id) == (self.device_id, self.user_id)


@dataclass
class Flushed:
    """What a flush did: results by batch position, and the operations to run one by one."""

    results: list[tuple[int, OpResult]] = field(default_factory=list)
    replay: list[tuple[int, Operation]] = field(default_factory=list)


class BulkCreates:
    """Plans the creates it can take, then inserts them together when `flush` is called."""

    def __init__(
        self,
        push: Planning,
        *,
        binding_creates: BindingIndex,
        absent: set[tuple[str, str]],
    ) -> None:
        self.push = push
        self.binding_creates = binding_creates
        self.absent = absent  # the push's: ids it looked for and did not find
        # Live records the batch may refer to (loaded once), and the ones planned here.
        self.refs: dict[tuple[str, str], _Ref] = {}
        self.checked: dict[str, tuple[dict[str, Any], bool]] = {}  # op_id -> (values, valid)
        self.id_numbers: set[str] = set()  # taken on the server, or touched in this batch
        self.pending: list[_Planned] = []
        self.op_ids: set[str] = set()

    # --- loading once per batch -----------------------------------------------------------------

    def preload(self, operations: list[Operation]) -> None:
        wanted: dict[str, set[str]] = {}
        id_numbers: set[str] = set()
        for op in operations:
            if op.kind != "create" or op.entity not in BULK_ENTITIES:
                continue
            values, errors = check_values(
                op.entity,
                {n: c.new for n, c in op.fields.items()},
                creating=True,
                today=china_date(self.push.now),
            )
            self.checked[op.op_id] = (values, not errors)
            for name, entity in _REFERENCES[op.entity]:
                if isinstance(values.get(name), str):
                    wanted.setdefault(entity, set()).add(values[name])
            if op.entity == "resident" and isinstance(values.get("id_number"), str):
                id_numbers.add(values["id_number"])
        for entity, ids in wanted.items():
            for chunk in _chunks(sorted(ids)):
                for record_id, ref in _load_refs(self.push.session, entity, chunk):
                    self.refs[(entity, record_id)] = ref
        for chunk in _chunks(sorted(id_numbers)):
            self.id_numbers.update(
                self.push.session.scalars(
                    select(Resident.id_number).where(
                        Resident.id_number.in_(chunk), Resident.deleted.is_(False)
                    )
                )
            )

    # --- planning -------------------------------------------------------------------------------

    def take(self, op: Operation, position: int) -> bool:
        """Plan `op` if it can be decided here; False leaves it to the per-operation path."""
        checked = self.checked.get(op.op_id)
        if (
            checked is None
            or not checked[1]
            or op.op_id in self.op_ids
            or (op.entity, op.record_id) not in self.absent
            or not self.push.made_it(op)
        ):
            return False
        values = checked[0]
        ids = [op.record_id]
        if op.entity == "binding":
            ids.append(str(values.get("resident_id")))
        if self.push.held(ids):
            return False
        grids = self._grids_if_allowed(op, values, position)
        if grids is None:
            return False
        result = merge_in_memory(self.push.clock, op, None, None, values)
        if result is None:
            return False
        spec = ENTITIES[op.entity]
        row = column_values(
            op.entity, {k: result.values[k] for k in result.changed if k in spec.fields}
        )
        row.update(
            id=op.record_id,
            version=1,
            clocks=dict(result.clocks),
            deleted=False,
            updated_by_user_id=self.push.user_id,
            updated_by_device_id=op.device_id,
        )
        stored = {
            name: wire_value(row[name])
            if name in row
            else (_DEFAULTED if name in _defaulted(op.entity) else None)
            for name in spec.fields
        }
        self.pending.append(_Planned(position, op, row, grids, stored))
        self.op_ids.add(op.op_id)
        self.refs[(op.entity, op.record_id)] = _Ref(
            grid_id=values.get("grid_id") if op.entity in ("building", "house") else None,
            building_id=values.get("building_id") if op.entity == "unit" else None,
        )
        if op.entity == "resident":
            self.id_numbers.add(values["id_number"])
        return True

    def _grids_if_allowed(
        self, op: Operation, values: dict[str, Any], position: int
    ) -> set[str] | None:
        """The record's grids if every reference is live and every grid is the worker's; None
        when the per-operation path must decide (and explain) it."""
        refs, leaves = self.refs, self.push.grids.leaves
        entity = op.entity
        if entity in ("building", "house"):
            grid = refs.get(("grid_node", values["grid_id"]))
            if grid is None or grid.level != LEAF_LEVEL or values["grid_id"] not in leaves:
                return None
        if entity in ("unit", "house"):
            building = refs.get(("building", values["building_id"]))
            if building is None or building.grid_id not in leaves:
                return None
            if entity == "unit":
                return {building.grid_id} if building.grid_id in leaves else None
        if entity == "house":
            unit_id = values.get("unit_id")
            if unit_id is not None:
                unit = refs.get(("unit", unit_id))
                if unit is None or unit.building_id != values["building_id"]:
                    return None
            return {values["grid_id"]}
        if entity == "building":
            return {values["grid_id"]}
        if entity == "binding":
            house = refs.get(("house", values["house_id"]))
            resident_id = values["resident_id"]
            if ("resident", resident_id) not in refs or house is None:
                return None
            # The person must be the worker's already (or new in this batch): a binding by UUID
            # is no way to reach someone of another grid.
            reachable = ("resident", resident_id) in self.push.created or bool(
                self.push.resident_grid_cache.get(resident_id, set()) & leaves
            )
            return {house.grid_id} if reachable and house.grid_id in leaves else None
        # A new resident: bound in this batch to houses in the worker's grids.
        if values["id_number"] in self.id_numbers:
            return None  # a duplicate, or maybe one: the per-operation path decides
        grids: set[str] = set()
        for at, house_id in self.binding_creates.get(op.record_id, ()):
            if at > position and house_id is not None:
                house = refs.get(("house", str(house_id.new)))
                if house is None:
                    return None
                grids.add(str(house.grid_id))
        return grids if grids and grids <= leaves else None

    def forget(self, op: Operation) -> None:
        """The per-operation path is about to run `op`: what was loaded of its record (or the
        ID number it sets) may no longer hold."""
        self.refs.pop((op.entity, op.record_id), None)
        id_number = op.fields.get("id_number")
        if op.entity == "resident" and id_number is not None:
            self.id_numbers.add(str(id_number.new))

    # --- writing --------------------------------------------------------------------------------

    def flush(self, changes: ChangeSet) -> Flushed:
        planned, self.pending = self.pending, []
        done = Flushed()
        if not planned:
            return done
        now = self.push.now
        try:
            with self.push.session.begin_nested():
                for entity in BULK_ENTITIES:
                    by_keys: dict[frozenset[str], list[dict[str, Any]]] = {}
                    for p in planned:
                        if p.op.entity == entity:
                            row = {**p.row, "updated_at": now}
                            by_keys.setdefault(frozenset(row), []).append(row)
                    for rows in by_keys.values():
                        insert_rows(self.push.session, _table(entity), rows)
        except (IntegrityError, DataError):
            for p in planned:
                self.refs.pop((p.op.entity, p.op.record_id), None)
            done.replay = [(p.position, p.op) for p in planned]
            return done
        self.absent.difference_update((p.op.entity, p.op.record_id) for p in planned)
        self.push.created.update((p.op.entity, p.op.record_id) for p in planned)
        bound = sorted({p.row["resident_id"] for p in planned if p.op.entity == "binding"})
        after = resident_grids(session=self.push.session, resident_ids=bound)
        for rid in bound:
            self.push.resident_grid_cache[rid] = set(after.get(rid, set()))
        for p in planned:
            changes.add(p.op.entity, p.op.record_id, p.grids, pending=True)
            if p.op.entity == "binding":
                # As the per-operation path: the person's grids may have grown, and a person found
                # at the door arrives with their first binding.
                now_in = after.get(p.row["resident_id"], set())
                changes.add("resident", p.row["resident_id"], now_in, pending=True)
                changes.add("binding", p.op.record_id, now_in, pending=True)
            changes.settle(p.op.entity, p.op.record_id, self.push.echo_of(p.op, p.stored))
            done.results.append(
                (
                    p.position,
                    OpResult(
                        op_id=p.op.op_id,
                        entity=p.op.entity,
                        record_id=p.op.record_id,
                        status="applied",
                        version=1,
                    ),
                )
            )
        return done


def merge_in_memory(
    clock: hlc_mod.HLC,
    op: Operation,
    base: Snapshot | None,
    mine: Snapshot | None,
    values: dict[str, Any],
) -> MergeResult | None:
    """Observe `op`'s clock and merge its checked `values` as the per-operation path does; None
    when that path must decide (a malformed clock, a merge that refuses)."""
    try:
        clock.observe(op.hlc)
    except hlc_mod.ClockDriftError:
        pass  # as the per-operation path: keep the change, not the phone's clock
    except hlc_mod.InvalidTimestamp:
        return None
    theirs = Snapshot(values, dict.fromkeys(values, op.hlc))
    try:
        return merge(op.entity, base, mine, theirs, theirs_clock=op.hlc)
    except MergeRejected:
        return None


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


_DEFAULTED = object()  # a field the INSERT leaves to its column default (not empty)


@cache
def _defaulted(entity: str) -> frozenset[str]:
    """Fields whose column has a default: left out of a create, they are not empty."""
    columns = _table(entity).columns
    return frozenset(name for name in ENTITIES[entity].fields if columns[name].default is not None)


# (field, entity it refers to) for each entity taken here.
_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "building": (("grid_id", "grid_node"),),
    "unit": (("building_id", "building"),),
    "house": (("grid_id", "grid_node"), ("building_id", "building"), ("unit_id", "unit")),
    "resident": (),
    "binding": (("resident_id", "resident"), ("house_id", "house")),
}


def _load_refs(session: Session, entity: str, ids: list[str]) -> Iterable[tuple[str, _Ref]]:
    """The live records among `ids`, with what the checks read of them."""
    if entity == "grid_node":
        for node_id, level in session.execute(
            select(GridNode.id, GridNode.level).where(
                GridNode.id.in_(ids), GridNode.deleted.is_(False)
            )
        ):
            yield node_id, _Ref(level=level)
    elif entity in ("building", "house"):
        model: type[Building] | type[House] = Building if entity == "building" else House
        for record_id, grid_id in session.execute(
            select(model.id, model.grid_id).where(model.id.in_(ids), model.deleted.is_(False))
        ):
            yield record_id, _Ref(grid_id=grid_id)
    elif entity == "unit":
        for record_id, building_id in session.execute(
            select(Unit.id, Unit.building_id).where(Unit.id.in_(ids), Unit.deleted.is_(False))
        ):
            yield record_id, _Ref(building_id=building_id)
    else:
        model_r: type[Resident] | type[Binding] = Resident if entity == "resident" else Binding
        for record_id in session.scalars(
            select(model_r.id).where(model_r.id.in_(ids), model_r.deleted.is_(False))
        ):
            yield record_id, _Ref()


def _table(entity: str) -> Table:
    return cast(Table, MODELS[entity].__table__)  # type: ignore[attr-defined]


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
