"""The console's business pages: the list per grid subtree (supervisors see their subtree with
phones masked), and the admins' business types, checklist editor and business import."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Business, Campaign
from tests.days import iso
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import (
    CATERING,
    GRID,
    LODGING,
    OTHER_GRID,
    business_device,
    make_business_world,
)
from tests.sync_server.console.conftest import OpenConsole


def add_business(
    session_factory: sessionmaker[Session],
    grid_id: str,
    name: str,
    *,
    type_id: str = CATERING,
    status: str = "open",
    phone: str = "13905910001",
) -> str:
    with session_factory() as session, session.begin():
        business = Business(
            grid_id=grid_id,
            business_type_id=type_id,
            name=name,
            contact_name="王建国",
            contact_phone=phone,
            address="西大街11号",
            status=status,
        )
        session.add(business)
        session.flush()
        return business.id


def names(page: str) -> list[str]:
    return re.findall(r'<tr data-business="[^"]+">\s*<td>([^<]+)</td>', page)


def test_a_supervisor_lists_their_subtree_with_phones_masked(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    mine = tiny.nodes[GRID].id
    add_business(session_factory, mine, "老王沙县小吃", phone="13905910001")
    add_business(session_factory, mine, "海滨宾馆", type_id=LODGING, phone="13905910002")
    add_business(session_factory, mine, "停业面馆", status="suspended")
    add_business(session_factory, tiny.nodes[OTHER_GRID].id, "乙社区烧烤", phone="13905919999")

    page = browser("s1").get("/console/businesses")
    assert page.status_code == 200
    assert sorted(names(page.text)) == sorted(["老王沙县小吃", "海滨宾馆", "停业面馆"])
    assert "139****0001" in page.text and "13905910001" not in page.text
    assert "乙社区烧烤" not in page.text and "13905919999" not in page.text

    admin = browser("admin")
    everything = admin.get("/console/businesses").text
    assert "乙社区烧烤" in everything and "13905910001" in everything  # admins see phones whole
    under = admin.get("/console/businesses", params={"node": tiny.nodes[OTHER_GRID].id}).text
    assert names(under) == ["乙社区烧烤"]


def test_the_list_filters_by_type_and_status_and_pages(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    mine = tiny.nodes[GRID].id
    for n in range(101):
        add_business(session_factory, mine, f"小吃店{n:03d}")
    add_business(session_factory, mine, "海滨宾馆", type_id=LODGING)
    add_business(session_factory, mine, "停业宾馆", type_id=LODGING, status="suspended")
    console = browser("s1")

    lodging = console.get("/console/businesses", params={"type": LODGING}).text
    assert sorted(names(lodging)) == ["停业宾馆", "海滨宾馆"]
    suspended = console.get("/console/businesses", params={"type": LODGING, "status": "suspended"})
    assert names(suspended.text) == ["停业宾馆"] and "停业" in suspended.text

    first = console.get("/console/businesses", params={"type": CATERING}).text
    assert len(names(first)) == 100 and "下一页" in first
    second = console.get("/console/businesses", params={"type": CATERING, "page": 2}).text
    assert names(second) == ["小吃店100"]


def test_a_node_outside_the_supervisors_subtree_does_not_exist(
    browser: OpenConsole, tiny: TinyGrid
) -> None:
    page = browser("s1").get("/console/businesses", params={"node": tiny.nodes[OTHER_GRID].id})
    assert page.status_code == 404
    assert tiny.nodes[OTHER_GRID].code not in page.text


def item_rows(page: str) -> list[tuple[str, str]]:
    """(item id, its Chinese text) in the order the checklist page shows them."""
    return re.findall(r'<tr data-item="([^"]+)".*?name="text" value="([^"]+)"', page, re.S)


def test_an_admin_edits_a_checklist_and_phones_get_it_at_their_next_sync(
    browser: OpenConsole, api: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_business_world(session_factory, tiny)
    phone = business_device(api, "w11")
    admin = browser("admin")
    types = admin.get("/console/manage/business-types").text
    assert "餐饮" in types and f"/console/manage/business-types/{CATERING}" in types

    url = f"/console/manage/business-types/{CATERING}"
    added = admin.post(
        f"{url}/items", {"code": "exit", "text": "安全出口畅通", "text_en": "Exits clear"}
    )
    assert added.status_code == 303 and added.headers["location"].startswith(url)
    page = admin.get(added.headers["location"]).text
    assert "检查项已保存" in page
    assert [text for _, text in item_rows(page)] == [
        "营业执照、食品经营许可证在有效期内并公示",
        "灭火器在有效期内、摆放到位",
        "燃气管道无老化、安装报警器",
        "安全出口畅通",
    ]
    fire = world.items["catering:fire"]
    edited = admin.post(
        f"{url}/items/{fire}",
        {"code": "fire", "text": "灭火器在有效期内", "text_en": "Extinguishers", "active": "true"},
    )
    assert edited.status_code == 303
    moved = admin.post(f"{url}/items/{fire}/move", {"direction": "up"})
    assert moved.status_code == 303
    gas = world.items["catering:gas"]
    retired = admin.post(
        f"{url}/items/{gas}", {"code": "gas", "text": "燃气管道无老化、安装报警器"}
    )
    assert retired.status_code == 303

    page = admin.get(url).text
    assert [text for _, text in item_rows(page)][:2] == [
        "灭火器在有效期内",
        "营业执照、食品经营许可证在有效期内并公示",
    ]
    phone.pull(campaigns=True, businesses=True)
    items = phone.of("checklist_item")
    assert items[fire]["values"]["text"] == "灭火器在有效期内"
    assert items[gas]["values"]["active"] in (0, False)  # retired, still there for old checks
    order = sorted(
        (v["values"]["sort_order"], v["values"]["code"])
        for v in items.values()
        if v["values"]["business_type_id"] == CATERING
    )
    assert [code for _, code in order] == ["fire", "licence", "gas", "exit"]


def test_checklist_mistakes_are_named_and_only_admins_edit(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_business_world(session_factory, tiny)
    url = f"/console/manage/business-types/{CATERING}"
    admin = browser("admin")
    clash = admin.post(f"{url}/items", {"code": "fire", "text": "重复的编码"})
    assert clash.status_code == 409
    blank = admin.post(f"{url}/items", {"code": "x", "text": "   "})
    assert blank.status_code == 422
    supervisor = browser("s1")
    assert supervisor.get(url).status_code == 403
    fire = world.items["catering:fire"]
    refused = supervisor.post(f"{url}/items/{fire}", {"code": "fire", "text": "改掉"})
    assert refused.status_code == 403
    assert "灭火器在有效期内、摆放到位" in admin.get(url).text


def business_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["网格编码", "商户名称", "商户类型", "联系人", "联系电话", "地址"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def test_an_admin_imports_businesses_and_bad_rows_are_reported_by_row(
    browser: OpenConsole, tiny: TinyGrid
) -> None:
    admin = browser("admin")
    form = admin.get("/console/manage/businesses/import")
    assert form.status_code == 200 and "商户名称" in form.text
    upload = business_csv(
        [
            [GRID, "老王沙县小吃", "餐饮", "王建国", "13905910001", "西大街11号"],
            [GRID, "海滨宾馆", "住宿", "林美华", "13905910002", "海滨路2号"],
            ["NO-SUCH-GRID", "无名小店", "餐饮", "", "", ""],
        ]
    )
    files = [("files", ("商户.csv", upload, "text/csv"))]

    checked = admin.post("/console/manage/businesses/import", {"dry_run": "true"}, files=files)
    assert checked.status_code == 200 and "仅检查" in checked.text
    assert names(admin.get("/console/businesses").text) == []  # a dry run writes nothing

    done = admin.post("/console/manage/businesses/import", {}, files=files)
    assert done.status_code == 200
    report = done.text.split('id="report"')[1]
    created = re.search(r'商户</th><td class="n">(\d+)</td>', report)
    assert created is not None and created.group(1) == "2"
    errors = re.findall(r"<tr><td>[^<]*</td><td class=\"n\">(\d+)</td><td>([^<]*)</td>", report)
    assert [(row, column) for row, column in errors] == [("4", "网格编码")]
    listed = admin.get("/console/businesses").text
    assert sorted(names(listed)) == ["海滨宾馆", "老王沙县小吃"]

    supervisor = browser("s1")
    assert supervisor.get("/console/manage/businesses/import").status_code == 403
    refused = supervisor.post("/console/manage/businesses/import", {}, files=files)
    assert refused.status_code == 403


def test_an_admin_picks_the_business_types_a_business_inspection_covers(
    browser: OpenConsole, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    admin = browser("admin")
    form_page = admin.get("/console/campaigns").text
    assert 'name="business_types"' in form_page and "住宿" in form_page
    form = {
        "name": "宾馆消防专项检查",
        "kind": "business_inspection",
        "start_date": iso(-1),
        "end_date": iso(20),
        "grid_code": "T1-1-1-1",
        "business_types": [LODGING],
    }
    created = admin.post("/console/campaigns", form)
    assert created.status_code == 303, created.text
    household = admin.post("/console/campaigns", {**form, "name": "入户排查", "kind": "inspection"})
    assert household.status_code == 303, household.text
    with session_factory() as session:
        rows = session.execute(
            select(Campaign.name, Campaign.business_types).where(
                Campaign.name.in_(["宾馆消防专项检查", "入户排查"])
            )
        ).all()
        kinds = {name: types for name, types in rows}
    assert kinds == {"宾馆消防专项检查": [LODGING], "入户排查": []}
    unknown = admin.post("/console/campaigns", {**form, "business_types": ["no-such-type"]})
    assert unknown.status_code == 404
