"""Row rules: one spreadsheet row in, a typed row or every problem with it out.

Only what can be decided from the row itself is checked here (required cells, formats, ID check
digit, phone, enumerations, dates). Whether a grid code exists or an ID number repeats depends on
other rows and the database, and is checked by `grids` and `roster`.

A roster row is refused only for what identifies the house and the person (grid, address, name,
ID number). A value in an optional column that fails its rule (phone, relation, status, tags,
move-in date) is kept aside as a warning on the row, and the person is imported without it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from shared.errors import FieldError
from shared.schema import RELATION_ZH, RESIDENCE_STATUS_ZH, TAG_ZH, Relation, zh_to_enum
from shared.validation import normalize_phone, parse_id_number
from sync_server.importer import cells
from sync_server.importer.layout import (
    ADDRESS_KEYS,
    NONE_WORDS,
    PERSON_KEYS,
    RELATION_ALIASES,
    ROSTER,
    STATUS_ALIASES,
    TAG_ALIASES,
    TAGS_CLEAR,
    VACANT_WORDS,
)
from sync_server.importer.report import Where, id_converted

_TAG_SEPARATORS = re.compile(r"[,，、;；|\s]+")
_PHONE_SEPARATORS = re.compile(r"[,，、;；/|]+|或")
# Column widths of sync_server.models; longer values would fail the whole batch in PostgreSQL.
_LIMITS = {
    "code": 64,
    "grid_name": 200,
    "road": 100,
    "lane": 50,
    "number": 50,
    "building": 100,
    "unit": 50,
    "room": 50,
    "name": 100,
}


@dataclass(frozen=True)
class GridRow:
    where: Where
    code: str
    name: str
    level: int
    parent_code: str  # "" for a level-1 node


@dataclass(frozen=True)
class Person:
    """A person's columns; None means the cell was empty, which keeps what the database has."""

    name: str
    id_number: str
    sex: str
    birth_date: date
    phone: str | None
    relation: str | None
    residence_status: str | None
    tags: tuple[str, ...] | None  # () clears the tags ("无")
    start_date: date | None
    note: str | None


@dataclass(frozen=True)
class RosterRow:
    where: Where
    grid_code: str
    road: str
    lane: str
    number: str
    building: str
    unit: str
    room: str
    person: Person | None  # None: the row only records a (possibly vacant) house
    # Imported all the same: values kept aside (`kept_aside`) or changed by the import (`notices`).
    kept_aside: tuple[FieldError, ...] = ()
    notices: tuple[FieldError, ...] = ()


Cells = Mapping[str, object]  # column key -> raw cell value


def parse_grid_row(values: Cells, where: Where) -> GridRow | list[FieldError]:
    errors: list[FieldError] = []
    code = _required_text(values, "code", errors, limit=_LIMITS["code"])
    name = _required_text(values, "name", errors, limit=_LIMITS["grid_name"])
    parent_code = cells.text(values.get("parent_code"))
    level: int = 0
    if cells.text(values.get("level")) == "":
        errors.append(_required("level"))
    else:
        parsed = cells.level("level", values.get("level"))
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            level = parsed
    if level == 1 and parent_code:
        errors.append(
            FieldError(
                "parent_code",
                "grid_root_parent",
                f"a level-1 grid has no parent, got {parent_code!r}",
                {"value": parent_code},
            )
        )
    elif level > 1 and not parent_code:
        errors.append(_required("parent_code"))
    if errors:
        return errors
    return GridRow(where, code, name, level, parent_code)


def parse_roster_row(values: Cells, where: Where, *, today: date) -> RosterRow | list[FieldError]:
    errors: list[FieldError] = []
    grid_code = _required_text(values, "grid_code", errors, limit=_LIMITS["code"])
    place = {key: cells.text(values.get(key)) for key in (*ADDRESS_KEYS, "unit", "room")}
    for key, value in place.items():
        if (problem := cells.too_long(key, value, _LIMITS[key])) is not None:
            errors.append(problem)
    if not any(place[k] for k in ADDRESS_KEYS):
        errors.append(
            FieldError(
                "road",
                "address_missing",
                "the address is empty: fill at least one of road, lane, number, building",
            )
        )
    if (place["building"] or place["unit"]) and not place["room"]:
        errors.append(
            FieldError("room", "room_required", "room is required when building or unit is given")
        )
    kept_aside: list[FieldError] = []
    notices: list[FieldError] = []
    person = _parse_person(values, errors, kept_aside, notices, today=today)
    if errors:
        return errors
    return RosterRow(
        where,
        grid_code,
        person=person,
        kept_aside=tuple(kept_aside),
        notices=tuple(notices),
        **place,
    )


