"""Two phones sweeping one grid, offline and online, against the real server."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Resident, User
from sync_server.services.users import assign_grids
from tests.days import iso
from tests.factories import TinyGrid, make_id_number
from tests.integration.harness import Phone, assert_device_equals_server
from tests.sync_server.conftest import login

GRID = "T1-1-1-1-1"


def test_offline_edits_on_two_phones_meet_on_both(
    phone: Callable[[str], Phone], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    a, b = phone("w11"), phone("w11b")
    a.sync()
    b.sync()
    rid = sorted(a.records("resident"))[0]
    a.transport.down = b.transport.down = True  # no signal in the stairwell
    a.store.update("resident", rid, {"phone": "13912345678"}, user_id=a.user_id)
    b.store.update("resident", rid, {"note": "独居，每周探访"}, user_id=b.user_id)
    house = sorted(a.records("house"))[0]
    import random

    person = a.store.create(
        "resident",
        {"name": "陈红", "id_number": make_id_number(random.Random(3), male=False)},
        user_id=a.user_id,
    )
    a.store.create(
        "binding",
        {
            "resident_id": person.record_id,
            "house_id": house,
            "relation": "tenant",
            "start_date": iso(-8),
        },
        user_id=a.user_id,
    )
    assert a.store.pending_count() == 3
    a.transport.down = b.transport.down = False
    report_a = a.sync()
    assert (report_a.sent, report_a.applied) == (3, 3)
    report_b = b.sync()
    assert report_b.merged == 1
    a.sync()
    for device in (a, b):
        values = device.records("resident")[rid][1]
        assert values["phone"] == "13912345678"
        assert values["note"] == "独居，每周探访"
        assert person.record_id in device.records("resident")
        assert device.store.pending_count() == 0
    with session_factory() as session:
        grid = {tiny.nodes[GRID].id}
        assert_device_equals_server(a, session, grid)
        assert_device_equals_server(b, session, grid)


def test_conflict_waits_for_an_admin_then_the_settled_value_reaches_the_phone(
    phone: Callable[[str], Phone], app: object, session_factory: sessionmaker[Session]
) -> None:
    a, b = phone("w11"), phone("w11b")
    a.sync()
    b.sync()
    rid = sorted(a.records("resident"))[0]
    a.store.update("resident", rid, {"name": "王小明"}, user_id=a.user_id)
    b.store.update("resident", rid, {"name": "王晓明"}, user_id=b.user_id)
    a.sync()
    report = b.sync()
    assert report.conflicts == 1
    # b shows what the server holds, and keeps its own typing visible as a problem.
    assert b.records("resident")[rid][1]["name"] == "王小明"
    [problem] = b.store.problems()
    assert problem.status == "conflict"
    admin = TestClient(app)  # type: ignore[arg-type]
    headers = login(admin, "admin", device=True)
    settled = admin.post(
        f"/api/v1/conflicts/{problem.conflict_id}/resolve",
        json={"choice": "device"},
        headers=headers,
    )
    assert settled.status_code == 200, settled.text
    b.sync()
    a.sync()
    assert b.records("resident")[rid][1]["name"] == "王晓明"
    assert a.records("resident")[rid][1]["name"] == "王晓明"
    assert b.store.problems() == []
    with session_factory() as session:
        assert session.get_one(Resident, rid).name == "王晓明"


def test_change_made_before_the_grid_moved_away_is_rejected_and_stays_visible(
    phone: Callable[[str], Phone], session_factory: sessionmaker[Session]
) -> None:
    a = phone("w11")
    a.sync()
    rid = sorted(a.records("resident"))[0]
    a.store.update("resident", rid, {"note": "门口遇到"}, user_id=a.user_id)
    with session_factory() as session, session.begin():
        user = session.scalars(select(User).where(User.username == "w11")).one()
        assign_grids(session=session, user=user, grids=[])
    report = a.sync()
    assert report.rejected == 1
    [problem] = a.store.problems()
    assert (problem.status, problem.code) == ("rejected", "out_of_scope")
    assert a.records("resident") == {}  # the grid's data left the phone


def test_a_phone_with_a_cursor_from_an_older_server_downloads_again_and_keeps_its_edits(
    phone: Callable[[str], Phone], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    """Cursors are signed now; an app updated over an older server's cursor must not be stuck,
    nor lose what it has not pushed yet."""
    import base64
    import json

    a = phone("w11")
    a.sync()
    rid = sorted(a.records("resident"))[0]
    a.transport.down = True
    a.store.update("resident", rid, {"note": "升级前的修改"}, user_id=a.user_id)
    old = json.dumps({"seq": 1, "scope": [tiny.nodes[GRID].id], "v": 1}).encode()
    a.store.meta.cursor = base64.urlsafe_b64encode(old).decode().rstrip("=")
    a.transport.down = False
    report = a.sync()
    assert report.applied == 1
    assert a.store.meta.cursor is not None and "." in a.store.meta.cursor
    with session_factory() as session:
        assert session.get(Resident, rid).note == "升级前的修改"  # type: ignore[union-attr]
        assert_device_equals_server(a, session, {tiny.nodes[GRID].id})
