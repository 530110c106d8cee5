"""The field-level three-way merge: one pure function used by both sides of a sync.

On the server, `merge(entity, base, mine, theirs)` decides what a device's change does to the
authoritative row: `mine` is the server row, `theirs` the device's operation and `base` the
values the device saw before editing. On the device, after a pull, the same call with
`mine` = the freshly pulled server row and `theirs` = a pending operation shows what the server
will hold once the operation is pushed (`rebase` is that call under its device-side name). Because
both sides run this one deterministic function, the device's preview and the server's outcome
cannot disagree.

Inputs
    `Snapshot.values` maps field names to values and `Snapshot.clocks` maps the same names to the
    HLC timestamp (`shared.hlc`) of the write that set each one. `theirs` need only hold the
    fields it changed; `base` must then hold the base value of each of them. `mine` may hold
    extra columns (id, version, ...): they pass through untouched.

Rules, per field that `theirs` holds (b, m, t = base, mine, theirs values)
    - t equals b: theirs did not change it; mine's value stays.
    - m equals b: only theirs changed it; t is applied.
    - both changed it to the same value: no conflict.
    - both changed it to different values, by the field's `Policy`:
        MANUAL  mine's value stays and a `FieldConflict` (b, m, t) is recorded for an admin.
        LWW     the value with the later clock wins (ties: a canonical form of the value decides,
                so every node picks the same winner); a loss is listed in `superseded`.
                LWW fields behave as a last-writer-wins register whenever theirs changed the
                field, so devices converge whatever order their changes arrive in.
        UNION   a set of strings: (m ∪ added by theirs) − removed by theirs, additions and
                removals taken relative to b; the result is sorted.
    "Equal" compares UNION values as sets, other values with `==`.

Creation and deletion
    - base None and mine None: a create, applied as is (UNION values sorted).
    - base None but mine exists (two devices created the same id): base is taken as all-None,
      so fields that differ follow the policies above.
    - base given but mine None: the record does not exist at the authority → `MergeRejected`.
    - theirs deletes while mine is unchanged since base → the deletion is applied (mine's values
      stay in the tombstone). Theirs deletes while mine changed any field since base (among the
      fields base holds), or theirs edits fields while mine is deleted → a delete-vs-edit
      conflict: mine is kept, `kind` is "delete_conflict" and the conflict's field is `DELETED`.
      A deletion compares `deleted` three-way too, so theirs restoring a record deleted in base
      un-deletes it. A deleting operation's values are ignored.

Result
    `MergeResult.kind` is "unchanged" (values, clocks and deleted all equal mine's), "applied"
    (only theirs changed things), "merged" (mine had also changed some field base holds),
    "conflict" (a MANUAL field needs an admin; the rest is merged) or "delete_conflict".
    A later clock for an unchanged LWW value counts as "applied" so the authority stores it.

Rejections
    Invalid input from `theirs` raises `MergeRejected`, a `shared.errors.ValidationFailed` whose
    single `FieldError` names the field and carries a stable code: `unknown_entity`,
    `unknown_field` (not in the `EntitySpec`), `not_device_writable`, `not_device_creatable`,
    `no_such_record`, `missing_base` (base lacks a field theirs changes: treating it as None
    could drop the change silently), `missing_clock` (an LWW change without a timestamp cannot
    be ordered), `bad_clock`, `not_a_set` (a UNION value that is not a list of strings).
    The device checks are skipped with `from_device=False` (an admin's edit on the server).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared import hlc
from shared.errors import FieldError, ValidationFailed
from shared.schema import ENTITIES, EntitySpec, Policy

DELETED = "_deleted"
"""The field name of a delete-vs-edit conflict."""
RECORD = "_record"
"""The field name of a rejection about the whole record (`no_such_record`, `not_device_creatable`)."""

MergeKind = Literal["unchanged", "applied", "merged", "conflict", "delete_conflict"]


class MergeRejected(ValidationFailed):
    """The incoming change cannot be merged at all; nothing was applied."""

    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__([FieldError(field_name, code, message)])

    @property
    def field(self) -> str:
        return self.errors[0].field

    @property
    def code(self) -> str:
        return self.errors[0].code


@dataclass(frozen=True)
class Snapshot:
    """One side's view of a record: field values, the clock of each value's write, deletion."""

    values: Mapping[str, Any]
    clocks: Mapping[str, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass(frozen=True)
class FieldConflict:
    """A field both sides changed to different values that only a person can reconcile."""

    field: str
    base: Any
    mine: Any
    theirs: Any


@dataclass(frozen=True)
class MergeResult:
    """What the authority should hold after the merge, and how it came about."""

    values: dict[str, Any]
    clocks: dict[str, str]
    deleted: bool
    conflicts: tuple[FieldConflict, ...]
    changed: frozenset[str]  # fields whose value differs from mine's
    kind: MergeKind
    superseded: frozenset[str] = frozenset()  # theirs' LWW changes beaten by a later write

    @property
    def has_conflict(self) -> bool:
        return self.kind in ("conflict", "delete_conflict")

    def snapshot(self) -> Snapshot:
        """The result as the `mine` of a following merge (e.g. the next pending operation)."""
        return Snapshot(dict(self.values), dict(self.clocks), self.deleted)


def diff_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields whose value differs, as {field: (old, new)}; a missing key counts as None.

    The device builds an operation from this: theirs.values = the new values, base.values = the
    old ones.
    """
    return {
        name: (before.get(name), after.get(name))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    }


