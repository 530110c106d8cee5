"""Admins list, inspect and settle conflicts; a settlement reaches devices as an ordinary change."""

from __future__ import annotations

import random
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Binding, Resident
from tests.days import iso
from tests.factories import make_id_number
from tests.sync_server.conftest import login
from tests.sync_server.wire_device import WireDevice


def _name_conflict(a: WireDevice, b: WireDevice) -> tuple[str, str]:
    rid = sorted(a.of("resident"))[0]
    assert a.push([a.edit("resident", rid, name="王小明")])[0]["status"] == "applied"
    [result] = b.push([b.edit("resident", rid, name="王晓明")])
    assert result["status"] == "conflict"
    return rid, result["conflict_id"]


def test_admin_settles_a_conflict_with_the_device_value_and_devices_pull_it(
    client: TestClient, pair: tuple[WireDevice, WireDevice]
) -> None:
    a, b = pair
    rid, conflict_id = _name_conflict(a, b)
    admin = login(client, "admin", device=True)
    listed = client.get("/api/v1/conflicts", headers=admin).json()
    assert listed["total"] == 1
    shown = client.get(f"/api/v1/conflicts/{conflict_id}", headers=admin).json()
    assert shown["fields"][0]["server"] == "王小明"
    assert shown["fields"][0]["device"] == "王晓明"
    settled = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve", json={"choice": "device"}, headers=admin
    )
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "resolved"
    for device in (a, b):
        device.pull()
        assert device.records[("resident", rid)]["values"]["name"] == "王晓明"
    assert client.get("/api/v1/conflicts", headers=admin).json()["total"] == 0
    again = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve", json={"choice": "server"}, headers=admin
    )
    assert again.json()["code"] == "already_resolved"


def test_admin_can_enter_a_third_value_which_is_validated(
    client: TestClient, pair: tuple[WireDevice, WireDevice]
) -> None:
    a, b = pair
    rid, conflict_id = _name_conflict(a, b)
    admin = login(client, "admin", device=True)
    empty = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve",
        json={"choice": "values", "values": {}},
        headers=admin,
    )
    assert empty.json()["code"] == "values_missing"
    ok = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve",
        json={"choice": "values", "values": {"name": "王筱明"}},
        headers=admin,
    )
    assert ok.status_code == 200
    a.pull()
    assert a.records[("resident", rid)]["values"]["name"] == "王筱明"


def test_workers_cannot_see_or_settle_conflicts(
    client: TestClient, pair: tuple[WireDevice, WireDevice]
) -> None:
    a, b = pair
    _, conflict_id = _name_conflict(a, b)
    worker = login(client, "w11", device=True)
    assert client.get("/api/v1/conflicts", headers=worker).status_code == 403
    response = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve", json={"choice": "device"}, headers=worker
    )
    assert response.status_code == 403


def test_settle_many_at_once_reports_each(
    client: TestClient, pair: tuple[WireDevice, WireDevice]
) -> None:
    a, b = pair
    ids = []
    for rid in sorted(a.of("resident"))[:2]:
        a.push([a.edit("resident", rid, name="甲")])
        [result] = b.push([b.edit("resident", rid, name="乙")])
        ids.append(result["conflict_id"])
    # An id no conflict can have (PostgreSQL cannot even hold a NUL) is one more unknown id.
    body = {"ids": [*ids, "no-such-id", "bad\u0000id"], "choice": "server"}
    response = client.post(
        "/api/v1/conflicts/resolve", json=body, headers=login(client, "admin", device=True)
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["resolved"] == ids
    assert [(f["id"], f["code"]) for f in result["failed"]] == [
        ("no-such-id", "not_found"),
        ("bad\x00id", "not_found"),
    ]


def test_duplicate_merged_binds_the_existing_resident_and_devices_drop_the_copy(
    client: TestClient, pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, b = pair
    existing_id, existing = sorted(a.of("resident").items())[0]
    house_id = sorted(a.of("house"))[-1]
    person, binding = str(uuid.uuid4()), str(uuid.uuid4())
    ops = [
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
    results = b.push(ops)
    assert [r["status"] for r in results] == ["conflict", "conflict"]
    admin = login(client, "admin", device=True)
    settled = client.post(
        f"/api/v1/conflicts/{results[0]['conflict_id']}/resolve",
        json={"choice": "merge"},
        headers=admin,
    )
    assert settled.status_code == 200, settled.text
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
        assert session.get_one(Binding, binding).house_id == house_id


def test_duplicate_kept_as_a_different_person_with_corrected_id(
    client: TestClient, pair: tuple[WireDevice, WireDevice]
) -> None:
    a, b = pair
    _, existing = sorted(a.of("resident").items())[0]
    house_id = sorted(a.of("house"))[-1]
    person = str(uuid.uuid4())
    results = b.push(
        [
            b.op(
                "resident",
                person,
                "create",
                {"name": (None, "周七"), "id_number": (None, existing["values"]["id_number"])},
            ),
            b.op(
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
    corrected = make_id_number(random.Random(1234))
    settled = client.post(
        f"/api/v1/conflicts/{results[0]['conflict_id']}/resolve",
        json={"choice": "device", "values": {"id_number": corrected}},
        headers=login(client, "admin", device=True),
    )
    assert settled.status_code == 200, settled.text
    a.pull()
    assert a.records[("resident", person)]["values"]["id_number"] == corrected
