"""The bridge between synced ORM rows and the shared schema's field values (the wire form).

One entity name maps to one model; values travel as JSON-friendly types (dates as ISO strings),
and `assign` writes them back, deriving what a resident's ID number implies (sex, birth date).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.clock import format_timestamp
from shared.merge import Snapshot
from shared.protocol import RecordState
from shared.schema import ENTITIES
from shared.validation import IdNumberInfo, parse_id_number
from sync_server.models import (
    Binding,
    Building,
    Business,
    BusinessCheck,
    BusinessType,
    Campaign,
    ChecklistItem,
    CompletionMark,
    GridNode,
    House,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    Outcome,
    Post,
    PostClaim,
    Resident,
    SyncedMixin,
    Unit,
    Visit,
)

MODELS: dict[str, type[SyncedMixin]] = {
    "grid_node": GridNode,
    "building": Building,
    "unit": Unit,
    "house": House,
    "resident": Resident,
    "binding": Binding,
    "visit": Visit,
    "campaign": Campaign,
    "completion": CompletionMark,
    "outcome": Outcome,
    "org": Org,
    "matter_category": MatterCategory,
    "matter": Matter,
    "matter_step": MatterStep,
    "business_type": BusinessType,
    "checklist_item": ChecklistItem,
    "business": Business,
    "business_check": BusinessCheck,
    "post": Post,
    "post_claim": PostClaim,
}
ENTITY_OF: dict[type[SyncedMixin], str] = {model: name for name, model in MODELS.items()}


def wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [dict(v) if isinstance(v, dict) else v for v in value]
    return value


def values_of(entity: str, row: SyncedMixin) -> dict[str, Any]:
    return {name: wire_value(getattr(row, name)) for name in ENTITIES[entity].fields}


def snapshot_of(entity: str, row: SyncedMixin | None) -> Snapshot | None:
    if row is None:
        return None
    return Snapshot(values_of(entity, row), dict(row.clocks or {}), bool(row.deleted))


def state_of(entity: str, row: SyncedMixin) -> RecordState:
    """The record as a pull sends it. A tombstone carries its entity, id and version only: a
    discarded duplicate's name and ID number have no business reaching every phone in scope."""
    if row.deleted:
        return RecordState(entity=entity, id=row.id, version=row.version, deleted=True, values={})
    return RecordState(
        entity=entity,
        id=row.id,
        version=row.version,
        values=values_of(entity, row),
        clocks=dict(row.clocks or {}),
    )


def assign(entity: str, row: SyncedMixin, values: dict[str, Any]) -> None:
    """Write wire values onto a row, converting types and deriving dependent columns."""
    for name, value in column_values(entity, values).items():
        setattr(row, name, value)


def column_values(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Wire values as the columns hold them: types converted, dependent columns derived (a
    resident's sex and birth date come from the ID number)."""
    fields = ENTITIES[entity].fields
    out: dict[str, Any] = {}
    for name, value in values.items():
        spec = fields[name]
        if spec.kind == "date" and isinstance(value, str):
            value = date.fromisoformat(value)
        elif spec.kind == "datetime" and isinstance(value, str):
            value = datetime.fromisoformat(value)
        elif spec.kind == "json":
            value = [dict(item) for item in value or []]
        elif name == "photos":
            value = list(value or [])  # in the order taken: the first is the one shown
        elif spec.kind == "tags":
            value = sorted(set(value or []))
        out[name] = value
    if entity == "resident" and "id_number" in values:
        # Checked when it was received; here only its facts are read (no judgement against today).
        info = parse_id_number(values["id_number"], today=None)
        if isinstance(info, IdNumberInfo):
            out["sex"] = info.sex
            out["birth_date"] = info.birth_date
    return out