def merge(
    entity: EntitySpec | str,
    base: Snapshot | None,
    mine: Snapshot | None,
    theirs: Snapshot,
    *,
    theirs_clock: str | None = None,
    from_device: bool = True,
) -> MergeResult:
    """Merge the change `theirs` (made on top of `base`) into `mine`; see the module docstring.

    `theirs_clock` is the operation's timestamp, used for fields missing from `theirs.clocks`.
    """
    spec = _entity_spec(entity)
    _check_fields(spec, base, theirs, from_device=from_device)
    _check_clocks(theirs, theirs_clock)

    def their_clock(name: str) -> str | None:
        return theirs.clocks.get(name, theirs_clock)

    if mine is None:
        if base is not None:
            raise MergeRejected(
                RECORD,
                "no_such_record",
                f"The {spec.name} record changed on the device does not exist on the server.",
            )
        return _create(spec, theirs, their_clock)

    # base None with an existing mine: two creates of the same id; an all-None base lets the
    # policies decide each field that differs.
    base_snap = base if base is not None else Snapshot({})
    mine_changed_any = (base is not None and mine.deleted != base.deleted) or any(
        not _equal(spec, f, mine.values.get(f), base_snap.values.get(f))
        for f in _fields_to_check(spec, base, mine, theirs)
    )

    deleted = mine.deleted
    if theirs.deleted and not base_snap.deleted:  # theirs deletes
        if mine.deleted:
            return _unchanged(mine)
        if mine_changed_any:
            return _delete_conflict(mine, base_snap, theirs)
        return _result(mine, dict(mine.values), dict(mine.clocks), True, (), frozenset(), False)
    if theirs.deleted:
        # Deleted in base and still deleted in theirs: theirs changes nothing (a deleting
        # operation's values are ignored), whatever mine did since.
        return _unchanged(mine)
    if base_snap.deleted:
        deleted = False  # theirs restores a record deleted in base; its fields merge as usual
    elif mine.deleted and _their_changes(spec, base_snap, theirs):
        return _delete_conflict(mine, base_snap, theirs)

    values = dict(mine.values)
    clocks = dict(mine.clocks)
    conflicts: list[FieldConflict] = []
    superseded: set[str] = set()
    for name, t in theirs.values.items():
        b = base_snap.values.get(name)
        m = mine.values.get(name)
        if _equal(spec, name, t, b):
            continue  # theirs did not change it
        policy = spec.policy(name)
        t_clock = their_clock(name)
        if policy is Policy.LWW:
            if t_clock is None:
                raise _missing_clock(name)
            winner = _lww_winner(m, mine.clocks.get(name, ""), t, t_clock)
            if winner is None:  # same value: keep it, remember the later write
                clocks[name] = max(clocks.get(name, ""), t_clock)
            elif winner == "theirs":
                values[name] = t
                clocks[name] = t_clock
            else:
                superseded.add(name)
        elif _equal(spec, name, m, b):
            values[name] = _normalise(spec, name, t)
            _set_clock(clocks, name, t_clock)
        elif _equal(spec, name, m, t):
            continue  # both made the same change
        elif policy is Policy.UNION:
            before, mine_set, their_set = (_as_set(name, v) for v in (b, m, t))
            merged = (mine_set | (their_set - before)) - (before - their_set)
            if merged != mine_set:
                values[name] = sorted(merged)
                _set_clock(clocks, name, max(mine.clocks.get(name, ""), t_clock or "") or None)
        else:  # MANUAL: an admin decides; mine stays meanwhile
            conflicts.append(FieldConflict(name, b, m, t))

    return _result(
        mine, values, clocks, deleted, tuple(conflicts), frozenset(superseded), mine_changed_any
    )


