"""A level-5 grid page pages and searches its houses (issue 18, item 8b): 30 rows a page, a
search by room, address or resident's name, counts, all in the query string (no JavaScript)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Building, House, Unit
from sync_server.queries.places import HOUSES_PER_PAGE
from tests.factories import TinyGrid, add_person, make_id_number
from tests.sync_server.console.conftest import OpenConsole

ROOM = re.compile(r'<a href="/console/house/[^"]+">([^<]+)</a>')
EXTRA = 70  # with the grid's own 3: 73 houses, three pages


@pytest.fixture
def big_grid(tiny: TinyGrid, session_factory: sessionmaker[Session]) -> str:
    """T1-1-1-1-1 with 70 more houses in 东街 5号楼; room 5-042 holds 王小明, and one
    address holds a literal percent sign."""
    import random

    rng = random.Random(3)
    grid = tiny.nodes["T1-1-1-1-1"]
    with session_factory() as session, session.begin():
        building = Building(grid_id=grid.id, road="东街", number="5号", name="5号楼")
        session.add(building)
        session.flush()
        unit = Unit(building_id=building.id, name="2单元")
        session.add(unit)
        session.flush()
        for n in range(1, EXTRA + 1):
            house = House(
                grid_id=grid.id,
                building_id=building.id,
                unit_id=unit.id,
                room=f"5-{n:03d}",
                address=f"东街5号5号楼2单元5-{n:03d}室" + ("（100%产权）" if n == 7 else ""),
            )
            session.add(house)
            session.flush()
            if n == 42:
                idn = make_id_number(rng, male=True)
                add_person(session, house.id, name="王小明", id_number=idn, sex="M")
    return grid.id


def _rooms(page: str) -> list[str]:
    return ROOM.findall(page)


def test_the_houses_come_thirty_a_page_with_the_counts(big_grid: str, browser: OpenConsole) -> None:
    s1 = browser("s1")
    first = s1.get(f"/console/grid/{big_grid}").text
    assert len(_rooms(first)) == HOUSES_PER_PAGE == 30
    assert "共 73 户" in first and "显示第 1–30 户" in first
    assert "第 1 / 3 页" in first and "page=2" in first and "上一页" not in first
    pages = [_rooms(s1.get(f"/console/grid/{big_grid}?page={n}").text) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [30, 30, 13]
    every = [room for p in pages for room in p]
    assert len(set(every)) == 73  # each house once, in one order across the pages
    third = s1.get(f"/console/grid/{big_grid}?page=3").text
    assert "显示第 61–73 户" in third and "下一页" not in third


def test_search_by_room_address_or_resident_name(big_grid: str, browser: OpenConsole) -> None:
    s1 = browser("s1")

    def search(q: str, **extra: str) -> str:
        return s1.get(f"/console/grid/{big_grid}", params={"q": q, **extra}).text

    assert _rooms(search("王小明")) == ["5-042"]
    assert "“王小明”：73 户中 1 户符合" in search("王小明")
    assert _rooms(search("5-04")) == [f"5-04{n}" for n in range(10)]
    assert _rooms(search("  5-042  ")) == ["5-042"]  # spaces around are not part of it
    assert len(_rooms(search("东街"))) == 30 and "70 户符合" in search("东街")
    assert len(_rooms(search("东街", page="3"))) == 10
    # LIKE's own characters are taken literally.
    assert _rooms(search("100%")) == ["5-007"]
    assert _rooms(search("%")) == ["5-007"]
    assert _rooms(search("_")) == []
    assert "没有符合的房屋" in search("无此人")
    # The grid's own residents are found as well, and a search keeps the campaign choice.
    assert _rooms(search("张1121")) == ["0301"]
    page = search("王小明", campaign="none")
    assert 'name="campaign"' not in page or 'value="none"' in page


def test_hostile_paging_and_search(big_grid: str, tiny: TinyGrid, browser: OpenConsole) -> None:
    s1 = browser("s1")
    url = f"/console/grid/{big_grid}"
    for junk in ("abc", "-1", "0", "1.5", "99999999999999999999", "100001"):
        assert s1.get(url, params={"page": junk}).status_code == 422, junk
    # Past the last page: the last page.
    last = s1.get(url, params={"page": "100000"}).text
    assert "第 3 / 3 页" in last and len(_rooms(last)) == 13
    assert s1.get(url, params={"q": "x" * 201}).status_code == 422
    long = s1.get(url, params={"q": "东" * 200})
    assert long.status_code == 200 and "没有符合的房屋" in long.text
    # Markup in a search is shown as text.
    shown = s1.get(url, params={"q": '<script>alert(1)</script>"'}).text
    assert "<script>alert(1)" not in shown and "&lt;script&gt;" in shown
    # Another community's grid stays not found, searched or paged.
    other = tiny.nodes["T1-1-1-2-1"].id
    for params in ({"q": "张"}, {"page": "2"}, {"q": "%", "page": "1"}):
        assert s1.get(f"/console/grid/{other}", params=params).status_code == 404


def test_an_english_page_pages_too(big_grid: str, browser: OpenConsole) -> None:
    admin = browser("admin")
    admin.get("/console/lang/en")
    page = admin.get(f"/console/grid/{big_grid}", params={"q": "5-0", "page": "2"}).text
    assert "“5-0”: 70 of 73 houses" in page and "Page 2 of 3" in page
    assert "showing 31–60" in page
