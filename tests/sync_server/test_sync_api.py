"""Push and pull through the real API: merge, conflicts, idempotency, scope, transport."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.validation import id_check_char
from sync_server.models import ConflictRecord, Resident
from tests.days import iso
from tests.factories import TinyGrid, make_id_number
from tests.sync_server.wire_device import WireDevice


def _a_resident(device: WireDevice) -> tuple[str, dict[str, Any]]:
    rid, record = sorted(device.of("resident").items())[0]
    return rid, record


def test_bootstrap_holds_exactly_the_workers_grid(client: TestClient, tiny: TinyGrid) -> None:
    device = WireDevice(client, "w11")
    pages = device.pull(limit=2)
    assert len(pages) > 2  # paged
    grid_id = tiny.nodes["T1-1-1-1-1"].id
    houses = device.of("house")
    assert {h.id for h in tiny.houses["T1-1-1-1-1"]} == set(houses)
    assert all(h["values"]["grid_id"] == grid_id for h in houses.values())
    assert len(device.of("resident")) == 0 + 1 + 2
    assert len(device.of("binding")) == 3
    # The grid and its ancestors, for breadcrumbs; no sibling grid.
    codes = {n["values"]["code"] for n in device.of("grid_node").values()}
    assert codes == {"T1", "T1-1", "T1-1-1", "T1-1-1-1", "T1-1-1-1-1"}


def test_edit_on_one_device_reaches_the_other(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    rid, _ = _a_resident(a)
    [result] = a.push([a.edit("resident", rid, phone="13900001111")])
    assert result["status"] == "applied"
    b.pull()
    assert b.records[("resident", rid)]["values"]["phone"] == "13900001111"
    assert b.records[("resident", rid)]["version"] == result["version"]


def test_disjoint_edits_of_one_person_both_survive(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    rid, _ = _a_resident(a)
    assert a.push([a.edit("resident", rid, phone="13900002222")])[0]["status"] == "applied"
    [result] = b.push([b.edit("resident", rid, note="腿脚不便，需上门")])
    assert result["status"] == "merged"
    a.pull()
    values = a.records[("resident", rid)]["values"]
    assert (values["phone"], values["note"]) == ("13900002222", "腿脚不便，需上门")


def test_tags_added_on_two_devices_are_united(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    rid, _ = _a_resident(a)
    a.push([a.edit("resident", rid, tags=["elderly_alone"])])
    b.push([b.edit("resident", rid, tags=["disabled"])])
    b.pull()
    assert b.records[("resident", rid)]["values"]["tags"] == ["disabled", "elderly_alone"]


def test_same_name_changed_differently_is_a_conflict_and_server_keeps_first(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, b = pair
    rid, record = _a_resident(a)
    original = record["values"]["name"]
    assert a.push([a.edit("resident", rid, name="王小明")])[0]["status"] == "applied"
    [result] = b.push([b.edit("resident", rid, name="王晓明")])
    assert result["status"] == "conflict"
    with session_factory() as session:
        conflict = session.get_one(ConflictRecord, result["conflict_id"])
        assert conflict.fields == [
            {"field": "name", "base": original, "server": "王小明", "device": "王晓明"}
        ]
        assert conflict.device_id == b.device_id
        assert session.get_one(Resident, rid).name == "王小明"


def test_retried_batch_returns_same_results_and_applies_nothing_twice(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, _ = pair
    rid, _ = _a_resident(a)
    ops = [a.edit("resident", rid, tags=["hardship"]), a.edit("resident", rid, note="复查")]
    first = a.push(ops)
    again = a.push(ops)  # as if the first response was lost after the server committed
    assert first == again
    with session_factory() as session:
        resident = session.get_one(Resident, rid)
        assert resident.version == first[-1]["version"] == 3


def test_one_bad_operation_is_rejected_alone(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    (rid1, _), (rid2, _) = sorted(a.of("resident").items())[:2]
    results = a.push(
        [
            a.edit("resident", rid1, phone="1234"),
            a.edit("resident", rid2, phone="13700003333"),
        ]
    )
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["field"] == "phone"
    assert results[0]["code"] == "phone_length"
    b.pull()
    assert b.records[("resident", rid2)]["values"]["phone"] == "13700003333"


def test_worker_cannot_write_outside_their_grid(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    outsider = WireDevice(client, "w12")
    outsider.pull()
    insider = WireDevice(client, "w11")
    insider.pull()
    rid, _ = _a_resident(insider)
    assert rid not in outsider.of("resident")
    forged = outsider.op("resident", rid, fields={"phone": (None, "13600000000")}, base_version=1)
    [result] = outsider.push([forged])
    assert (result["status"], result["code"]) == ("rejected", "out_of_scope")
    house = tiny.houses["T1-1-1-1-1"][0]
    new_person = str(uuid.uuid4())
    ops = [
        outsider.op(
            "resident",
            new_person,
            "create",
            {
                "name": (None, "李四"),
                "id_number": (None, make_id_number(__import__("random").Random(1))),
            },
        ),
        outsider.op(
            "binding",
            str(uuid.uuid4()),
            "create",
            {
                "resident_id": (None, new_person),
                "house_id": (None, house.id),
                "relation": (None, "tenant"),
                "start_date": (None, iso(-27)),
            },
        ),
    ]
    assert [r["status"] for r in outsider.push(ops)] == ["rejected", "rejected"]
    with session_factory() as session:
        assert session.get(Resident, new_person) is None


def test_person_found_at_the_door_is_added_and_bound(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    house_id = sorted(a.of("house"))[0]
    person, binding = str(uuid.uuid4()), str(uuid.uuid4())
    import random

    idn = make_id_number(random.Random(99), male=False)
    results = a.push(
        [
            a.op("resident", person, "create", {"name": (None, "陈红"), "id_number": (None, idn)}),
            a.op(
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
    assert [r["status"] for r in results] == ["applied", "applied"]
    b.pull()
    assert b.records[("resident", person)]["values"]["name"] == "陈红"
    assert b.records[("binding", binding)]["values"]["house_id"] == house_id


def test_same_person_created_on_two_devices_is_a_duplicate_conflict(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, b = pair
    house_id = sorted(a.of("house"))[0]
    import random

    idn = make_id_number(random.Random(5))
    results = []
    for device in (a, b):
        person = str(uuid.uuid4())
        results.append(
            device.push(
                [
                    device.op(
                        "resident",
                        person,
                        "create",
                        {"name": (None, "赵六"), "id_number": (None, idn)},
                    ),
                    device.op(
                        "binding",
                        str(uuid.uuid4()),
                        "create",
                        {
                            "resident_id": (None, person),
                            "house_id": (None, house_id),
                            "relation": (None, "member"),
                            "start_date": (None, iso(-8)),
                        },
                    ),
                ]
            )
        )
    assert [r["status"] for r in results[0]] == ["applied", "applied"]
    assert [r["status"] for r in results[1]] == ["conflict", "conflict"]
    assert results[1][0]["conflict_id"] == results[1][1]["conflict_id"]
    with session_factory() as session:
        count = session.scalar(select(func.count()).where(Resident.id_number == idn))
        assert count == 1
        conflict = session.get_one(ConflictRecord, results[1][0]["conflict_id"])
        assert conflict.kind == "duplicate"
        assert len(conflict.held_ops) == 2


def test_edit_against_a_deletion_is_a_conflict(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    binding_id = sorted(a.of("binding"))[0]
    assert a.push([a.edit("binding", binding_id, relation="tenant")])[0]["status"] == "applied"
    [result] = b.push([b.op("binding", binding_id, "delete")])
    assert result["status"] == "conflict"


def test_deletion_travels_as_a_tombstone(pair: tuple[WireDevice, WireDevice]) -> None:
    a, b = pair
    binding_id = sorted(a.of("binding"))[0]
    assert a.push([a.op("binding", binding_id, "delete")])[0]["status"] == "applied"
    pages = b.pull()
    tombstones = [r for p in pages for r in p["records"] if r["deleted"]]
    assert [t["id"] for t in tombstones] == [binding_id]
    assert ("binding", binding_id) not in b.records


def test_gzip_push_is_accepted_and_oversized_batch_gets_413(
    pair: tuple[WireDevice, WireDevice],
) -> None:
    a, _ = pair
    rid, _ = _a_resident(a)
    response = a.push_raw([a.edit("resident", rid, note="gz")], compress=True)
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "applied"
    huge = [a.edit("resident", rid, note="x" * 1900) for _ in range(1000)]
    for op in huge:
        op["fields"]["note"]["base"] = "y" * 7000
    too_big = a.push_raw(huge)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "too_large"


def test_old_app_is_told_to_update(pair: tuple[WireDevice, WireDevice]) -> None:
    a, _ = pair
    headers = {k: v for k, v in a.headers.items() if k != "X-GridSweep-Protocol"}
    response = a.client.post("/api/v1/sync/pull", json={"whatever": 1}, headers=headers)
    assert response.status_code == 426
    assert response.json()["code"] == "protocol_outdated"
    assert "请更新应用" in response.json()["detail"]
    old = a.client.post(
        "/api/v1/sync/pull", json={}, headers=dict(a.headers, **{"X-GridSweep-Protocol": "0"})
    )
    assert old.status_code == 426


def test_too_many_operations_is_413_so_the_app_sends_fewer(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    """As a body over the size limit: the app halves its batch on 413 (docs/sync-protocol.md)."""
    a, _ = pair
    rid, _ = _a_resident(a)
    ops = [a.edit("resident", rid, note=str(i)) for i in range(1001)]
    response = a.push_raw(ops)
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert "1000" in response.json()["detail"]
    with session_factory() as session:
        assert session.get(Resident, rid).note != "1000"  # type: ignore[union-attr]


def test_the_push_commits_before_the_answer_is_sent(
    pair: tuple[WireDevice, WireDevice], client: TestClient
) -> None:
    """A phone drops pushed operations once it hears "applied": the commit must come first."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import anyio
    from sqlalchemy import event

    a, _ = pair
    rid, _ = _a_resident(a)
    body = json.dumps(
        {
            "protocol_version": 1,
            "device_id": a.device_id,
            "operations": [a.edit("resident", rid, note="先提交")],
        }
    ).encode()
    events: list[str] = []
    factory = client.app.state.sessionmaker  # type: ignore[attr-defined]

    def committed(_session: Session) -> None:
        events.append("commit")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/sync/push",
        "raw_path": b"/api/v1/sync/push",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in a.headers.items()]
        + [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            await anyio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            events.append(f"response {message['status']}")

    event.listen(factory, "after_commit", committed)
    try:
        # A thread of its own: another test's event loop may still own this one.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(anyio.run, client.app, scope, receive, send).result()  # type: ignore[arg-type]
    finally:
        event.remove(factory, "after_commit", committed)
    # (A savepoint's release counts as a commit here too; what matters is that none comes after.)
    assert events[-1] == "response 200" and "commit" in events, events


def test_a_visit_recorded_on_one_phone_reaches_the_other_and_stays_in_its_grid(
    pair: tuple[WireDevice, WireDevice], client: TestClient
) -> None:
    a, b = pair
    house = sorted(a.of("house"))[1]
    rid, _ = _a_resident(a)
    visit = str(uuid.uuid4())
    fields = {
        "house_id": (None, house),
        "resident_id": (None, rid),
        "outcome": (None, "met"),
        "note": (None, "身体还好"),
        "visited_at": (None, f"{iso(0)}T09:30+08:00"),
    }
    [result] = a.push([a.op("visit", visit, "create", fields)])
    assert result["status"] == "applied", result
    b.pull()
    assert b.records[("visit", visit)]["values"]["note"] == "身体还好"
    # Sent as an older app writes it (China time, offset); every phone gets the UTC instant.
    assert b.records[("visit", visit)]["values"]["visited_at"] == f"{iso(0)}T01:30:00.000Z"
    outsider = WireDevice(client, "w12")
    outsider.pull()
    assert ("visit", visit) not in outsider.records
    [forged] = outsider.push([outsider.op("visit", str(uuid.uuid4()), "create", fields)])
    assert (forged["status"], forged["code"]) == ("rejected", "out_of_scope")


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ("9999-12-31T23:59:59Z", "datetime_range"),
        ("9999-12-31T23:59-08:00", "datetime_range"),  # beyond what a datetime holds in UTC
        ("1970-01-01T00:00:00Z", "datetime_range"),  # a phone whose clock was reset
        (f"{iso(3)}T09:30+08:00", "datetime_range"),  # days ahead of the server
        ("下午三点", "datetime_format"),
        ("09:30", "datetime_format"),  # a time without its day
        (1764300000, "datetime_format"),  # a number is not a time
        ([f"{iso(0)}T09:30+08:00"], "datetime_format"),
        ({"at": "now"}, "datetime_format"),
    ],
)
def test_a_visit_time_that_is_no_plausible_time_is_refused_naming_the_field(
    pair: tuple[WireDevice, WireDevice], sent: object, code: str
) -> None:
    a, _ = pair
    fields = {
        "house_id": (None, sorted(a.of("house"))[1]),
        "outcome": (None, "met"),
        "visited_at": (None, sent),
    }
    [result] = a.push([a.op("visit", str(uuid.uuid4()), "create", fields)])
    assert (result["status"], result["code"], result["field"]) == ("rejected", code, "visited_at")


def test_an_id_number_typed_in_full_width_is_stored_in_its_one_form(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    first17 = "35012819900307452"
    ascii_id = first17 + id_check_char(first17)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in ascii_id)  # ３５０… as a phone's IME types it
    [result] = a.push([a.edit("resident", rid, id_number=wide)])
    assert result["status"] in ("applied", "merged"), result
    with session_factory() as session:
        assert session.get(Resident, rid).id_number == ascii_id  # type: ignore[union-attr]


def test_a_landline_from_a_phone_is_stored_in_the_one_form(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    [result] = a.push([a.edit("resident", rid, phone="0591 8765 4321 转 8001")])
    assert result["status"] in ("applied", "merged"), result
    with session_factory() as session:
        assert session.get(Resident, rid).phone == "0591-87654321转8001"  # type: ignore[union-attr]