def rebase(
    entity: EntitySpec | str,
    base: Snapshot | None,
    server: Snapshot | None,
    pending: Snapshot,
    *,
    pending_clock: str | None = None,
) -> MergeResult:
    """On the device, after a pull: what the server will hold once `pending` is pushed.

    The same call as the server makes, `merge(base, mine=server, theirs=pending)`. For several
    pending operations on one record, fold them in order, passing the previous result's
    `snapshot()` as `server`.
    """
    return merge(entity, base, server, pending, theirs_clock=pending_clock)


# --- helpers ---------------------------------------------------------------------------------


def _entity_spec(entity: EntitySpec | str) -> EntitySpec:
    if isinstance(entity, EntitySpec):
        return entity
    spec = ENTITIES.get(entity)
    if spec is None:
        raise MergeRejected("entity", "unknown_entity", f"There is no entity named {entity!r}.")
    return spec


def _check_fields(
    spec: EntitySpec, base: Snapshot | None, theirs: Snapshot, *, from_device: bool
) -> None:
    if from_device and base is None and not theirs.deleted and not spec.device_creatable:
        raise MergeRejected(
            RECORD, "not_device_creatable", f"A {spec.name} cannot be created on a device."
        )
    for name in theirs.values:
        field_spec = spec.fields.get(name)
        if field_spec is None:
            raise MergeRejected(
                name, "unknown_field", f"The {spec.name} entity has no field {name!r}."
            )
        if from_device and not field_spec.device_writable:
            raise MergeRejected(
                name,
                "not_device_writable",
                f"The field {name!r} of a {spec.name} cannot be changed on a device.",
            )
        if base is not None and not theirs.deleted and name not in base.values:
            raise MergeRejected(
                name,
                "missing_base",
                f"The change to {name!r} does not say what the value was before it.",
            )
        if field_spec.policy is Policy.UNION:
            _as_set(name, theirs.values[name])


def _check_clocks(theirs: Snapshot, theirs_clock: str | None) -> None:
    # An operation stamps every field it changes with its one clock: each distinct timestamp
    # is checked once, and the first field holding a bad one is named.
    good: set[str] = set()
    for name, ts in [*theirs.clocks.items(), ("clock", theirs_clock)]:
        if ts is None or (isinstance(ts, str) and ts in good):
            continue
        if not hlc.is_timestamp(ts):
            raise MergeRejected(name, "bad_clock", f"{ts!r} is not a valid HLC timestamp.")
        good.add(ts)


