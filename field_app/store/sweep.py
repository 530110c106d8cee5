"""The sweep's read side: each level of my grids → buildings → units → houses, with counts and
today's visit status, straight from SQL so a screen of 150 houses costs one query.

"Visited today" means the house's latest live visit falls on the given day in China time, the
worker's day, whatever zone the phone is set to: `visited_at` is UTC text in one form that sorts
as text (`shared.clock.format_timestamp`), so the day is the span between two such texts
(`day_span`), compared in SQL for the counts and in Python for one house alike. Occupants are
residents with a binding open on that day. These functions only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from field_app.store.records import Record, from_row, select_sql, sync_rank_sql
from field_app.store.sealed import Sealer, StoreDb
from shared.clock import china_day, format_timestamp
from shared.schema import LEAF_LEVEL

# Per-house facts every level aggregates: open occupants and the latest visit.
_HOUSE_FACTS = """
    (SELECT COUNT(DISTINCT b.resident_id) FROM binding b
       JOIN resident r ON r.id = b.resident_id AND r.deleted = 0
      WHERE b.house_id = h.id AND b.deleted = 0
        AND (b.start_date IS NULL OR b.start_date <= :day)
        AND (b.end_date IS NULL OR b.end_date > :day)) AS occupants,
    (SELECT MAX(v.visited_at) FROM visit v
      WHERE v.house_id = h.id AND v.deleted = 0) AS last_visit
"""


# Door order: numbered rooms first, by length then text (so 101, 102, 1101 and 0101, 0102 run
# as a worker walks them), then named ones (车库, 整栋).
_DOOR_ORDER = "h.room COLLATE natsort, h.id"


def day_span(day: date) -> tuple[str, str]:
    """The stored texts a China-time day spans: a visit at `t` is on `day` when start <= t < end."""
    start, end = china_day(day)
    return format_timestamp(start), format_timestamp(end)


def _day_params(day: date) -> dict[str, str]:
    start, end = day_span(day)
    return {"day": day.isoformat(), "day_start": start, "day_end": end}


@dataclass(frozen=True)
class Tally:
    """Counts under one place: its houses, how many were visited today, and who lives there."""

    houses: int = 0
    visited: int = 0
    residents: int = 0
    buildings: int = 0
    units: int = 0

    @property
    def done(self) -> bool:
        return self.houses > 0 and self.visited >= self.houses


@dataclass(frozen=True)
class PlaceSummary:
    """A grid, building or unit with the tally of what lies under it."""

    record: Record
    tally: Tally


@dataclass(frozen=True)
class HouseSummary:
    """A house with its occupants' count and its visit status."""

    house: Record
    residents: int
    last_visit: str | None  # visited_at of the latest live visit (UTC text)
    visited_today: bool


def grid_summaries(db: StoreDb, day: date) -> list[PlaceSummary]:
    """The level-5 grids on this device, by code, each with its tally."""
    grids = [
        from_row("grid_node", row, db.sealer)
        for row in db.query(
            select_sql("grid_node", "t.deleted = 0 AND t.level = ?", order_by="t.code"),
            [LEAF_LEVEL],
        )
    ]
    tallies = _tallies(db, day, "h.grid_id", "1")
    buildings = _counts(db, "SELECT grid_id, COUNT(*) FROM building WHERE deleted = 0 GROUP BY 1")
    return [
        PlaceSummary(g, _with(tallies.get(g.id), buildings=buildings.get(g.id, 0))) for g in grids
    ]


def building_summaries(db: StoreDb, grid_id: str, day: date) -> list[PlaceSummary]:
    buildings = [
        from_row("building", row, db.sealer)
        for row in db.query(
            select_sql(
                "building",
                "t.deleted = 0 AND t.grid_id = ?",
                order_by=(
                    "t.road COLLATE natsort, t.lane COLLATE natsort, "
                    "t.number COLLATE natsort, t.name COLLATE natsort, t.id"
                ),
            ),
            [grid_id],
        )
    ]
    tallies = _tallies(db, day, "h.building_id", "h.grid_id = :scope", scope=grid_id)
    units = _counts(
        db,
        "SELECT u.building_id, COUNT(*) FROM unit u JOIN building b ON b.id = u.building_id "
        "WHERE u.deleted = 0 AND b.grid_id = ? GROUP BY 1",
        grid_id,
    )
    return [PlaceSummary(b, _with(tallies.get(b.id), units=units.get(b.id, 0))) for b in buildings]


