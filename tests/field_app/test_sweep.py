"""Counts at every level of the sweep and "visited today", straight from the device store."""

from __future__ import annotations

import uuid
from datetime import timedelta

from field_app.store import Store
from shared.clock import format_timestamp
from shared.protocol import PullResponse
from tests.days import TODAY, at, iso
from tests.field_app.test_search import BUILDING, GRID, SERVER_TS, id_number, state

UNIT = "00000000-0000-4000-8000-0000000000e1"
USER = "u1"


def house(room: str, unit: str | None) -> tuple[str, list]:  # type: ignore[type-arg]
    house_id = str(uuid.uuid4())
    return house_id, [
        state("house", house_id, grid_id=GRID, building_id=BUILDING, unit_id=unit, room=room,
              address=f"海坛路8号{room}"),
    ]  # fmt: skip


def person(n: int, house_id: str, *, end: str | None = None) -> list:  # type: ignore[type-arg]
    rid = str(uuid.uuid4())
    return [
        state("resident", rid, name=f"林{n}", id_number=id_number(n), phone=None,
              residence_status="permanent", tags=[], note=""),
        state("binding", str(uuid.uuid4()), resident_id=rid, house_id=house_id, relation="head",
              start_date="2020-01-01", end_date=end),
    ]  # fmt: skip


def seed(store: Store) -> dict[str, str]:
    states = [
        state("grid_node", GRID, level=5, code="G5", name="一网格", parent_id=None),
        state("building", BUILDING, grid_id=GRID, road="海坛路", number="8号", name=""),
        state("unit", UNIT, building_id=BUILDING, name="1单元"),
    ]
    rooms: dict[str, str] = {}
    for n, (room, unit) in enumerate([("0101", UNIT), ("0102", UNIT), ("车库", None)]):
        house_id, rows = house(room, unit)
        rooms[room] = house_id
        states += rows + person(n, house_id)
    states += person(9, rooms["0101"], end=iso(-331))  # moved out: not counted
    store.apply_pull(
        PullResponse.model_validate(
            {"records": [s.model_dump() for s in states], "scope": [GRID], "cursor": "c",
             "has_more": False, "phase": "bootstrap", "server_hlc": SERVER_TS}
        )
    )  # fmt: skip
    return rooms


def visit(store: Store, house_id: str, when: str) -> str:
    op = store.create(
        "visit", {"house_id": house_id, "outcome": "met", "visited_at": when}, user_id=USER
    )
    return op.record_id


def test_counts_and_visits_roll_up_each_level(store: Store) -> None:
    rooms = seed(store)
    visit(store, rooms["0101"], f"{iso(0)}T09:30+08:00")
    visit(store, rooms["0102"], f"{iso(-1)}T16:00+08:00")  # yesterday: not today
    gone = visit(store, rooms["车库"], f"{iso(0)}T10:00+08:00")
    store.delete("visit", gone, user_id=USER)

    (grid,) = store.grid_summaries(TODAY)
    assert (grid.tally.buildings, grid.tally.houses, grid.tally.residents) == (1, 3, 3)
    assert grid.tally.visited == 1 and not grid.tally.done
    (building,) = store.building_summaries(GRID, TODAY)
    assert (building.tally.units, building.tally.houses, building.tally.visited) == (1, 3, 1)
    (unit,) = store.unit_summaries(BUILDING, TODAY)
    assert (unit.tally.houses, unit.tally.residents, unit.tally.visited) == (2, 2, 1)
    houses = store.house_summaries(TODAY, building_id=BUILDING, unit_id=UNIT)
    assert [(h.house["room"], h.residents, h.visited_today) for h in houses] == [
        ("0101", 1, True),
        ("0102", 1, False),
    ]
    assert houses[1].last_visit == format_timestamp(at(-1, 16))  # stored as the UTC instant
    whole = store.house_summaries(TODAY, building_id=BUILDING)
    assert [h.house["room"] for h in whole] == ["0101", "0102", "车库"]
    assert store.building_tally(BUILDING, TODAY).houses == 3
    assert [v["outcome"] for v in store.visits_of_house(rooms["0101"])] == ["met"]
    assert store.visits_of_house(rooms["车库"]) == []


def test_visited_today_is_the_china_day_whatever_the_utc_date(store: Store) -> None:
    # 00:10 China time is 16:10 UTC the day before, 23:50 is 15:50 UTC the same day: the UTC
    # date would count the first as yesterday's and a visit at 23:50 yesterday as today's.
    rooms = seed(store)
    visit(store, rooms["0101"], format_timestamp(at(0, 0, 10)))  # an app of today: UTC text
    visit(store, rooms["0102"], f"{iso(-1)}T23:50+08:00")  # an older app: China time, offset
    visit(store, rooms["车库"], f"{iso(0)} 23:50")  # no zone: China time
    houses = store.house_summaries(TODAY, building_id=BUILDING)
    assert [(h.house["room"], h.visited_today) for h in houses] == [
        ("0101", True),
        ("0102", False),
        ("车库", True),
    ]
    assert store.building_tally(BUILDING, TODAY).visited == 2
    yesterday = store.house_summaries(TODAY - timedelta(days=1), building_id=BUILDING)
    assert [h.visited_today for h in yesterday] == [False, True, False]
    assert houses[1].last_visit == f"{iso(-1)}T15:50:00.000Z"


def test_lanes_buildings_and_rooms_sort_as_people_read_them(store: Store) -> None:
    states = [state("grid_node", GRID, level=5, code="G5", name="一网格", parent_id=None)]
    buildings = {}
    for number in ("1巷10号", "1巷3号", "2巷1号", "1巷9号"):
        bid = str(uuid.uuid4())
        buildings[number] = bid
        states.append(state("building", bid, grid_id=GRID, road="西楼南路", number=number, name=""))
    for room in ("1001", "301", "0102", "车库", "2"):
        states.append(
            state(
                "house",
                str(uuid.uuid4()),
                grid_id=GRID,
                building_id=buildings["1巷3号"],
                unit_id=None,
                room=room,
                address=f"西楼南路1巷3号{room}",
            )
        )
    store.apply_pull(
        PullResponse.model_validate(
            {
                "records": [s.model_dump() for s in states],
                "scope": [GRID],
                "cursor": "c",
                "has_more": False,
                "phase": "bootstrap",
                "server_hlc": SERVER_TS,
            }
        )
    )
    order = [s.record.values["number"] for s in store.building_summaries(GRID, TODAY)]
    assert order == ["1巷3号", "1巷9号", "1巷10号", "2巷1号"]
    rooms = [
        s.house.values["room"]
        for s in store.house_summaries(TODAY, building_id=buildings["1巷3号"])
    ]
    assert rooms == ["2", "0102", "301", "1001", "车库"]
