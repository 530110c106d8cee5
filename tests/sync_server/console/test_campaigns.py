"""Campaigns in the console: created by an admin, progress bars and missed counts down the grid,
a completion import that moves the bars, and the missed list exported by role."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Binding, GridNode, House, Resident
from tests.days import iso
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import Console, OpenConsole


def _residents(session_factory: sessionmaker[Session], grid_code: str) -> list[Resident]:
    with session_factory() as session:
        return list(
            session.scalars(
                select(Resident)
                .join(Binding, Binding.resident_id == Resident.id)
                .join(House, House.id == Binding.house_id)
                .join(GridNode, GridNode.id == House.grid_id)
                .where(GridNode.code == grid_code)
                .order_by(Resident.name)
            )
        )


def _create(admin_console: Console, **overrides: str) -> str:
    form = {
        "name": "第3轮核酸检测",
        "kind": "testing",
        "start_date": iso(-8),
        "end_date": iso(2),
        "grid_code": "T1-1-1-1",
        "age_min": "",
        "age_max": "",
        **overrides,
    }
    response = admin_console.post("/console/campaigns", form)
    assert response.status_code == 303, response.text
    found = re.search(r"/console/campaigns/([0-9a-f-]{36})", response.headers["location"])
    assert found is not None
    return found.group(1)


def test_progress_bars_and_missed_counts_follow_a_completion_import(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    campaign_id = _create(admin)
    community = tiny.nodes["T1-1-1-1"]
    page = admin.get(f"/console/grid/{community.id}?campaign={campaign_id}").text
    # Six residents live in the community's two grids; none has completed yet.
    assert '<progress max="6" value="0">' in page
    assert "漏检 6 人" in page
    done = _residents(session_factory, "T1-1-1-1-1")[:2]
    completions = "序号,身份证号,完成时间,完成地点\n" + "".join(
        f"{n},{r.id_number},{iso(-7)} 09:30,{'西门采样点' if n else '采' * 201}\n"
        for n, r in enumerate(done)
    )
    imported = admin.post(
        f"/console/campaigns/{campaign_id}/completions",
        files={"file": ("平台数据.csv", completions.encode("utf-8-sig"), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    assert "导入 2" in imported.text
    # The place too long is left out, the completion counted, and the page says so.
    assert "警告（1）" in imported.text and "该项未导入" in imported.text
    assert "以下列不属于导入格式，已忽略：序号" in imported.text
    assert '<progress max="6" value="2">' in imported.text
    page = admin.get(f"/console/grid/{community.id}?campaign={campaign_id}").text
    assert "漏检 4 人" in page
    grid = admin.get(f"/console/grid/{tiny.nodes['T1-1-1-1-1'].id}?campaign={campaign_id}").text
    assert '<progress max="3" value="2">' in grid
    # The list page loads each bar on its own.
    listing = admin.get("/console/campaigns").text
    assert f'hx-get="/console/campaigns/{campaign_id}/bar"' in listing
    assert '<progress max="6" value="2">' in admin.get(f"/console/campaigns/{campaign_id}/bar").text


def test_supervisor_exports_the_missed_list_of_their_grid(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    campaign_id = _create(admin, grid_code="T1")
    s1 = browser("s1")
    grid = tiny.nodes["T1-1-1-1-1"]
    page = s1.get(f"/console/grid/{grid.id}?campaign={campaign_id}").text
    assert f"/console/export/missed?node={grid.id}" in page
    response = s1.get(f"/console/export/missed?node={grid.id}&campaign={campaign_id}&format=csv")
    assert response.status_code == 200
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert "身份证号" in header
    people = _residents(session_factory, "T1-1-1-1-1")
    assert sorted(r[header.index("姓名")] for r in rows) == sorted(p.name for p in people)
    ids = {r[header.index("身份证号")] for r in rows}
    assert all("*" in i for i in ids)
    assert not ids & {p.id_number for p in people}
    other = tiny.nodes["T1-1-1-2-1"]
    refused = s1.get(f"/console/export/missed?node={other.id}&campaign={campaign_id}&format=csv")
    assert refused.status_code == 404


def test_supervisor_cannot_create_or_import(tiny: TinyGrid, browser: OpenConsole) -> None:
    s1 = browser("s1")
    form = {
        "name": "x",
        "kind": "testing",
        "start_date": iso(-8),
        "end_date": iso(2),
        "grid_code": "T1-1-1-1",
    }
    assert s1.post("/console/campaigns", form).status_code == 403


def test_without_campaign_services_the_console_hides_campaigns(
    tiny: TinyGrid, browser: OpenConsole, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_server.console.routes import campaigns, dashboard, exports

    for module in (campaigns, dashboard, exports):
        monkeypatch.setattr(module, "campaign_port", lambda: None)
    admin = browser("admin")
    assert "本版本尚未启用活动功能" in admin.get("/console/campaigns").text
    page = admin.get(f"/console/grid/{tiny.nodes['T1-1-1-1'].id}").text
    assert "完成进度" not in page and "导出漏检名单" not in page
    missed = admin.get(f"/console/export/missed?node={tiny.nodes['T1'].id}&campaign=x")
    assert missed.status_code == 404


def test_the_form_names_an_end_before_the_start_and_ages_the_wrong_way_round(
    tiny: TinyGrid, browser: OpenConsole
) -> None:
    admin = browser("admin")
    form = {
        "name": "第3轮核酸检测",
        "kind": "testing",
        "start_date": iso(2),
        "end_date": iso(-8),
        "grid_code": "T1-1-1-1",
    }
    ends_first = admin.post("/console/campaigns", form)
    assert ends_first.status_code == 422
    assert "结束日期早于开始日期" in ends_first.text
    ages = {**form, "end_date": iso(2), "age_min": "60", "age_max": "18"}
    wrong_way = admin.post("/console/campaigns", ages)
    assert wrong_way.status_code == 422
    assert "最小年龄大于最大年龄" in wrong_way.text
    assert "第3轮核酸检测" not in admin.get("/console/campaigns").text  # nothing was created
    # The same form the right way round creates the campaign, ending on the day given.
    _create(admin, start_date=iso(-8), end_date=iso(-8), age_min="18", age_max="18")
    assert "第3轮核酸检测" in admin.get("/console/campaigns").text
