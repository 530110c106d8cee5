"""The audit trail page and the audit of management actions: who did what, from which device, when.

Admins see every sign-in, change, settlement, review, export, import and management action;
a supervisor sees only what touches their subtree and what their own team did; workers never get
in. ID numbers are masked for everyone but admins, in changes and in free text alike.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import AuditEvent
from tests.days import iso
from tests.factories import TinyGrid, make_id_number
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.console.test_review import _new_resident
from tests.sync_server.wire_device import WireDevice

Phone = Callable[[str], WireDevice]


def _rows(page: str) -> list[str]:
    """The trail's rows, newest first, each as its HTML (a change row holds its diff table)."""
    body = page.split("<tbody>", 1)[1]
    return body.split('<tr class="audit-')[1:]


def _actions(session_factory: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with session_factory() as session:
        return [
            (e.action, e.username, e.record_id)
            for e in session.scalars(
                select(AuditEvent).where(~AuditEvent.action.startswith("login"))
            )
        ]


def test_admin_sees_every_kind_newest_first_and_filters_them(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    rid = sorted(phone.of("resident"))[0]
    assert phone.push([phone.edit("resident", rid, phone="13900002222")])[0]["status"] == "applied"
    admin = browser("admin")
    page = admin.get("/console/audit")
    assert page.status_code == 200
    assert "审计日志" in page.text
    rows = _rows(page.text)
    # Newest first: the admin's own sign-in, then the change, then w11's sign-in on the phone.
    assert rows[0].startswith("event") and "admin" in rows[0] and "登录" in rows[0]
    assert rows[1].startswith("change") and "13900002222" in rows[1]
    assert phone.device_id[:8] in rows[1] or "w11" in rows[1]
    assert f"/console/history/resident/{rid}" in rows[1]
    assert rows[2].startswith("event") and "w11" in rows[2] and phone.device_id[:8] in rows[2]
    # Filters: only changes; only sign-ins of w11; a day with nothing.
    changes = _rows(admin.get("/console/audit?action=change").text)
    assert len(changes) == 1 and changes[0].startswith("change")
    w11_logins = _rows(admin.get("/console/audit?action=login&user=w11").text)
    assert len(w11_logins) == 1 and "w11" in w11_logins[0]
    two_days_ago = iso(-2)
    assert "没有符合条件的记录" in admin.get(f"/console/audit?until={two_days_ago}").text
    today = _rows(admin.get(f"/console/audit?since={iso()}&user=w11").text)
    assert [r.split('"', 1)[0] for r in today] == ["change", "event"]
    # English labels for the same page.
    admin.get("/console/lang/en")
    assert "Audit trail" in admin.get("/console/audit").text


def test_supervisor_sees_only_their_subtree_and_team_with_id_numbers_masked(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    mine, theirs = device("w11"), device("w21")
    rid = sorted(mine.of("resident"))[0]
    other = sorted(theirs.of("resident"))[0]
    idn = make_id_number(random.Random(11))
    mine.push([mine.edit("resident", rid, id_number=idn)])
    theirs.push([theirs.edit("resident", other, phone="13700007777")])
    admin = browser("admin")
    assert idn in admin.get("/console/audit?action=change").text
    s1 = browser("s1")
    page = s1.get("/console/audit").text
    assert idn not in page
    assert "*" * 14 + idn[-4:] in page  # masked: the last four only
    assert f"/console/history/resident/{rid}" in page
    assert "13700007777" not in page and f"/console/history/resident/{other}" not in page
    # Sign-ins: their own and their worker's, not the other community's or the admin's.
    logins = " ".join(_rows(s1.get("/console/audit?action=login").text))
    assert "w11" in logins and "s1" in logins
    assert "w21" not in logins and "admin" not in logins
    assert "w21" not in s1.get("/console/audit?user=w21").text.split("<tbody>", 1)[1]


def test_workers_and_strangers_never_see_the_trail(tiny: TinyGrid, browser: OpenConsole) -> None:
    stranger = browser()
    away = stranger.get("/console/audit", follow_redirects=False)
    assert away.status_code in (302, 303, 307) and "/console/login" in away.headers["location"]
    worker = browser()
    assert worker.login("w11").status_code == 403
    assert worker.get("/console/audit", follow_redirects=False).status_code != 200


def test_management_actions_are_audited_with_who_and_address(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Phone,
    session_factory: sessionmaker[Session],
) -> None:
    lost = device("w11")
    admin = browser("admin")
    added = admin.post(
        "/console/manage/users",
        {"username": "w13", "password": "a-long-password-1", "role": "worker"},
    )
    assert added.status_code == 303
    w21 = tiny.users["w21"].id
    admin.post(f"/console/manage/users/{w21}/active", {"active": "false"})
    admin.post(f"/console/manage/users/{w21}/grids", {"grids": "T1-1-1-2-1 T1-1-1-2-2"})
    admin.post(f"/console/manage/devices/{lost.device_id}/revoke")
    grid = tiny.nodes["T1-1-1-1-2"]
    admin.post(f"/console/manage/grids/{grid.id}/give", {"username": "w13"})
    # A refused action leaves no trace.
    own = admin.post(f"/console/manage/users/{tiny.users['admin'].id}/active", {"active": "false"})
    assert own.status_code == 422
    events = _actions(session_factory)
    assert [a for a, _, _ in events] == [
        "user_added",
        "user_deactivated",
        "grids_assigned",
        "device_revoked",
        "grid_given",
    ]
    assert {who for _, who, _ in events} == {"admin"}
    assert events[1][2] == w21 and events[3][2] == lost.device_id and events[4][2] == grid.id
    with session_factory() as session:
        given = session.scalars(select(AuditEvent).where(AuditEvent.action == "grid_given")).one()
        assert given.detail == {"grid": grid.code, "to": "w13", "before": ["w12"]}
        assert given.ip == "testclient" and given.user_id == tiny.users["admin"].id
    page = " ".join(_rows(admin.get("/console/audit").text))  # rows, not the filter's options
    for label in ("新增人员", "停用账号", "调整负责网格", "停用设备", "移交网格"):
        assert label in page
    # The grid node's own history names the hand-over.
    history = admin.get(f"/console/history/grid_node/{grid.id}").text
    assert "移交网格" in history.split("审计记录", 1)[1]
    # s1 supervises the grid handed over and w11's revoked phone; w21 is not their worker.
    s1_page = " ".join(_rows(browser("s1").get("/console/audit").text))
    assert "移交网格" in s1_page and "停用设备" in s1_page
    assert "停用账号" not in s1_page


def test_a_console_grid_import_is_audited_and_a_dry_run_is_not(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    roster = (
        "五级网格编码,道路,门牌号,楼栋,单元,房号,姓名,身份证号,与户主关系\n"
        f"T1-1-1-1-1,西大街,11号,1号楼,1单元,0501,郑导入,{make_id_number(random.Random(5))},户主\n"
    ).encode("utf-8-sig")
    admin = browser("admin")
    files = {"files": ("西门_人房.csv", roster, "text/csv")}
    assert admin.post("/console/manage/import", {"dry_run": "true"}, files=files).status_code == 200
    assert _actions(session_factory) == []
    assert admin.post("/console/manage/import", files=files).status_code == 200
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "import")).one()
    assert (event.username, event.ip) == ("admin", "testclient")
    assert event.detail["kind"] == "grid" and event.detail["files"] == ["西门_人房.csv"]
    assert event.detail["counts"]["residents"]["created"] == 1
    row = _rows(admin.get("/console/audit?action=import").text)[0]
    assert "导入数据" in row and "西门_人房.csv" in row and "居民 新增 1" in row


def test_review_decisions_stay_in_the_record_history_with_reasons_masked(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    person, results = _new_resident(phone, "冯两审")
    op_id = results[0]["op_id"]
    idn = make_id_number(random.Random(3))
    s1 = browser("s1")
    sent = s1.post(f"/console/review/{op_id}/send-back", {"reason": f"身份证应为{idn}"})
    assert sent.status_code == 303
    assert s1.post(f"/console/review/{op_id}/approve").status_code == 303
    # The decision row keeps only "approved"; the history keeps both, in order.
    history = s1.get(f"/console/history/resident/{person}").text
    trail = history.split("审计记录", 1)[1]
    assert trail.index("审核退回") < trail.index("审核通过")
    assert idn not in trail and "*" * 14 + idn[-4:] in trail
    assert idn in browser("admin").get(f"/console/history/resident/{person}").text


def test_history_of_a_record_outside_the_subtree_is_the_same_404_as_none(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w21")
    rid = sorted(phone.of("resident"))[0]
    name = phone.records[("resident", rid)]["values"]["name"]
    s1 = browser("s1")
    hidden = s1.get(f"/console/history/resident/{rid}")
    missing = s1.get("/console/history/resident/00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert name not in hidden.text
    assert hidden.text.replace(rid, "X") == missing.text.replace(
        "00000000-0000-4000-8000-000000000000", "X"
    )
