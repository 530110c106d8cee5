"""Management: users added and deactivated, a lost phone revoked, a grid handed to another worker
(phones re-scope at their next pull), and grid base data uploaded with a row-level report."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sync_server.services.matters import create_org
from tests.factories import TinyGrid, make_id_number
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.wire_device import WireDevice

Phone = Callable[[str], WireDevice]


def _pull_status(phone: WireDevice) -> int:
    response = phone.client.post(
        "/api/v1/sync/pull",
        json={"protocol_version": 1, "device_id": phone.device_id, "cursor": phone.cursor},
        headers=phone.headers,
    )
    return response.status_code


def test_admin_adds_a_worker_who_can_then_sign_in_on_a_phone(
    tiny: TinyGrid, browser: OpenConsole, api: TestClient
) -> None:
    admin = browser("admin")
    added = admin.post(
        "/console/manage/users",
        {
            "username": "w11new",
            "display_name": "陈新",
            "role": "worker",
            "password": "a-long-password",
            "grids": "T1-1-1-1-1\nT1-1-1-1-2",
        },
    )
    assert added.status_code == 303
    page = admin.get(added.headers["location"]).text
    assert "陈新" in page and "T1-1-1-1-2" in page and "已新增人员" in page
    login = api.post(
        "/api/v1/auth/login", json={"username": "w11new", "password": "a-long-password"}
    )
    assert login.status_code == 200
    assert {g["code"] for g in login.json()["user"]["grids"]} == {"T1-1-1-1-1", "T1-1-1-1-2"}
    # A worker is given level-5 grids only, and a username once.
    wrong = admin.post(
        "/console/manage/users",
        {"username": "w2", "role": "worker", "password": "a-long-password", "grids": "T1-1-1-1"},
    )
    assert wrong.status_code == 422
    taken = admin.post(
        "/console/manage/users", {"username": "w11", "role": "worker", "password": "12345678x"}
    )
    assert taken.status_code == 409 and "用户名已存在" in taken.text
    unknown = admin.post(
        "/console/manage/users",
        {"username": "w3", "role": "worker", "password": "12345678x", "grids": "NOPE"},
    )
    assert unknown.status_code == 422 and "网格编码不存在" in unknown.text


def test_admin_adds_a_handler_of_an_organisation_who_serves_its_community(
    tiny: TinyGrid,
    browser: OpenConsole,
    api: TestClient,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session, session.begin():
        community = session.merge(tiny.nodes["T1-1-1-1"])
        create_org(session=session, name="城关水务站", kind="水务", grid=community)
    admin = browser("admin")
    assert "承办人员" in admin.get("/console/manage/users").text
    added = admin.post(
        "/console/manage/users",
        {"username": "h1", "role": "handler", "password": "a-long-password", "org": "城关水务站"},
    )
    assert added.status_code == 303
    login = api.post("/api/v1/auth/login", json={"username": "h1", "password": "a-long-password"})
    assert login.status_code == 200
    assert [g["code"] for g in login.json()["user"]["grids"]] == ["T1-1-1-1"]
    for form in (
        {"username": "h2", "role": "handler", "password": "a-long-password"},
        {"username": "h3", "role": "handler", "password": "a-long-password", "org": "无此单位"},
        {"username": "w9", "role": "worker", "password": "a-long-password", "org": "城关水务站"},
    ):
        assert admin.post("/console/manage/users", form).status_code == 422, form


def test_deactivating_a_user_signs_them_out_everywhere(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    s1 = browser("s1")
    admin = browser("admin")
    user_id = tiny.users["w11"].id
    assert (
        admin.post(f"/console/manage/users/{user_id}/active", {"active": "false"}).status_code
        == 303
    )
    assert _pull_status(phone) == 401
    assert "已停用" in admin.get(f"/console/manage/users/{user_id}").text
    # The same for a supervisor's console session.
    s1_id = tiny.users["s1"].id
    admin.post(f"/console/manage/users/{s1_id}/active", {"active": "false"})
    assert s1.get("/console", follow_redirects=False).status_code == 303
    assert browser().login("s1").status_code == 403
    admin.post(f"/console/manage/users/{s1_id}/active", {"active": "true"})
    assert browser().login("s1").status_code == 303
    # Nobody locks themselves out.
    own = admin.post(f"/console/manage/users/{tiny.users['admin'].id}/active", {"active": "false"})
    assert own.status_code == 422


def test_a_revoked_device_is_refused_at_its_next_request(
    tiny: TinyGrid, browser: OpenConsole, device: Phone, api: TestClient
) -> None:
    lost, spare = device("w11"), device("w11")
    admin = browser("admin")
    page = admin.get(f"/console/manage/users/{tiny.users['w11'].id}").text
    assert lost.device_id in page and spare.device_id in page
    revoked = admin.post(f"/console/manage/devices/{lost.device_id}/revoke")
    assert revoked.status_code == 303
    # 403 device_revoked, not a mere bad token: the app wipes its data when it sees this code.
    assert _pull_status(lost) == 403
    refused = lost.push_raw([])
    assert refused.status_code == 403 and refused.json()["code"] == "device_revoked"
    # It cannot sign in again either; the worker's other phone carries on.
    again = api.post(
        "/api/v1/auth/login",
        json={"username": "w11", "password": "correct-horse-battery", "device_id": lost.device_id},
    )
    assert again.status_code == 403 and again.json()["code"] == "device_revoked"
    assert _pull_status(spare) == 200
    assert "已停用" in admin.get(f"/console/manage/users/{tiny.users['w11'].id}").text


def test_handing_a_grid_to_another_worker_rescopes_both_phones(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    grid = tiny.nodes["T1-1-1-1-1"]
    old, new = device("w11"), device("w12")
    assert old.pull()[-1]["scope"] == [grid.id]
    admin = browser("admin")
    page = admin.get(f"/console/grid/{grid.id}").text
    assert 'list="worker-candidates"' in page
    given = admin.post(f"/console/manage/grids/{grid.id}/give", {"username": "w12"})
    assert given.status_code == 303
    assert "网格已移交" in admin.get(given.headers["location"]).text
    removed = old.pull()
    assert removed[0]["removed_grids"] == [grid.id]
    assert old.of("house") == {}
    gained = new.pull()
    assert grid.id in gained[-1]["scope"]
    assert {h.id for h in tiny.houses["T1-1-1-1-1"]} <= set(new.of("house"))
    # Only a level-5 grid, only to a worker.
    community = tiny.nodes["T1-1-1-1"]
    assert (
        admin.post(f"/console/manage/grids/{community.id}/give", {"username": "w12"}).status_code
        == 422
    )
    assert (
        admin.post(f"/console/manage/grids/{grid.id}/give", {"username": "s1"}).status_code == 422
    )


def test_assigning_grids_by_code_on_the_user_page(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w21")
    admin = browser("admin")
    saved = admin.post(
        f"/console/manage/users/{tiny.users['w21'].id}/grids",
        {"grids": "T1-1-1-2-1, T1-1-1-2-2"},
    )
    assert saved.status_code == 303
    assert len(phone.pull()[-1]["scope"]) == 2


def test_grid_import_upload_shows_the_report_with_bad_rows(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    good = make_id_number(random.Random(5))
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    roster = (
        "五级网格编码,道路,门牌号,楼栋,单元,房号,姓名,身份证号,与户主关系\n"
        f"T1-1-1-1-1,西大街,11号,1号楼,1单元,0501,郑导入,{good},户主\n"
        f"T1-1-1-1-1,西大街,11号,1号楼,1单元,0502,钱错号,{bad},户主\n"
        f"T1-1-1-1-9,西大街,11号,1号楼,1单元,0503,孙无格,{make_id_number(random.Random(6))},户主\n"
    ).encode("utf-8-sig")
    admin = browser("admin")
    files = {"files": ("西门_人房.csv", roster, "text/csv")}
    checked = admin.post("/console/manage/import", {"dry_run": "true"}, files=files)
    assert checked.status_code == 200
    assert "仅检查" in checked.text
    assert "郑导入" not in browser("admin").get(f"/console/grid/{tiny.nodes['T1-1-1-1-1'].id}").text
    phone.pull()
    assert "郑导入" not in {r["values"]["name"] for r in phone.of("resident").values()}
    report = admin.post("/console/manage/import", files=files)
    assert report.status_code == 200
    errors = report.text.split('class="errors"')[1]
    rows = re.findall(r'<td class="n">(\d+)</td>', errors)
    assert rows == ["3", "4"]
    assert "校验位" in errors  # the reason, in Chinese
    assert "西门_人房.csv" in errors
    # The good row is in, and the worker's phone pulls it like any other change.
    phone.pull()
    assert "郑导入" in {r["values"]["name"] for r in phone.of("resident").values()}


def test_grid_import_page_shows_warnings_and_ignored_columns(
    tiny: TinyGrid, browser: OpenConsole
) -> None:
    from tests.sync_server.data.make_office_sheets import CSV, XLSX

    files = [
        ("files", (XLSX.name, XLSX.read_bytes(), "application/octet-stream")),
        ("files", (CSV.name, CSV.read_bytes(), "text/csv")),
    ]
    page = browser("admin").post("/console/manage/import", files=files)
    assert page.status_code == 200
    assert "以下列不属于导入格式，已忽略：序号、民族" in page.text
    warnings = page.text.split('id="warnings"')[1]
    assert "警告（7）" in warnings
    assert "保姆" in warnings and "该项未导入" in warnings


def test_management_is_for_admins_only(tiny: TinyGrid, browser: OpenConsole) -> None:
    s1 = browser("s1")
    for url in ("/console/manage/users", "/console/manage/import"):
        assert s1.get(url).status_code == 403
    assert (
        s1.post(
            f"/console/manage/users/{tiny.users['w11'].id}/active", {"active": "false"}
        ).status_code
        == 403
    )
    assert s1.post(f"/console/manage/devices/{'0' * 8}/revoke").status_code == 403