def unit_summaries(db: StoreDb, building_id: str, day: date) -> list[PlaceSummary]:
    units = [
        from_row("unit", row, db.sealer)
        for row in db.query(
            select_sql(
                "unit",
                "t.deleted = 0 AND t.building_id = ?",
                order_by="t.name COLLATE natsort, t.id",
            ),
            [building_id],
        )
    ]
    tallies = _tallies(db, day, "h.unit_id", "h.building_id = :scope", scope=building_id)
    return [PlaceSummary(u, _with(tallies.get(u.id))) for u in units]


def building_tally(db: StoreDb, building_id: str, day: date) -> Tally:
    """The tally of one building (for the header of its units or houses)."""
    return _with(
        _tallies(db, day, "h.building_id", "h.building_id = :scope", building_id).get(building_id)
    )


def house_summaries(
    db: StoreDb, day: date, *, building_id: str, unit_id: str | None = None
) -> list[HouseSummary]:
    """The houses of a building (of one unit when given), in door order."""
    where = "h.deleted = 0 AND h.building_id = :building"
    params: dict[str, Any] = {**_day_params(day), "building": building_id}
    if unit_id is not None:
        where += " AND h.unit_id = :unit"
        params["unit"] = unit_id
    sql = (
        f"SELECT h.*, {sync_rank_sql('house', 'h')} AS _sync_rank, {_HOUSE_FACTS} "
        f"FROM house h WHERE {where} ORDER BY {_DOOR_ORDER}"
    )
    return [_house_summary(row, day, db.sealer) for row in db.query(sql, params)]


def house_summary(db: StoreDb, house_id: str, day: date) -> HouseSummary | None:
    sql = (
        f"SELECT h.*, {sync_rank_sql('house', 'h')} AS _sync_rank, {_HOUSE_FACTS} "
        "FROM house h WHERE h.id = :house"
    )
    rows = list(db.query(sql, {**_day_params(day), "house": house_id}))
    return _house_summary(rows[0], day, db.sealer) if rows else None


def visits_of_house(db: StoreDb, house_id: str, *, limit: int = 20) -> list[Record]:
    """The latest visits of a house, newest first."""
    sql = select_sql(
        "visit",
        "t.deleted = 0 AND t.house_id = ?",
        order_by="t.visited_at DESC, t.id",
        limit=limit,
    )
    return [from_row("visit", row, db.sealer) for row in db.query(sql, [house_id])]


def _house_summary(row: dict[str, Any], day: date, sealer: Sealer) -> HouseSummary:
    last = row.get("last_visit")
    start, end = day_span(day)
    return HouseSummary(
        house=from_row("house", row, sealer),
        residents=int(row.get("occupants") or 0),
        last_visit=last,
        visited_today=last is not None and start <= str(last) < end,
    )


def _tallies(
    db: StoreDb, day: date, group: str, where: str, scope: str | None = None
) -> dict[str, Tally]:
    # `group` and `where` are fixed SQL fragments of this module, never user input.
    sql = (
        f"SELECT key, COUNT(*) AS houses, SUM(occupants) AS residents, "
        f"SUM(last_visit >= :day_start AND last_visit < :day_end) AS visited FROM ("
        f"SELECT {group} AS key, {_HOUSE_FACTS} FROM house h "
        f"WHERE h.deleted = 0 AND {where}) GROUP BY key"
    )
    rows = db.query(sql, {**_day_params(day), "scope": scope})
    return {
        row["key"]: Tally(
            houses=row["houses"], visited=row["visited"] or 0, residents=row["residents"] or 0
        )
        for row in rows
        if row["key"] is not None
    }


def _counts(db: StoreDb, sql: str, *params: object) -> dict[str, int]:
    return {key: count for key, count in db.execute(sql, list(params)).fetchall()}


def _with(tally: Tally | None, **counts: int) -> Tally:
    base = tally or Tally()
    return Tally(
        houses=base.houses,
        visited=base.visited,
        residents=base.residents,
        buildings=counts.get("buildings", base.buildings),
        units=counts.get("units", base.units),
    )
