"""The read side the app's screens need: the worker's grids, their places, and who lives where.

Only live records (not deleted) are listed, each with its sync state for the screen's badge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from field_app.store.records import Record, from_row, read_view, select_sql
from field_app.store.sealed import SEARCH_KEYS, StoreDb
from shared.schema import LEAF_LEVEL

_LIVE = "t.deleted = 0"


@dataclass(frozen=True)
class Occupant:
    """A resident currently bound to a house, with the binding (relation, since when)."""

    resident: Record
    binding: Record


def my_grids(db: StoreDb) -> list[Record]:
    """The level-5 grids on this device, by code."""
    return _records(db, "grid_node", f"{_LIVE} AND t.level = ?", [LEAF_LEVEL], "t.code")


def buildings_in_grid(db: StoreDb, grid_id: str) -> list[Record]:
    return _records(
        db, "building", f"{_LIVE} AND t.grid_id = ?", [grid_id], "t.road, t.number, t.name"
    )


def units_of_building(db: StoreDb, building_id: str) -> list[Record]:
    return _records(db, "unit", f"{_LIVE} AND t.building_id = ?", [building_id], "t.name")


def houses_in_grid(db: StoreDb, grid_id: str, *, building_id: str | None = None) -> list[Record]:
    """The houses of a grid (or of one of its buildings), in sweeping order."""
    where, params = f"{_LIVE} AND t.grid_id = ?", [grid_id]
    if building_id is not None:
        where += " AND t.building_id = ?"
        params.append(building_id)
    return _records(db, "house", where, params, "t.building_id, t.unit_id, t.room")


def residents_of_house(db: StoreDb, house_id: str, *, on: date) -> list[Occupant]:
    """Who lives in a house: residents with a binding open on `on`, head first."""
    day = on.isoformat()
    bindings = _records(
        db,
        "binding",
        f"{_LIVE} AND t.house_id = ? AND (t.start_date IS NULL OR t.start_date <= ?) "
        "AND (t.end_date IS NULL OR t.end_date > ?)",
        [house_id, day, day],
        "t.relation != 'head', t.start_date, t.id",
    )
    occupants = []
    for binding in bindings:
        resident = read_view(db, "resident", binding["resident_id"])
        if resident is not None and not resident.deleted:
            occupants.append(Occupant(resident, binding))
    return occupants


def open_bindings_of(db: StoreDb, resident_id: str, *, on: date) -> list[Record]:
    """The resident's bindings open on `on`: where they live then."""
    day = on.isoformat()
    return _records(
        db,
        "binding",
        f"{_LIVE} AND t.resident_id = ? AND (t.start_date IS NULL OR t.start_date <= ?) "
        "AND (t.end_date IS NULL OR t.end_date > ?)",
        [resident_id, day, day],
        "t.start_date, t.id",
    )


def find_residents(db: StoreDb, text: str, *, limit: int = 50) -> list[Record]:
    """Residents whose name contains `text`, or whose ID number ends with it (4 characters or
    more) or whose phone starts or ends with it (3 digits or more), through the keyed hashes of
    `search_keys` (`sealed.py`)."""
    text = text.strip()
    if not text:
        return []
    pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    keys = [k for k in (db.sealer.id_tail_key(text), db.sealer.phone_key(text)) if k is not None]
    by_key = "".join(f" OR instr(t.[{SEARCH_KEYS}], ?) > 0" for _ in keys)
    return _records(
        db,
        "resident",
        f"{_LIVE} AND (t.name LIKE ? ESCAPE '\\'{by_key})",
        [f"%{pattern}%", *keys],
        "t.name",
        limit=limit,
    )


def _records(
    db: StoreDb,
    entity: str,
    where: str,
    params: Sequence[object],
    order_by: str,
    *,
    limit: int | None = None,
) -> list[Record]:
    sql = select_sql(entity, where, order_by=order_by, limit=limit)
    return [from_row(entity, row, db.sealer) for row in db.query(sql, params)]
