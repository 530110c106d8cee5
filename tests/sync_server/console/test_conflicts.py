"""Conflicts in the console: three values side by side, settled one way or another, one or many,
and devices then pull the settled value."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.schema import Role
from sync_server.models import GridNode, Resident
from sync_server.services.users import create_user
from tests.days import iso
from tests.factories import TinyGrid, password_hash
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.wire_device import WireDevice

Phone = Callable[[str], WireDevice]


def _two_phones(
    device: Phone, session_factory: sessionmaker[Session]
) -> tuple[WireDevice, WireDevice]:
    """w11 and a colleague sent into the same grid (a campaign day's extra staff)."""
    with session_factory() as session, session.begin():
        grid = session.scalars(select(GridNode).where(GridNode.code == "T1-1-1-1-1")).one()
        create_user(
            session=session,
            username="w11b",
            password_hash=password_hash(),
            role=Role.WORKER,
            grids=[grid],
        )
    return device("w11"), device("w11b")


def _name_conflict(a: WireDevice, b: WireDevice, rid: str, mine: str, theirs: str) -> str:
    assert a.push([a.edit("resident", rid, name=mine)])[0]["status"] == "applied"
    [result] = b.push([b.edit("resident", rid, name=theirs)])
    assert result["status"] == "conflict"
    return str(result["conflict_id"])


def test_conflict_page_shows_base_server_and_device_and_settles_to_the_device_value(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Phone,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _two_phones(device, session_factory)
    rid = sorted(a.of("resident"))[0]
    base = a.records[("resident", rid)]["values"]["name"]
    conflict_id = _name_conflict(a, b, rid, "王小明", "王晓明")
    admin = browser("admin")
    listing = admin.get("/console/conflicts").text
    assert f"/console/conflicts/{conflict_id}" in listing and "同时修改" in listing
    page = admin.get(f"/console/conflicts/{conflict_id}").text
    for cell, value in (("base", base), ("server", "王小明"), ("device", "王晓明")):
        assert re.search(rf'<td class="{cell}">(<label>.*?)?{value}', page), cell
    settled = admin.post(f"/console/conflicts/{conflict_id}/settle", {"pick.name": "device"})
    assert settled.status_code == 303
    assert "冲突已处理" in admin.get(settled.headers["location"]).text
    for phone in (a, b):
        phone.pull()
        assert phone.records[("resident", rid)]["values"]["name"] == "王晓明"
    assert f"/console/conflicts/{conflict_id}" not in admin.get("/console/conflicts").text
    again = admin.post(f"/console/conflicts/{conflict_id}/settle", {"pick.name": "server"})
    assert again.status_code == 409
    history = admin.get(f"/console/history/resident/{rid}").text
    assert "处理了冲突" in history
    # The audit trail of the record: the settlement, by whom.
    assert "审计记录" in history
    assert re.search(r'<tr class="audit-event">.*?处理冲突</td><td>admin</td>', history)


def test_admin_enters_a_third_value_which_is_validated(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Phone,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _two_phones(device, session_factory)
    rid = sorted(a.of("resident"))[0]
    conflict_id = _name_conflict(a, b, rid, "甲", "乙")
    admin = browser("admin")
    empty = admin.post(
        f"/console/conflicts/{conflict_id}/settle", {"pick.name": "other", "value.name": ""}
    )
    assert empty.status_code == 422
    ok = admin.post(
        f"/console/conflicts/{conflict_id}/settle",
        {"pick.name": "other", "value.name": "丙"},
    )
    assert ok.status_code == 303
    a.pull()
    assert a.records[("resident", rid)]["values"]["name"] == "丙"


def test_settle_many_at_once_and_list_what_failed(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Phone,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _two_phones(device, session_factory)
    ids = [_name_conflict(a, b, rid, "甲", "乙") for rid in sorted(a.of("resident"))[:2]]
    admin = browser("admin")
    result = admin.post("/console/conflicts/settle", {"choice": "device", "ids": [*ids, "nope"]})
    assert result.status_code == 200
    assert "已处理 2 个，1 个未能处理" in result.text
    b.pull()
    assert {
        b.records[("resident", rid)]["values"]["name"] for rid in sorted(b.of("resident"))[:2]
    } == {"乙"}


def test_duplicate_is_merged_into_the_existing_resident(
    tiny: TinyGrid,
    browser: OpenConsole,
    device: Phone,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = _two_phones(device, session_factory)
    existing_id, existing = sorted(a.of("resident").items())[0]
    house_id = sorted(b.of("house"))[-1]
    person, binding = str(uuid.uuid4()), str(uuid.uuid4())
    results = b.push(
        [
            b.op(
                "resident",
                person,
                "create",
                {
                    "name": (None, existing["values"]["name"]),
                    "id_number": (None, existing["values"]["id_number"]),
                },
            ),
            b.op(
                "binding",
                binding,
                "create",
                {
                    "resident_id": (None, person),
                    "house_id": (None, house_id),
                    "relation": (None, "tenant"),
                    "start_date": (None, iso(-8)),
                },
            ),
        ]
    )
    conflict_id = results[0]["conflict_id"]
    admin = browser("admin")
    page = admin.get(f"/console/conflicts/{conflict_id}").text
    assert "重复居民" in page and "已有居民" in page
    assert "租户" in page  # the held binding, shown so the admin knows what merging does
    assert (
        admin.post(f"/console/conflicts/{conflict_id}/settle", {"choice": "merge"}).status_code
        == 303
    )
    b.pull()
    assert ("resident", person) not in b.records
    assert b.records[("binding", binding)]["values"]["resident_id"] == existing_id
    with session_factory() as session:
        live = session.scalars(
            select(Resident).where(
                Resident.id_number == existing["values"]["id_number"], Resident.deleted.is_(False)
            )
        ).all()
        assert [r.id for r in live] == [existing_id]
    # The merged person's history holds the duplicate's operations and the settlement.
    history = admin.get(f"/console/history/resident/{existing_id}").text
    assert "来自合并的重复记录" in history and "合并为同一人" in history


def test_conflicts_are_for_admins_only(tiny: TinyGrid, browser: OpenConsole) -> None:
    s1 = browser("s1")
    assert s1.get("/console/conflicts").status_code == 403
    assert "nav.conflicts" not in s1.get("/console").text
    assert "/console/conflicts" not in s1.get("/console").text
