"""Buildings, units and houses: matched by natural key from a preloaded index, created in bulk.

Keys (after the cell clean-up in `cells.text`):
- building: (grid, road, lane, number, building name) - the grid is part of the key because
  village addresses are often only a house number, unique inside one village but not across them;
- unit: (building, unit name);
- house: (building, unit or none, room).
A house therefore always lies in its building's grid, and a building never spans two grids.

The whole district is about 90,000 houses, so every live key is held in memory for the import;
new places are queued and written with one multi-row INSERT per table per chunk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from sync_server.db import insert_rows
from sync_server.importer.feed import ChangeSink
from sync_server.importer.grids import GridRef
from sync_server.importer.keys import stable_id
from sync_server.importer.report import ImportReport
from sync_server.importer.rows import RosterRow
from sync_server.models import Building, House, Unit, new_id

BuildingKey = tuple[str, str, str, str, str]
UnitKey = tuple[str, str]
HouseKey = tuple[str, str, str]

# An all-digit part gets the suffix Chinese addresses use, so "12" reads as 12弄, not a bare number.
_SUFFIXES = {"lane": "弄", "number": "号", "building": "幢", "unit": "单元", "room": "室"}


def format_address(row: RosterRow) -> str:
    parts = {
        "road": row.road,
        "lane": row.lane,
        "number": row.number,
        "building": row.building,
        "unit": row.unit,
        "room": row.room,
    }
    return "".join(
        value + _SUFFIXES[key] if value.isdigit() and key in _SUFFIXES else value
        for key, value in parts.items()
        if value
    )


class PlaceIndex:
    """Every live building, unit and house of the database by natural key, plus queued inserts."""

    def __init__(self, session: Session, report: ImportReport, changes: ChangeSink) -> None:
        self._report = report
        self._changes = changes
        self.buildings: dict[BuildingKey, str] = {}
        self.units: dict[UnitKey, str] = {}
        self.houses: dict[HouseKey, str] = {}
        # Ids of soft-deleted places: a stable id that collides with one falls back to a random id.
        self._taken: set[str] = set()
        for b in session.execute(
            select(
                Building.id,
                Building.grid_id,
                Building.road,
                Building.lane,
                Building.number,
                Building.name,
                Building.deleted,
            )
        ):
            if b.deleted:
                self._taken.add(b.id)
            else:
                self.buildings[(b.grid_id, b.road, b.lane, b.number, b.name)] = b.id
        for u in session.execute(select(Unit.id, Unit.building_id, Unit.name, Unit.deleted)):
            if u.deleted:
                self._taken.add(u.id)
            else:
                self.units[(u.building_id, u.name)] = u.id
        for h in session.execute(
            select(House.id, House.building_id, House.unit_id, House.room, House.deleted)
        ):
            if h.deleted:
                self._taken.add(h.id)
            else:
                self.houses[(h.building_id, h.unit_id or "", h.room)] = h.id
        self._seen: set[str] = set()  # places already counted in this import
        self._new_buildings: list[dict[str, Any]] = []
        self._new_units: list[dict[str, Any]] = []
        self._new_houses: list[dict[str, Any]] = []

    def existing_house(self, row: RosterRow, grid: GridRef) -> str | None:
        """The house a row names if it is already known, without creating anything."""
        building = self.buildings.get(_building_key(row, grid))
        if building is None:
            return None
        unit = self.units.get((building, row.unit)) if row.unit else ""
        if unit is None:
            return None
        return self.houses.get((building, unit, row.room))

    def ensure_house(self, row: RosterRow, grid: GridRef, grid_code: str) -> str:
        """The id of the house a row names, queueing its building, unit and house if new."""
        bkey = _building_key(row, grid)
        building = self.buildings.get(bkey)
        if building is None:
            building = self._id("building", grid_code, *bkey[1:])
            self.buildings[bkey] = building
            self._new_buildings.append(
                {
                    "id": building,
                    "grid_id": grid.id,
                    "road": row.road,
                    "lane": row.lane,
                    "number": row.number,
                    "name": row.building,
                }
            )
            self._created("buildings", building, grid.id)
        else:
            self._unchanged("buildings", building)

        unit = ""
        if row.unit:
            found = self.units.get((building, row.unit))
            if found is None:
                found = self._id("unit", building, row.unit)
                self.units[(building, row.unit)] = found
                self._new_units.append({"id": found, "building_id": building, "name": row.unit})
                self._created("units", found, grid.id)
            else:
                self._unchanged("units", found)
            unit = found

        hkey = (building, unit, row.room)
        house = self.houses.get(hkey)
        if house is None:
            house = self._id("house", *hkey)
            self.houses[hkey] = house
            self._new_houses.append(
                {
                    "id": house,
                    "grid_id": grid.id,
                    "building_id": building,
                    "unit_id": unit or None,
                    "room": row.room,
                    "address": format_address(row),
                }
            )
            self._created("houses", house, grid.id)
        else:
            self._unchanged("houses", house)
        return house

    def flush(self, session: Session, *, user_id: str | None, now: datetime) -> None:
        """Insert the queued places, parents first so foreign keys hold at every statement."""
        stamp = {
            "version": 1,
            "updated_at": now,
            "updated_by_user_id": user_id,
            "updated_by_device_id": None,
            "deleted": False,
        }
        for model, pending in (
            (Building, self._new_buildings),
            (Unit, self._new_units),
            (House, self._new_houses),
        ):
            if pending:
                # A Core INSERT (COPY on PostgreSQL): the ORM's bulk path costs more than SQLite
                # does for these rows.
                table = cast(Table, model.__table__)
                insert_rows(session, table, [{**row, **stamp} for row in pending])
                pending.clear()

    def _id(self, kind: str, *parts: str) -> str:
        candidate = stable_id(kind, *parts)
        return new_id() if candidate in self._taken else candidate

    def _created(self, entity: str, place_id: str, grid_id: str) -> None:
        self._seen.add(place_id)
        self._changes.add(entity.removesuffix("s"), place_id, [grid_id])
        self._report.count(entity, "created")

    def _unchanged(self, entity: str, place_id: str) -> None:
        if place_id not in self._seen:
            self._seen.add(place_id)
            self._report.count(entity, "unchanged")


def _building_key(row: RosterRow, grid: GridRef) -> BuildingKey:
    return (grid.id, row.road, row.lane, row.number, row.building)
