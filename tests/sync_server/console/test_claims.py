"""The claim list a unit sees (认领清单) in the console: what is published to the communities it
serves and what is dispatched to it, with the place as a handler sees it; who may look at it;
its filters; and the way there from the matters board."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import format_timestamp
from shared.matters import default_category_id
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import Console, OpenConsole
from tests.sync_server.console.test_matters import reported
from tests.sync_server.matter_helpers import (
    GRID,
    OTHER_GRID,
    MatterWorld,
    a_resident_of,
    matter_device,
    step,
)


def claim_ids(html: str) -> set[str]:
    return set(re.findall(r'class="claim-row" data-id="([0-9a-f-]{36})"', html))


def unit_ids(html: str) -> set[str]:
    return set(re.findall(r'class="unit-row" data-id="([0-9a-f-]{36})"', html))


def unit_counts(html: str, org_id: str) -> tuple[int, int]:
    row = re.search(rf'data-id="{org_id}">(.*?)</tr>', html, re.S)
    assert row is not None, html[:2000]
    *_, claimable, dispatched = re.findall(r"<td>(\d+)</td>", row.group(1))
    return int(claimable), int(dispatched)


def moved(admin: Console, matter: str, *steps: tuple[str, str, dict[str, Any]]) -> None:
    for action, from_state, extra in steps:
        done = admin.post(
            f"/console/matters/{matter}/steps",
            {"action": action, "from_state": from_state, **extra},
        )
        assert done.status_code == 303, done.text


def published(admin: Console, matter: str) -> str:
    moved(admin, matter, ("accept", "reported", {}), ("publish", "accepted", {}))
    return matter


def test_a_units_claim_list_holds_its_communitys_published_orders_and_its_dispatched_ones(
    api: TestClient,
    tiny: TinyGrid,
    world: MatterWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    resident = a_resident_of(session_factory, tiny, GRID)
    admin = browser("admin")
    open_order = published(
        admin, reported(api, tiny, description="楼道堆放杂物", resident_id=resident.id)
    )
    to_water = reported(api, tiny, description="水管破裂漏水")
    moved(
        admin,
        to_water,
        ("accept", "reported", {}),
        ("dispatch", "accepted", {"target": f"org:{world.water_org}"}),
    )
    elsewhere = published(admin, reported(api, tiny, OTHER_GRID, description="光缆垂落"))
    only_reported = reported(api, tiny, description="刚上报的事项")

    water = admin.get(f"/console/units/{world.water_org}/claims")
    assert water.status_code == 200, water.text
    assert claim_ids(water.text) == {open_order, to_water}
    # The place as a handler sees it: the resident's name and masked phone, no ID number.
    assert resident.name in water.text
    assert resident.phone and resident.phone not in water.text
    assert resident.phone[:3] + "****" + resident.phone[-4:] in water.text
    assert resident.id_number not in water.text
    assert "待认领" in water.text and "派给本单位" in water.text and "72小时" in water.text
    # Another unit of the same community sees the published order, not water's own.
    volunteers = admin.get(f"/console/units/{world.volunteers_org}/claims").text
    assert claim_ids(volunteers) == {open_order}
    assert claim_ids(admin.get(f"/console/units/{world.telecom_org}/claims").text) == {elsewhere}
    assert only_reported not in water.text

    # The units' list counts each unit's orders: to claim, and dispatched to it.
    units = admin.get("/console/units").text
    assert unit_counts(units, world.water_org) == (1, 1)
    assert unit_counts(units, world.volunteers_org) == (1, 0)
    assert unit_counts(units, world.telecom_org) == (1, 0)

    # Claimed by a member of water, the order leaves every other unit's list and stays on
    # water's, naming who took it.
    h1 = matter_device(api, "h1")
    [claimed] = h1.push([step(h1, open_order, "claim", "published")])
    assert claimed["status"] == "applied", claimed
    assert claim_ids(admin.get(f"/console/units/{world.volunteers_org}/claims").text) == set()
    water = admin.get(f"/console/units/{world.water_org}/claims").text
    assert claim_ids(water) == {open_order, to_water}
    assert "接单人：" in water


def test_supervisors_see_the_units_serving_their_subtree_and_admins_every_unit(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    supervisor, admin = browser("s1"), browser("admin")
    board = supervisor.get("/console/matters").text
    assert 'href="/console/units"' in board  # the way there from the matters board
    units = supervisor.get("/console/units")
    assert units.status_code == 200, units.text
    assert unit_ids(units.text) == {world.water_org, world.volunteers_org}
    assert f'href="/console/units/{world.water_org}/claims"' in units.text
    assert "电信西门营业部" not in units.text
    assert unit_ids(admin.get("/console/units").text) == {
        world.water_org,
        world.volunteers_org,
        world.telecom_org,
    }
    # A unit serving another community is "not found", like any record outside one's grids.
    assert supervisor.get(f"/console/units/{world.telecom_org}/claims").status_code == 404
    for hostile in ("nope", "../../matters", "x" * 500, "' OR 1=1 --"):
        assert supervisor.get(f"/console/units/{hostile}/claims").status_code == 404


def test_the_claim_list_filters_by_community_category_and_overdue_in_both_languages(
    api: TestClient, tiny: TinyGrid, world: MatterWorld, browser: OpenConsole
) -> None:
    admin = browser("admin")
    four_days_ago = format_timestamp(RUN_CLOCK.now() - timedelta(days=4))
    late = published(
        admin, reported(api, tiny, description="超期未认领", reported_at=four_days_ago)
    )
    safety = published(
        admin,
        reported(
            api, tiny, description="电动车飞线充电", category_id=default_category_id("安全隐患")
        ),
    )
    url = f"/console/units/{world.water_org}/claims"
    assert claim_ids(admin.get(url).text) == {late, safety}
    assert claim_ids(admin.get(url, params={"overdue": "1"}).text) == {late}
    safety_only = admin.get(url, params={"category": default_category_id("安全隐患")}).text
    assert claim_ids(safety_only) == {safety}
    community = tiny.nodes["T1-1-1-1"].id
    assert claim_ids(admin.get(url, params={"community": community}).text) == {late, safety}
    # A community the unit does not serve filters nothing it may not show; hostile values too.
    other = tiny.nodes["T1-1-1-2"].id
    for params in ({"community": other}, {"category": "'; DROP TABLE matters"}, {"page": "-3"}):
        answer = admin.get(url, params=params)
        assert answer.status_code == 200, answer.text
        assert "光缆" not in answer.text
    overdue = admin.get(url, params={"overdue": "1"}).text
    assert "超期" in overdue
    admin.get(f"/console/lang/en?next={url}")
    english = admin.get(url).text
    assert "Claim list" in english and "To claim" in english and "72 h" in english
    assert "Overdue" in admin.get(url, params={"overdue": "1"}).text
