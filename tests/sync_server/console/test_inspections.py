"""A business inspection in the console: progress at every grid level (businesses checked of
those to check, problems found, struck off, overdue) drilling down like a campaign, and the
problem list per business with each matter's timeline."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Matter
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import BusinessWorld, answer, business_op, check_op
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.matter_helpers import GRID, PHOTO
from tests.sync_server.wire_device import WireDevice

SECOND_GRID = "T1-1-1-1-2"  # w12's, in the same community


def swept(api: TestClient, tiny: TinyGrid, shops: BusinessWorld) -> str:
    """w11 checks 老王餐馆 (fire and gas fail) and leaves 小李面馆 unchecked; w12 checks 张记
    快餐 (all pass), and 老王餐馆 is checked again: the fire exit now passes. Returns the
    campaign's page."""
    fire, gas, licence = (shops.items[f"catering:{c}"] for c in ("fire", "gas", "licence"))
    w11 = WireDevice(api, "w11")
    wang = business_op(w11, tiny.nodes[GRID].id, name="老王餐馆")
    li = business_op(w11, tiny.nodes[GRID].id, name="小李面馆")
    first = check_op(
        w11,
        shops.campaign_id,
        wang["record_id"],
        [answer(fire, "fail", "灭火器过期", [PHOTO]), answer(gas, "fail", "软管老化")],
    )
    assert {r["status"] for r in w11.push([wang, li, first])} == {"applied"}
    again = check_op(w11, shops.campaign_id, wang["record_id"], [answer(fire, "pass")])
    assert {r["status"] for r in w11.push([again])} == {"applied"}
    w12 = WireDevice(api, "w12")
    zhang = business_op(w12, tiny.nodes[SECOND_GRID].id, name="张记快餐")
    ok = check_op(w12, shops.campaign_id, zhang["record_id"], [answer(licence, "pass")])
    assert {r["status"] for r in w12.push([zhang, ok])} == {"applied"}
    return f"/console/inspections/{shops.campaign_id}"


def cells(html: str, code: str) -> list[str]:
    """The numbers of the table row of the grid node `code`."""
    row = html.split(f'<span class="code">{code}</span>', 2)[-1].split("</tr>")[0]
    return [c.split("</td>")[0].strip() for c in row.split('<td class="n')[1:]]


def numbers(values: list[str]) -> list[str]:
    return [v.split(">")[-1] for v in values]


def test_progress_at_every_level_with_drill_down(
    api: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    browser: OpenConsole,
    session_factory: sessionmaker[Session],
) -> None:
    page = swept(api, tiny, inspection)
    supervisor = browser("s1")
    community = supervisor.get(page)
    assert community.status_code == 200, community.text
    text = community.text
    assert "已检查 2 / 3 户" in text and "发现问题 2 个" in text and "已销号 1 个" in text
    assert "超期 0 个" in text
    # One row per grid of the community: to check, checked, found, struck off, overdue.
    assert numbers(cells(text, GRID)) == ["2", "1", "2", "1", "0"]
    assert numbers(cells(text, SECOND_GRID)) == ["1", "1", "0", "0", "0"]
    grid_link = f'{page}?node={tiny.nodes[GRID].id}"'
    assert grid_link in text
    # The open gas matter passes its time limit: it is overdue, at the grid and above.
    with session_factory() as session, session.begin():
        session.execute(
            update(Matter)
            .where(Matter.state != "closed")
            .values(due_at=RUN_CLOCK.now() - timedelta(hours=1))
        )
    grid = supervisor.get(f"{page}?node={tiny.nodes[GRID].id}")
    assert "已检查 1 / 2 户" in grid.text and "超期 1 个" in grid.text
    # Up to the district, the admin sees the same numbers for the community.
    district = browser("admin").get(f"{page}?node={tiny.nodes['T1-1-1'].id}")
    assert numbers(cells(district.text, "T1-1-1-1")) == ["3", "2", "2", "1", "1"]
    # The campaign list's link leads to this page; another community's node is not s1's.
    listed = supervisor.get(f"/console/campaigns/{inspection.campaign_id}", follow_redirects=False)
    assert listed.status_code == 303 and listed.headers["location"] == page
    outside = supervisor.get(f"{page}?node={tiny.nodes['T1-1-1-2'].id}")
    assert outside.status_code == 404


def sheet(response: Any) -> list[list[Any]]:
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]


def test_the_problem_list_is_per_business_with_each_matters_timeline(
    api: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    browser: OpenConsole,
) -> None:
    page = swept(api, tiny, inspection)
    header, *rows = sheet(browser("s1").get(f"{page}/problems.xlsx"))
    assert header[:6] == [
        "商户",
        "商户类型",
        "统一社会信用代码/注册号",
        "商户地址",
        "检查项",
        "网格编码",
    ]
    assert header[-1] == "办理过程"
    values = [dict(zip(header, row, strict=True)) for row in rows]
    assert [(v["商户"], v["检查项"], v["状态"]) for v in values] == [
        ("老王餐馆", "灭火器在有效期内、摆放到位", "已结案"),
        ("老王餐馆", "燃气管道无老化、安装报警器", "已上报"),
    ]
    assert values[0]["商户类型"] == "餐饮" and values[0]["来源"] == "排查整治"
    assert values[0]["类别"] == "商户检查"
    assert "复查合格销号" in str(values[0]["办理过程"])
    assert values[1]["办理过程"] in (None, "")


def test_the_grid_page_shows_a_running_inspection_as_businesses_checked(
    api: TestClient, tiny: TinyGrid, inspection: BusinessWorld, browser: OpenConsole
) -> None:
    """The grid page's campaign bars take a business inspection too: its targets are the
    businesses (checked of those to check), never a residents' rule it does not have."""
    swept(api, tiny, inspection)
    community = tiny.nodes[GRID].parent_id
    page = browser("s1").get(f"/console/grid/{community}?campaign={inspection.campaign_id}")
    assert page.status_code == 200, page.text
    # The community's two grids: 老王餐馆 and 小李面馆 (one checked), 张记快餐 (checked).
    assert "1 / 2" in page.text and "1 / 1" in page.text