def _parse_person(
    values: Cells,
    errors: list[FieldError],
    kept_aside: list[FieldError],
    notices: list[FieldError],
    *,
    today: date,
) -> Person | None:
    name_cell = cells.text(values.get("name"))
    id_cell = cells.text(values.get("id_number"))
    if not id_cell and (not name_cell or name_cell in VACANT_WORDS):
        # No person: the row lists the house, vacant (空置) or with its people elsewhere.
        ignored = [
            k
            for k in PERSON_KEYS
            if k not in ("name", "note") and _optional(values.get(k)) is not None
        ]
        if ignored:
            notices.append(_person_columns_ignored(ignored))
        return None
    name = _required_text(values, "name", errors, limit=_LIMITS["name"])
    info = None
    raw_id = cells.id_number_text("id_number", values.get("id_number"))
    if isinstance(raw_id, FieldError):
        errors.append(raw_id)
    else:
        parsed = parse_id_number(raw_id, today=today)
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            info = parsed
            if info.converted_from:
                notices.append(id_converted(info.converted_from, info.id_number))
    phone = _phone(values, kept_aside, notices)
    relation = _relation(values, notices)
    status = _choice(values, "residence_status", RESIDENCE_STATUS_ZH, STATUS_ALIASES, kept_aside)
    tags = _tags(values, kept_aside)
    start: date | None = None
    if _optional(values.get("start_date")) is not None:
        parsed_start = cells.parse_date("start_date", values.get("start_date"), today=today)
        if isinstance(parsed_start, FieldError):
            kept_aside.append(parsed_start)
        else:
            start = parsed_start
    note = _optional(values.get("note"))
    if info is None or errors:
        return None
    return Person(
        name=name,
        id_number=info.id_number,
        sex=info.sex,
        birth_date=info.birth_date,
        phone=phone,
        relation=relation,
        residence_status=status,
        tags=tags,
        start_date=start,
        note=note,
    )


def _optional(value: object) -> str | None:
    """An optional cell as text, or None when it is empty or says "none" (无, 没有, /)."""
    raw = cells.text(value)
    return None if not raw or raw.lower() in NONE_WORDS else raw


def _phone(values: Cells, kept_aside: list[FieldError], notices: list[FieldError]) -> str | None:
    """The row's contact number (mobile or landline); of two numbers, the first."""
    raw = _optional(values.get("phone"))
    if raw is None:
        return None
    parts = [p for p in _PHONE_SEPARATORS.split(raw) if p.strip()]
    number = normalize_phone(parts[0])
    if len(parts) == 1 and isinstance(number, FieldError):
        words = raw.split()  # "13800000001 13900000002": two numbers a space apart
        if len(words) > 1 and not isinstance(first := normalize_phone(words[0]), FieldError):
            parts, number = words, first
    if isinstance(number, FieldError):
        kept_aside.append(FieldError("phone", number.code, number.message, number.params))
        return None
    if len(parts) > 1:
        rest = "、".join(p.strip() for p in parts[1:])
        notices.append(
            FieldError(
                "phone",
                "phone_extra",
                f"several numbers given: only the first, {number}, was imported; not: {rest}",
                {"value": number, "rest": rest},
            )
        )
    return number


def _relation(values: Cells, notices: list[FieldError]) -> str | None:
    """The relation to the head; a word outside the vocabulary becomes 其他 (with word of it)."""
    raw = _optional(values.get("relation"))
    if raw is None:
        return None
    value = enum_value(raw, RELATION_ZH, RELATION_ALIASES)
    if value is not None:
        return value
    notices.append(
        FieldError(
            "relation",
            "relation_other",
            f"{raw!r} is not a known relation, so it was recorded as other",
            {"value": raw},
        )
    )
    return Relation.OTHER.value


def _person_columns_ignored(keys: list[str]) -> FieldError:
    zh = {c.key: c.zh for c in ROSTER.columns}
    return FieldError(
        keys[0],
        "person_columns_ignored",
        "the row has no name and no ID number, so it lists a vacant house; "
        f"{', '.join(keys)} were not imported",
        {"columns": "、".join(zh[k] for k in keys)},
    )


def enum_value(raw: str, table: dict[str, str], aliases: dict[str, str]) -> str | None:
    """A Chinese label, an office synonym or the English value (any case) -> the enum value."""
    return zh_to_enum(raw, table) or zh_to_enum(raw.lower(), table) or aliases.get(raw)


def _choice(
    values: Cells,
    key: str,
    table: dict[str, str],
    aliases: dict[str, str],
    problems: list[FieldError],
) -> str | None:
    raw = _optional(values.get(key))
    if raw is None:
        return None
    value = enum_value(raw, table, aliases)
    if value is None:
        problems.append(_bad_choice(key, raw, table))
    return value


def _tags(values: Cells, problems: list[FieldError]) -> tuple[str, ...] | None:
    raw = cells.text(values.get("tags"))
    if not raw:
        return None
    if raw.lower() in TAGS_CLEAR:
        return ()
    found: set[str] = set()
    for part in filter(None, _TAG_SEPARATORS.split(raw)):
        value = enum_value(part, TAG_ZH, TAG_ALIASES)
        if value is None:
            problems.append(_bad_choice("tags", part, TAG_ZH))
        else:
            found.add(value)
    if not found:
        return None  # nothing recognised: keep what the system has rather than clear it
    return tuple(v for v in TAG_ZH if v in found)  # canonical order, so re-imports compare equal


def _bad_choice(key: str, raw: str, table: dict[str, str]) -> FieldError:
    choices = "、".join(table.values())
    return FieldError(
        key,
        "choice",
        f"{raw!r} is not a valid value (choose from {', '.join(table)} or {choices})",
        {"value": raw, "choices": choices},
    )


def _required(key: str) -> FieldError:
    return FieldError(key, "required", f"{key} is required")


def _required_text(
    values: Cells,
    key: str,
    errors: list[FieldError],
    *,
    limit: int,
) -> str:
    value = cells.text(values.get(key))
    if not value:
        errors.append(_required(key))
    elif (problem := cells.too_long(key, value, limit)) is not None:
        errors.append(problem)
    return value
