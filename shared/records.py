"""Checking and normalising a record's field values, the same on the device and the server.

`check_values(entity, values, creating=...)` returns the normalised values and a list of
`FieldError`s, one per bad field, so a form can show every problem at once and the server can
reject an operation naming the field and the reason. Chinese labels of enumerations (户主, 常住,
独居老人) are accepted and stored as their English values. Lengths mirror the server's columns,
so an edit the phone accepts is never refused at the next sync for a typo caught at the door.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from shared.businesses import BUSINESS_STATUS_ZH, check_licence, check_results
from shared.campaigns import OUTCOME_ZH, check_outcome
from shared.clock import china_day, format_timestamp, parse_timestamp
from shared.errors import FieldError
from shared.matters import (
    MATTER_ACTION_ZH,
    MATTER_SOURCE_ZH,
    MATTER_STATE_ZH,
    ORG_KIND_ZH,
    URGENCY_ZH,
    check_photos,
)
from shared.members import POST_KIND_ZH
from shared.schema import (
    ENTITIES,
    RELATION_ZH,
    RESIDENCE_STATUS_ZH,
    TAG_ZH,
    VISIT_OUTCOME_ZH,
    FieldSpec,
    zh_to_enum,
)
from shared.validation import normalize_phone, parse_id_number

# Which entity a reference field points at.
REFERENCES: dict[str, str] = {
    "parent_id": "grid_node",
    "grid_id": "grid_node",
    "building_id": "building",
    "unit_id": "unit",
    "resident_id": "resident",
    "house_id": "house",
    "campaign_id": "campaign",
    "category_id": "matter_category",
    "matter_id": "matter",
    "org_id": "org",
    "business_type_id": "business_type",
    "business_id": "business",
    "post_id": "post",
    "community_id": "grid_node",
}

# References the device cannot check: the server's users (not a synced entity) and the fields
# only the server writes. The server checks them (sync_server/services/push_rules.py).
SERVER_REFERENCES: dict[str, str] = {
    "user_id": "user",
    "state_by": "user",
    "assignee_user_id": "user",
    "assignee_org_id": "org",
    # What a business check's matter links to (shared/inspection_matters.py; its business_id
    # is a reference above).
    "checklist_item_id": "checklist_item",
    "business_check_id": "business_check",
}

# Fields a record cannot exist without; they mirror the server's NOT NULL columns that have no
# default, so a record created offline is not rejected for a missing value at the next sync.
REQUIRED: dict[str, frozenset[str]] = {
    "building": frozenset({"grid_id"}),
    "unit": frozenset({"building_id", "name"}),
    "house": frozenset({"grid_id", "building_id", "room"}),
    "resident": frozenset({"name", "id_number"}),
    "binding": frozenset({"resident_id", "house_id", "relation", "start_date"}),
    "visit": frozenset({"house_id", "outcome", "visited_at"}),
    "outcome": frozenset({"campaign_id", "resident_id", "outcome", "recorded_at"}),
    "matter": frozenset({"category_id", "grid_id", "description", "source", "reported_at"}),
    "matter_step": frozenset({"matter_id", "action", "from_state", "at"}),
    "business": frozenset({"grid_id", "business_type_id", "name", "status"}),
    "business_check": frozenset({"campaign_id", "business_id", "results", "checked_at"}),
    "post_claim": frozenset({"post_id", "user_id", "at"}),
}

# Column widths of the server's tables (sync_server/models.py).
MAX_LENGTH: dict[tuple[str, str], int] = {
    ("building", "road"): 100,
    ("building", "lane"): 50,
    ("building", "number"): 50,
    ("building", "name"): 100,
    ("unit", "name"): 50,
    ("house", "room"): 50,
    ("house", "address"): 300,
    ("resident", "name"): 100,
    ("resident", "note"): 2000,
    ("binding", "relation"): 20,
    ("grid_node", "name"): 200,
    ("grid_node", "code"): 64,
    ("visit", "note"): 2000,
    ("outcome", "place"): 200,
    ("outcome", "reason"): 500,
    ("org", "name"): 200,
    ("matter_category", "name"): 100,
    ("matter", "description"): 2000,
    ("matter", "place"): 200,
    ("matter", "on_behalf_of"): 100,
    ("matter", "resident_name"): 100,
    ("matter", "resident_phone_masked"): 40,
    ("matter_step", "reason"): 2000,
    ("matter_step", "comment"): 500,
    ("business_type", "code"): 40,
    ("business_type", "name"): 50,
    ("business_type", "name_en"): 100,
    ("checklist_item", "code"): 40,
    ("checklist_item", "text"): 300,
    ("checklist_item", "text_en"): 300,
    ("business", "name"): 200,
    ("business", "contact_name"): 100,
    ("business", "address"): 300,
    ("post", "title"): 200,
}

# The earliest time a visit or outcome may carry (China time): before any of them was recorded;
# a phone whose clock fell back to 1970 is told so instead of filing a visit 56 years ago.
EARLIEST_TIME = date(2000, 1, 1)

_NUMBERS = frozenset({"id_number", "phone", "contact_phone", "licence_number"})
_CHOICES: dict[str, dict[str, str]] = {
    "relation": RELATION_ZH,
    "residence_status": RESIDENCE_STATUS_ZH,
    "outcome": VISIT_OUTCOME_ZH,
}
# Where one entity's field of a shared name takes other choices (a campaign outcome is not a
# visit's outcome).
ENTITY_CHOICES: dict[tuple[str, str], dict[str, str]] = {
    ("outcome", "outcome"): OUTCOME_ZH,
    ("org", "kind"): ORG_KIND_ZH,
    ("matter", "source"): MATTER_SOURCE_ZH,
    ("matter", "urgency"): URGENCY_ZH,
    ("matter", "state"): MATTER_STATE_ZH,
    ("matter_step", "action"): MATTER_ACTION_ZH,
    ("matter_step", "from_state"): MATTER_STATE_ZH,
    ("business", "status"): BUSINESS_STATUS_ZH,
    ("post", "kind"): POST_KIND_ZH,
}


def check_values(
    entity: str,
    values: Mapping[str, Any],
    *,
    creating: bool,
    today: date,
    from_device: bool = True,
) -> tuple[dict[str, Any], list[FieldError]]:
    """The normalised values and every field that is wrong (empty when all is well).

    `creating` also demands the required fields; an update may omit anything but may not clear a
    required field. `from_device=False` (an admin on the server) may set fields devices may not.
    `today` is the caller's date in China time (an ID number's birth date may not be after it).
    """
    spec = ENTITIES[entity]
    errors: list[FieldError] = []
    normalised: dict[str, Any] = {}
    if creating and from_device and not spec.device_creatable:
        return {}, [
            FieldError("entity", "not_device_creatable", f"A {spec.name} cannot be created here.")
        ]
    for name, raw in values.items():
        field_spec = spec.fields.get(name)
        if field_spec is None:
            errors.append(
                FieldError(name, "unknown_field", f"A {spec.name} has no field {name!r}.")
            )
            continue
        if from_device and not field_spec.device_writable:
            errors.append(
                FieldError(name, "not_device_writable", f"{name} cannot be changed on a device.")
            )
            continue
        result = _check_field(spec.name, field_spec, raw, today)
        if isinstance(result, FieldError):
            errors.append(result)
        else:
            normalised[name] = result
    required = REQUIRED.get(spec.name, frozenset())
    for name in sorted(required):
        missing = normalised.get(name) in (None, "") if name in values else creating
        if missing and not any(e.field == name for e in errors):
            errors.append(FieldError(name, "required", f"{name} is required."))
    if entity == "binding" and not errors:
        start, end = normalised.get("start_date"), normalised.get("end_date")
        if start and end and end < start:
            errors.append(FieldError("end_date", "date_order", "end date is before start date"))
        elif end and end > today.isoformat():
            # A move is recorded once it has happened: a person moved out "next year" would
            # leave the grid at once, and the worker could no longer find them.
            errors.append(
                FieldError(
                    "end_date",
                    "future_date",
                    f"a move-out date cannot be after today ({today.isoformat()})",
                    {"today": today.isoformat()},
                )
            )
    if entity == "outcome" and creating and not errors:
        errors.extend(check_outcome(normalised))
    return normalised, errors


def check_references(
    values: Mapping[str, Any], exists: Callable[[str, str], bool]
) -> list[FieldError]:
    """Errors for reference fields whose target `exists(entity, id)` does not know."""
    return [
        FieldError(name, "unknown_reference", f"{name} {value} does not exist.", {"value": value})
        for name, value in values.items()
        if name in REFERENCES and value is not None and not exists(REFERENCES[name], value)
    ]


def _check_field(entity: str, spec: FieldSpec, raw: Any, today: date) -> Any:
    name = spec.name
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        # Emptiness is judged by the required-field rule. Free text keeps "" (the server's default
        # for an unknown road or address); a cleared number, choice, date or reference is NULL.
        free_text = (
            spec.kind == "str"
            and name not in _CHOICES
            and name not in _NUMBERS
            and (entity, name) not in ENTITY_CHOICES
        )
        return "" if free_text and raw == "" else None
    if name == "id_number":
        info = parse_id_number(raw, field=name, today=today)
        return info if isinstance(info, FieldError) else info.id_number
    if name in ("phone", "contact_phone"):
        return normalize_phone(raw, field=name)
    if name == "licence_number":
        return check_licence(raw, field=name)
    if name == "results":
        return check_results(raw, field=name)
    if name == "business_types":
        return _ids(name, raw)
    if (entity, name) in ENTITY_CHOICES:
        return _choice(name, raw, ENTITY_CHOICES[(entity, name)])
    if name in _CHOICES:
        return _choice(name, raw, _CHOICES[name])
    if spec.kind == "datetime":
        return _datetime(name, raw, today)
    if name == "photos":
        return check_photos(raw)
    if spec.kind == "tags":
        return _tags(name, raw)
    if spec.kind == "date":
        return _date(name, raw)
    if spec.kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            return FieldError(name, "not_an_integer", f"{name} must be a whole number.")
        return raw
    if not isinstance(raw, str):
        return FieldError(name, "not_text", f"{name} must be text.")
    if "\x00" in raw:
        # No database stores a NUL inside text, and no keyboard types one.
        return FieldError(name, "invalid_characters", f"{name} contains a NUL character.")
    limit = MAX_LENGTH.get((entity, name))
    if spec.kind == "str" and limit is not None and len(raw) > limit:
        return FieldError(
            name, "too_long", f"{name} is longer than {limit} characters.", {"max": limit}
        )
    return raw


def _choice(name: str, raw: Any, table: dict[str, str]) -> str | FieldError:
    value = zh_to_enum(str(raw), table)
    if value is None:
        return FieldError(
            name,
            "choice",
            f"{raw!r} is not a valid {name}; choose one of {', '.join(table)}.",
            {"value": raw, "choices": "、".join(table.values())},
        )
    return value


def _ids(name: str, raw: Any) -> list[str] | FieldError:
    """A set of record ids (a campaign's business types), sorted as set-valued fields travel."""
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        return FieldError(name, "not_a_set", f"{name} must be a list of ids.")
    ids = {str(item).strip() for item in raw}
    if any(not 0 < len(i) <= 36 for i in ids):
        return FieldError(name, "not_a_set", f"{name} must be a list of ids.")
    return sorted(ids)


def _tags(name: str, raw: Any) -> list[str] | FieldError:
    if isinstance(raw, str) or not isinstance(raw, Iterable):
        return FieldError(name, "not_a_set", f"{name} must be a list of tags.")
    tags: set[str] = set()
    for item in raw:
        value = zh_to_enum(str(item), TAG_ZH)
        if value is None:
            return FieldError(
                name,
                "choice",
                f"{item!r} is not a known tag; choose from {', '.join(TAG_ZH)}.",
                {"value": item, "choices": "、".join(TAG_ZH.values())},
            )
        tags.add(value)
    # Sorted, as shared.merge stores set-valued fields, so an unchanged set compares equal.
    return sorted(tags)


def _datetime(name: str, raw: Any, today: date) -> str | FieldError:
    """An instant as `shared.clock.format_timestamp` writes it (UTC, milliseconds, Z).

    Only text (or a datetime) is a time: a number or a list is not read as one. A time must fall
    between `EARLIEST_TIME` and the end of tomorrow in China time: a visit or an outcome is
    recorded when it happens, the day's margin absorbs a phone's clock running a little fast, and
    a year 9999 would break every screen and export that shows it.
    """
    moment: datetime | None = None
    if isinstance(raw, datetime):
        moment = parse_timestamp(raw.isoformat())
    elif isinstance(raw, str):
        moment = parse_timestamp(raw)
    shown = str(raw)[:40]  # a hostile megabyte is not echoed back whole
    if moment is None:
        return FieldError(
            name,
            "datetime_format",
            f"{shown!r} is not a date and time (ISO 8601, e.g. 2026-11-28T09:30:00+08:00).",
            {"value": shown},
        )
    tomorrow = today + timedelta(days=1)
    if not china_day(EARLIEST_TIME)[0] <= moment < china_day(tomorrow)[1]:
        return FieldError(
            name,
            "datetime_range",
            f"{shown!r} is not a plausible time: it must lie between {EARLIEST_TIME} and the end "
            f"of {tomorrow} (China time).",
            {"value": shown, "earliest": str(EARLIEST_TIME), "latest": str(tomorrow)},
        )
    return format_timestamp(moment)


def _date(name: str, raw: Any) -> str | FieldError:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    try:
        return date.fromisoformat(str(raw)).isoformat()
    except ValueError:
        return FieldError(
            name, "date_format", f"{raw!r} is not a date (YYYY-MM-DD).", {"value": raw}
        )
