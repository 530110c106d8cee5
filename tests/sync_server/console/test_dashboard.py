"""The dashboard: drill-down with counts at every level, the supervisor's subtree, the fleet."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from shared.clock import MovableClock
from tests.days import iso
from tests.factories import TinyGrid
from tests.sync_server.campaign_helpers import create_campaign
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.wire_device import WireDevice


def test_admin_drills_down_from_the_top_to_a_house(tiny: TinyGrid, browser: OpenConsole) -> None:
    admin = browser("admin")
    home = admin.get("/console").text
    assert "实验区" in home
    # Each level-5 grid has 3 houses holding 0 + 1 + 2 residents; there are 4 grids.
    top = admin.get(f"/console/grid/{tiny.nodes['T1'].id}").text
    assert '<span class="num">12</span>' in top  # residents
    community = admin.get(f"/console/grid/{tiny.nodes['T1-1-1-1'].id}").text
    assert "第1网格" in community and "第2网格" in community
    assert '<span class="num">6</span>' in community
    grid = admin.get(f"/console/grid/{tiny.nodes['T1-1-1-1-1'].id}").text
    assert "0201" in grid and "空置" in grid
    assert "w11" in grid  # the worker of this grid
    house = tiny.houses["T1-1-1-1-1"][2]
    page = admin.get(f"/console/house/{house.id}").text
    assert "张1120" in page and "张1121" in page
    assert "户主" in page and "家庭成员" in page


def test_supervisor_sees_only_their_subtree(tiny: TinyGrid, browser: OpenConsole) -> None:
    s1 = browser("s1")
    home = s1.get("/console").text
    assert "西门社区1" in home
    assert "西门社区2" not in home
    own = s1.get(f"/console/grid/{tiny.nodes['T1-1-1-1-2'].id}")
    assert own.status_code == 200
    # Above or beside their subtree: it does not exist for them.
    for node in ("T1", "T1-1-1-2", "T1-1-1-2-1"):
        assert s1.get(f"/console/grid/{tiny.nodes[node].id}").status_code == 404
    other_house = tiny.houses["T1-1-1-2-1"][1]
    assert s1.get(f"/console/house/{other_house.id}").status_code == 404
    # Ancestors are named in the breadcrumb but not linked.
    crumbs = own.text.split('class="crumbs"')[1].split("</nav>")[0]
    assert "实验区" in crumbs
    assert f"/console/grid/{tiny.nodes['T1'].id}" not in crumbs
    assert f"/console/grid/{tiny.nodes['T1-1-1-1'].id}" in crumbs


def test_supervisor_pages_mask_personal_data(tiny: TinyGrid, browser: OpenConsole) -> None:
    house = tiny.houses["T1-1-1-1-1"][1]
    s1 = browser("s1").get(f"/console/house/{house.id}").text
    admin = browser("admin").get(f"/console/house/{house.id}").text
    with_id = [line for line in admin.splitlines() if 'class="mono"' in line]
    full_id = with_id[0].split(">")[1].split("<")[0]
    assert len(full_id) == 18 and "*" not in full_id
    assert full_id not in s1
    assert "**************" + full_id[-4:] in s1


def test_fleet_shows_devices_and_their_reported_outbox(
    tiny: TinyGrid, browser: OpenConsole, device: Callable[[str], WireDevice]
) -> None:
    phone = device("w11")
    device("w21")
    s1 = browser("s1")
    page = s1.get("/console/fleet").text
    assert "w11" in page and "w12" in page
    assert "w21" not in page  # another community's worker
    assert "未知" in page  # the phone has not reported its outbox
    phone.pull(pending_ops=7, oldest_pending_at=f"{iso(-1)}T01:00:00Z")
    assert '<td class="n">7</td>' in s1.get("/console/fleet").text
    assert "w21" in browser("admin").get("/console/fleet").text
    # An app that stops reporting leaves the last report; an empty outbox has no oldest change.
    phone.pull()
    assert '<td class="n">7</td>' in s1.get("/console/fleet").text
    phone.pull(pending_ops=0, oldest_pending_at=f"{iso(-1)}T01:00:00Z")
    assert '<td class="n">0</td>' in s1.get("/console/fleet").text


def test_home_counts_work_waiting(tiny: TinyGrid, browser: OpenConsole) -> None:
    page = browser("admin").get("/console").text
    assert "待审核" in page and "待处理冲突" in page
    assert "待处理冲突" not in browser("s1").get("/console").text


def test_the_overview_follows_the_servers_clock_through_a_campaign_and_a_quiet_phone(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Callable[[str], WireDevice],
    api: TestClient,
    clock: MovableClock,
) -> None:
    create_campaign(api, "T1", name="冬季流感疫苗", start_date=iso(1), days=3)
    device("w11").pull()
    admin = browser("admin")

    def overview() -> tuple[bool, str]:
        page = admin.get("/console").text
        stale = page.split('href="/console/fleet"><span class="num">')[1].split("</span>")[0]
        return "冬季流感疫苗" in page.split("进行中的活动")[-1], stale

    assert overview() == (False, "0 / 1")  # starts tomorrow; the phone synced just now
    clock.advance(days=2)  # the campaign runs; the phone has been quiet for two days
    assert overview() == (True, "1 / 1")
    assert "超过一天未同步" in admin.get("/console/fleet").text
    clock.advance(days=2)  # the day after it ended
    assert overview()[0] is False


def test_a_phone_that_signed_in_but_never_synced_is_told_apart_from_a_quiet_one(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Callable[[str], WireDevice],
    api: TestClient,
    clock: MovableClock,
) -> None:
    WireDevice(api, "w11")  # signed in on a phone, the grid not downloaded yet
    device("w21").pull()  # another phone synced just now
    admin = browser("admin")

    def card() -> tuple[str, bool]:
        page = admin.get("/console").text
        counts = page.split('href="/console/fleet"><span class="num">')[1].split("</span>")[0]
        return counts, "其中 1 台已登录、从未同步" in page

    def states() -> list[str]:
        page = admin.get("/console/fleet").text
        return re.findall(r'<span class="badge s-(\w+)">', page)

    assert card() == ("0 / 2", True)
    assert sorted(states()) == ["applied", "never"]
    fleet = admin.get("/console/fleet").text
    assert "从未同步" in fleet and "超过一天未同步" not in fleet
    clock.advance(days=2)  # both quiet for two days: only the one that synced is stale
    assert card() == ("1 / 2", True)
    assert sorted(states()) == ["conflict", "never"]
    english = browser("admin")
    english.get("/console/lang/en")
    assert "Never synced" in english.get("/console/fleet").text
    assert "of them 1 signed in, never synced" in english.get("/console").text
