"""Review: recent changes and record history with before/after; the new-resident and move-out
queue, where a send-back reaches the worker's phone in its next pull."""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from typing import Any

from tests.days import iso
from tests.factories import TinyGrid, make_id_number
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.wire_device import WireDevice

Phone = Callable[[str], WireDevice]


def _new_resident(phone: WireDevice, name: str = "林新来") -> tuple[str, list[dict[str, Any]]]:
    """A person found at the door: the resident and their binding, in one batch."""
    house_id = sorted(phone.of("house"))[0]
    person = str(uuid.uuid4())
    idn = make_id_number(random.Random(name))
    results = phone.push(
        [
            phone.op(
                "resident", person, "create", {"name": (None, name), "id_number": (None, idn)}
            ),
            phone.op(
                "binding",
                str(uuid.uuid4()),
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
    assert [r["status"] for r in results] == ["applied", "applied"], results
    return person, results


def _op_ids(page: str) -> list[str]:
    return re.findall(r'id="review-([0-9a-f-]{36})"', page)


def test_changes_and_history_show_who_when_and_before_after(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    rid = sorted(phone.of("resident"))[0]
    old_phone = phone.records[("resident", rid)]["values"]["phone"]
    assert (
        phone.push([phone.edit("resident", rid, phone="13900001111", note="新手机号")])[0]["status"]
        == "applied"
    )
    admin = browser("admin")
    changes = admin.get("/console/changes").text
    assert "13900001111" in changes and old_phone in changes
    assert f"/console/history/resident/{rid}" in changes
    history = admin.get(f"/console/history/resident/{rid}").text
    assert "修改前" in history and "修改后" in history
    assert old_phone in history and "13900001111" in history and "新手机号" in history
    assert "w11" in history or phone.device_id[:8] in history
    # The supervisor of the grid sees it, masked; the other community's does not.
    s1 = browser("s1")
    assert "139****1111" in s1.get(f"/console/history/resident/{rid}").text
    assert "139****1111" in s1.get("/console/changes").text
    s2 = browser("s2")
    assert s2.get(f"/console/history/resident/{rid}").status_code == 404
    assert "139****1111" not in s2.get("/console/changes").text


def test_new_resident_is_approved_by_the_supervisor_of_that_grid(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    _, results = _new_resident(phone)
    s1 = browser("s1")
    queue = s1.get("/console/review").text
    assert "林新来" in queue and "新增居民" in queue
    [op_id] = _op_ids(queue)
    assert op_id == results[0]["op_id"]
    assert "林新来" not in browser("s2").get("/console/review").text
    assert browser("s2").post(f"/console/review/{op_id}/approve").status_code == 404
    done = s1.post(f"/console/review/{op_id}/approve")
    assert done.status_code == 303
    assert _op_ids(s1.get("/console/review").text) == []
    assert op_id in _op_ids(s1.get("/console/review?status=approved").text)
    # Approved means nothing for the phone to hear about.
    assert phone.pull()[-1]["review_notes"] == []


def test_send_back_reaches_the_phone_until_it_acknowledges(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    _, results = _new_resident(phone, "周错名")
    op_id = results[0]["op_id"]
    s1 = browser("s1")
    no_reason = s1.post(f"/console/review/{op_id}/send-back", {"reason": " "})
    assert no_reason.status_code == 422
    sent = s1.post(f"/console/review/{op_id}/send-back", {"reason": "姓名有误，请核对身份证"})
    assert sent.status_code == 303
    [note] = phone.pull()[-1]["review_notes"]
    assert note["op_id"] == op_id
    assert note["kind"] == "new_resident"
    assert note["reason"] == "姓名有误，请核对身份证"
    assert note["entity"] == "resident" and note["record_id"] == results[0]["record_id"]
    # Delivered on every pull until the phone says it has stored the note.
    assert phone.pull()[-1]["review_notes"][0]["op_id"] == op_id
    page = s1.get("/console/review?status=sent_back").text
    assert "等待网格员手机同步" in page
    assert phone.pull(ack_review_notes=[op_id])[-1]["review_notes"] == []
    assert phone.pull()[-1]["review_notes"] == []
    assert "网格员手机已收到" in s1.get("/console/review?status=sent_back").text


def test_a_send_back_goes_only_to_the_phone_that_made_the_change(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone, other = device("w11"), device("w12")
    _, results = _new_resident(phone, "吴单送")
    op_id = results[0]["op_id"]
    browser("admin").post(f"/console/review/{op_id}/send-back", {"reason": "请补充手机号"})
    assert other.pull()[-1]["review_notes"] == []
    # Another phone cannot acknowledge it away either.
    other.pull(ack_review_notes=[op_id])
    assert phone.pull()[-1]["review_notes"][0]["reason"] == "请补充手机号"


def test_move_out_is_queued_and_htmx_swaps_the_decided_row(
    tiny: TinyGrid, browser: OpenConsole, device: Phone
) -> None:
    phone = device("w11")
    binding_id = sorted(phone.of("binding"))[0]
    moved = phone.push([phone.edit("binding", binding_id, end_date=iso(-3))])
    assert moved[0]["status"] == "applied"
    # An edit that does not end a binding is no move-out.
    phone.push([phone.edit("binding", sorted(phone.of("binding"))[1], relation="other")])
    s1 = browser("s1")
    queue = s1.get("/console/review").text
    assert "迁出" in queue
    [op_id] = _op_ids(queue)
    fragment = s1.post(
        f"/console/review/{op_id}/send-back",
        {"reason": "迁出日期不对"},
        headers={"HX-Request": "true"},
    )
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith(f'<tr id="review-{op_id}"')
    assert "迁出日期不对" in fragment.text
    [note] = phone.pull()[-1]["review_notes"]
    assert note["kind"] == "move_out" and note["entity"] == "binding"


def test_approve_many_at_once(tiny: TinyGrid, browser: OpenConsole, device: Phone) -> None:
    phone = device("w11")
    _new_resident(phone, "甲一")
    _new_resident(phone, "乙二")
    s1 = browser("s1")
    ids = _op_ids(s1.get("/console/review").text)
    assert len(ids) == 2
    assert s1.post("/console/review/approve", {"op_ids": ids}).status_code == 303
    assert _op_ids(s1.get("/console/review").text) == []
