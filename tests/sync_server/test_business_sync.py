"""Businesses and business checks through the real push and pull: a worker adds a business at
the door and checks it against its type's checklist offline; who receives what; and what the
server refuses, naming the field (other grids, unknown building or type, bad licence, items not
on the checklist, checks of businesses out of scope)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import Business, BusinessCheck
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import (
    CATERING,
    GRID,
    LODGING,
    OTHER_GRID,
    PHOTO,
    BusinessWorld,
    a_credit_code,
    a_registration_number,
    business_device,
    business_op,
    check_op,
    make_business_world,
)
from tests.sync_server.wire_device import WireDevice


@pytest.fixture
def shops(session_factory: sessionmaker[Session], tiny: TinyGrid) -> BusinessWorld:
    return make_business_world(session_factory, tiny)


def answers(result: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(r["status"], r.get("code"), r.get("field")) for r in result]


def added(client: TestClient, tiny: TinyGrid, **values: Any) -> tuple[WireDevice, str]:
    worker = business_device(client, "w11")
    op = business_op(worker, tiny.nodes[GRID].id, **values)
    assert answers(worker.push([op])) == [("applied", None, None)]
    return worker, op["record_id"]


def test_types_and_checklists_reach_devices_that_store_businesses_and_no_other(
    client: TestClient, tiny: TinyGrid, shops: BusinessWorld
) -> None:
    worker = business_device(client, "w11")
    names = {r["values"]["name"] for r in worker.of("business_type").values()}
    assert names == {"餐饮", "住宿", "商超", "理发美容", "维修", "其他"}
    texts = {r["values"]["text"] for r in worker.of("checklist_item").values()}
    assert "灭火器在有效期内、摆放到位" in texts and len(texts) == 4
    campaign = worker.of("campaign")[shops.campaign_id]["values"]
    assert campaign["kind"] == "business_inspection" and campaign["business_types"] == [CATERING]
    old_app = WireDevice(client, "w11")
    old_app.pull(campaigns=True)
    assert not old_app.of("business_type") and not old_app.of("checklist_item")


def test_a_business_added_at_the_door_reaches_its_grid_and_no_other(
    client: TestClient,
    tiny: TinyGrid,
    shops: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    building = tiny.houses[GRID][0].building_id
    _worker, business_id = added(
        client, tiny, building_id=building, licence_number=a_credit_code().lower()
    )
    with session_factory() as session:
        stored = session.get_one(Business, business_id)
        assert stored.licence_number == a_credit_code()  # normalised to capitals
        assert stored.contact_phone == "13905910001" and stored.building_id == building
    for name in ("w11", "s1", "admin"):
        assert business_id in business_device(client, name).of("business")
    for name in ("w12", "w21", "s2"):
        assert business_id not in business_device(client, name).of("business")
    # A later edit on the phone (status 停业 by its Chinese label) travels like any other.
    worker = business_device(client, "w11")
    assert answers(worker.push([worker.edit("business", business_id, status="停业")])) == [
        ("applied", None, None)
    ]
    assert business_device(client, "s1").of("business")[business_id]["values"]["status"] == (
        "suspended"
    )


def test_an_old_registration_number_is_a_licence_too(
    client: TestClient, tiny: TinyGrid, shops: BusinessWorld
) -> None:
    added(client, tiny, licence_number=a_registration_number(), building_id=None)


def test_hostile_business_pushes_are_refused_naming_the_field(
    client: TestClient, tiny: TinyGrid, shops: BusinessWorld
) -> None:
    worker = business_device(client, "w11")
    grid = tiny.nodes[GRID].id
    bad_licence = a_credit_code()[:17] + ("0" if a_credit_code()[17] != "0" else "1")
    results = worker.push(
        [
            business_op(worker, tiny.nodes[OTHER_GRID].id),
            business_op(worker, tiny.nodes["T1-1-1-1"].id),  # a community, not a level-5 grid
            business_op(worker, grid, building_id="5d1c7f0e-0000-4000-8000-000000000000"),
            business_op(worker, grid, building_id=tiny.houses[OTHER_GRID][0].building_id),
            business_op(worker, grid, business_type_id="no-such-type"),
            business_op(worker, grid, licence_number=bad_licence),
            business_op(worker, grid, licence_number="12345"),
            business_op(worker, grid, status="开张"),
            business_op(worker, grid, contact_phone="1390591"),
            business_op(worker, grid, name=""),
        ]
    )
    assert answers(results) == [
        ("rejected", "out_of_scope", "grid_id"),
        ("rejected", "grid_level", "grid_id"),
        ("rejected", "unknown_reference", "building_id"),
        ("rejected", "unknown_reference", "building_id"),
        ("rejected", "unknown_reference", "business_type_id"),
        ("rejected", "licence_check", "licence_number"),
        ("rejected", "licence_length", "licence_number"),
        ("rejected", "choice", "status"),
        ("rejected", "phone_length", "contact_phone"),
        ("rejected", "required", "name"),
    ]


def test_a_business_is_never_deleted_from_a_device_and_others_cannot_edit_it(
    client: TestClient, tiny: TinyGrid, shops: BusinessWorld
) -> None:
    worker, business_id = added(client, tiny)
    gone = worker.op("business", business_id, "delete", base_version=1)
    assert answers(worker.push([gone])) == [("rejected", "not_device_deletable", None)]
    stranger = business_device(client, "w21")
    rename = stranger.op(
        "business", business_id, fields={"name": ("老王沙县小吃", "别人的店")}, base_version=1
    )
    assert answers(stranger.push([rename])) == [("rejected", "out_of_scope", None)]


def passed(shops: BusinessWorld, *codes: str, fail: str | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for code in codes:
        entry: dict[str, Any] = {"item_id": shops.items[f"catering:{code}"], "result": "pass"}
        if code == fail:
            entry = {**entry, "result": "fail", "note": "灭火器过期", "photos": [PHOTO]}
        out.append(entry)
    return out


def test_a_check_is_stored_as_answered_and_reaches_the_grid(
    client: TestClient,
    tiny: TinyGrid,
    shops: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, business_id = added(client, tiny)
    results = [
        *passed(shops, "licence", "fire", fail="fire"),
        {"item_id": shops.items["catering:gas"], "result": "不适用"},
    ]
    op = check_op(worker, shops.campaign_id, business_id, results)
    assert answers(worker.push([op])) == [("applied", None, None)]
    assert answers(worker.push([op])) == [("applied", None, None)]  # a retry: stored once
    with session_factory() as session:
        checks = session.scalars(select(BusinessCheck)).all()
        assert len(checks) == 1
        assert [(r["result"], r["note"], r["photos"]) for r in checks[0].results] == [
            ("pass", "", []),
            ("fail", "灭火器过期", [PHOTO]),
            ("na", "", []),
        ]
    assert op["record_id"] in business_device(client, "s1").of("business_check")
    assert op["record_id"] not in business_device(client, "w21").of("business_check")


def test_hostile_checks_are_refused_naming_the_field(
    client: TestClient,
    tiny: TinyGrid,
    shops: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, business_id = added(client, tiny)
    _, hotel = added(client, tiny, business_type_id=LODGING, name="海坛宾馆")
    other = business_device(client, "w21")
    far_op = business_op(other, tiny.nodes[OTHER_GRID].id)
    assert answers(other.push([far_op])) == [("applied", None, None)]
    household = business_device(client, "admin")
    fire = passed(shops, "fire")
    results = worker.push(
        [
            check_op(worker, shops.campaign_id, far_op["record_id"], fire),
            check_op(worker, shops.campaign_id, "no-such-business", fire),
            check_op(worker, "no-such-campaign", business_id, fire),
            check_op(
                worker,
                shops.campaign_id,
                business_id,
                [*fire, {"item_id": shops.items["lodging:register"], "result": "pass"}],
            ),
            check_op(worker, shops.campaign_id, hotel, fire),  # the campaign is catering only
            check_op(worker, shops.campaign_id, business_id, [*fire, *fire]),
            check_op(
                worker,
                shops.campaign_id,
                business_id,
                [{"item_id": shops.items["catering:gas"], "result": "fail"}],
            ),
            check_op(
                worker,
                shops.campaign_id,
                business_id,
                [{"item_id": shops.items["catering:gas"], "result": "maybe"}],
            ),
            check_op(worker, shops.campaign_id, business_id, []),
        ]
    )
    assert answers(results) == [
        ("rejected", "out_of_scope", "business_id"),
        ("rejected", "unknown_reference", "business_id"),
        ("rejected", "unknown_reference", "campaign_id"),
        ("rejected", "item_not_in_checklist", "results[1].item_id"),
        ("rejected", "not_campaign_target", "business_id"),
        ("rejected", "duplicate", "results[1].item_id"),
        ("rejected", "fail_needs_note", "results[0].note"),
        ("rejected", "choice", "results[0].result"),
        ("rejected", "required", "results"),
    ]
    # A check is a fact: the phone that made it cannot change or delete it.
    op = check_op(worker, shops.campaign_id, business_id, fire)
    assert answers(worker.push([op])) == [("applied", None, None)]
    worker.pull(campaigns=True, businesses=True)
    change = worker.edit(
        "business_check", op["record_id"], checked_at=op["fields"]["checked_at"]["new"]
    )
    assert answers(worker.push([change])) == [("rejected", "append_only", None)]
    assert household.user_id != worker.user_id
    with session_factory() as session:
        assert len(session.scalars(select(BusinessCheck)).all()) == 1