def _create(
    spec: EntitySpec, theirs: Snapshot, their_clock: Callable[[str], str | None]
) -> MergeResult:
    values = {name: _normalise(spec, name, v) for name, v in theirs.values.items()}
    clocks: dict[str, str] = {}
    for name, value in values.items():
        ts = their_clock(name)
        if ts is not None:
            clocks[name] = ts
        elif spec.policy(name) is Policy.LWW and value is not None:
            raise _missing_clock(name)
    return MergeResult(
        values, clocks, theirs.deleted, (), frozenset(values), "applied", frozenset()
    )


def _fields_to_check(
    spec: EntitySpec, base: Snapshot | None, mine: Snapshot, theirs: Snapshot
) -> list[str]:
    """The schema fields over which "mine changed since base" can be judged."""
    known = base.values.keys() if base is not None else mine.values.keys()
    return sorted(n for n in known | theirs.values.keys() if n in spec.fields)


def _their_changes(spec: EntitySpec, base: Snapshot, theirs: Snapshot) -> bool:
    return any(not _equal(spec, n, v, base.values.get(n)) for n, v in theirs.values.items())


def _lww_winner(
    mine_value: Any, mine_clock: str, their_value: Any, their_clock: str
) -> Literal["mine", "theirs"] | None:
    """Which write a last-writer-wins register keeps; None when the values are equal."""
    if mine_value == their_value:
        return None
    mine_key = (mine_clock, _canonical(mine_value))
    their_key = (their_clock, _canonical(their_value))
    return "theirs" if their_key > mine_key else "mine"


def _missing_clock(name: str) -> MergeRejected:
    return MergeRejected(
        name,
        "missing_clock",
        "A last-writer-wins change must carry the HLC timestamp of its write.",
    )


def _canonical(value: Any) -> str:
    # A stable, total order on arbitrary JSON-ish values for clock ties: every node must pick
    # the same winner, so Python object identity or hash order cannot be used.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _set_clock(clocks: dict[str, str], name: str, ts: str | None) -> None:
    # A value without a clock must not keep the clock of the value it replaced.
    if ts is None:
        clocks.pop(name, None)
    else:
        clocks[name] = ts


def _equal(spec: EntitySpec, name: str, a: Any, b: Any) -> bool:
    if spec.policy(name) is Policy.UNION:
        return _as_set(name, a) == _as_set(name, b)
    return bool(a == b)


def _normalise(spec: EntitySpec, name: str, value: Any) -> Any:
    if spec.policy(name) is Policy.UNION and value is not None:
        return sorted(_as_set(name, value))
    return value


def _as_set(name: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise _not_a_set(name)
    items = list(value)
    if not all(isinstance(item, str) for item in items):
        raise _not_a_set(name)
    return frozenset(items)


def _not_a_set(name: str) -> MergeRejected:
    # The value itself stays out of the message: tags are personal information.
    return MergeRejected(name, "not_a_set", f"The field {name!r} must be a list of strings.")


def _unchanged(mine: Snapshot) -> MergeResult:
    return MergeResult(
        dict(mine.values), dict(mine.clocks), mine.deleted, (), frozenset(), "unchanged"
    )


def _delete_conflict(mine: Snapshot, base: Snapshot, theirs: Snapshot) -> MergeResult:
    conflict = FieldConflict(DELETED, base.deleted, mine.deleted, theirs.deleted)
    return MergeResult(
        dict(mine.values),
        dict(mine.clocks),
        mine.deleted,
        (conflict,),
        frozenset(),
        "delete_conflict",
    )


def _result(
    mine: Snapshot,
    values: dict[str, Any],
    clocks: dict[str, str],
    deleted: bool,
    conflicts: tuple[FieldConflict, ...],
    superseded: frozenset[str],
    mine_changed_any: bool,
) -> MergeResult:
    changed = frozenset(n for n in values if values[n] != mine.values.get(n))
    kind: MergeKind
    if conflicts:
        kind = "conflict"
    elif values == dict(mine.values) and clocks == dict(mine.clocks) and deleted == mine.deleted:
        kind = "unchanged"
    elif mine_changed_any:
        kind = "merged"
    else:
        kind = "applied"
    return MergeResult(values, clocks, deleted, conflicts, changed, kind, superseded)
