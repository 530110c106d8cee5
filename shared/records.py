"""Checking and normalising a record's field values, per entity, the same on device and server.

`check_values(entity, values, creating=...)` returns the normalised values and a list of
`FieldError`s, one per bad field, so a form can show every problem at once and the server can
reject an operation with the field and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.errors import FieldError
from shared.schema import ENTITIES, Relation, ResidenceStatus, Tag
from shared.validation import IdNumberInfo, normalize_mobile, parse_id_number

REQUIRED_ON_CREATE: dict[str, tuple[str, ...]] = {
    "grid_node": ("level", "code", "name"),
    "building": ("grid_id",),
    "unit": ("building_id", "name"),
    "house": ("grid_id", "building_id", "room"),
    "resident": ("name", "id_number"),
    "binding": ("resident_id", "house_id", "relation", "start_date"),
}
MAX_TEXT = {"note": 2000, "address": 300, "name": 100}
_CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("binding", "relation"): frozenset(r.value for r in Relation),
    ("resident", "residence_status"): frozenset(s.value for s in ResidenceStatus),
}
_TAGS = frozenset(t.value for t in Tag)


def _date(field: str, value: Any) -> date | FieldError:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return FieldError(
            field,
            "date_format",
            f"{value!r} is not a date (expected YYYY-MM-DD)",
            {"value": str(value)},
        )


def check_values(
    entity: str, values: Mapping[str, Any], *, creating: bool
) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalise `values` of `entity`; dates come back as ISO strings (the wire form)."""
    spec = ENTITIES[entity]
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, value in values.items():
        fspec = spec.fields.get(name)
        if fspec is None:
            errors.append(FieldError(name, "unknown_field", f"{entity} has no field {name!r}"))
            continue
        if value is None or value == "":
            if creating and name in REQUIRED_ON_CREATE.get(entity, ()):
                errors.append(FieldError(name, "required", f"{name} is required"))
            elif name in ("end_date", "phone", "unit_id"):
                out[name] = None
            elif fspec.kind == "tags":
                out[name] = []
            elif name in REQUIRED_ON_CREATE.get(entity, ()):
                errors.append(FieldError(name, "required", f"{name} cannot be emptied"))
            else:
                out[name] = "" if fspec.kind == "str" else None
            continue
        result: Any
        if name == "id_number":
            parsed = parse_id_number(value, field=name)
            result = parsed.id_number if isinstance(parsed, IdNumberInfo) else parsed
        elif name == "phone":
            result = normalize_mobile(value, field=name)
        elif fspec.kind == "date":
            parsed_date = _date(name, value)
            result = parsed_date.isoformat() if isinstance(parsed_date, date) else parsed_date
        elif fspec.kind == "tags":
            if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
                result = FieldError(name, "not_a_set", "tags must be a list of tag names")
            else:
                unknown = sorted(set(value) - _TAGS)
                result = (
                    FieldError(
                        name,
                        "choice",
                        f"unknown tag(s) {', '.join(unknown)}; choose from {', '.join(sorted(_TAGS))}",
                        {"value": ", ".join(unknown), "choices": ", ".join(sorted(_TAGS))},
                    )
                    if unknown
                    else sorted(set(value))
                )
        elif fspec.kind == "int":
            result = (
                value
                if isinstance(value, int) and not isinstance(value, bool)
                else FieldError(name, "type", f"{name} must be a whole number")
            )
        else:
            text = str(value).strip()
            limit = MAX_TEXT.get(name, 200)
            result = (
                FieldError(
                    name, "too_long", f"{name} is longer than {limit} characters", {"max": limit}
                )
                if len(text) > limit
                else text
            )
            choices = _CHOICES.get((entity, name))
            if choices is not None and isinstance(result, str) and result not in choices:
                result = FieldError(
                    name,
                    "choice",
                    f"{result!r} is not one of {', '.join(sorted(choices))}",
                    {"value": result, "choices": ", ".join(sorted(choices))},
                )
        if isinstance(result, FieldError):
            errors.append(result)
        else:
            out[name] = result
    if creating:
        for name in REQUIRED_ON_CREATE.get(entity, ()):
            if name not in values:
                errors.append(FieldError(name, "required", f"{name} is required"))
    if entity == "binding" and not errors:
        start, end = out.get("start_date"), out.get("end_date")
        if start and end and end < start:
            errors.append(FieldError("end_date", "date_order", "end date is before start date"))
    return out, errors
