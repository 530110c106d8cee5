"""Business checks through the real push and pull: each failed item becomes exactly one matter
(商户检查, 排查整治) however often the check is sent, a later check of the business re-inspects
that matter (pass: struck off; fail: still open, with the new photos), and what a device may not
make the server do."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.inspection_matters import CATEGORY_ID, matter_id_for
from sync_server.models import Matter, MatterStep
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import BusinessWorld, answer, business_op, check_op
from tests.sync_server.matter_helpers import GRID, OTHER_GRID, PHOTO, matter_device, step
from tests.sync_server.wire_device import WireDevice

PHOTO_2 = "fedcba9876543210" * 4


def codes(results: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("code")) for r in results]


def matters(session_factory: sessionmaker[Session]) -> list[Matter]:
    with session_factory() as session:
        found = list(session.scalars(select(Matter).order_by(Matter.reported_at, Matter.id)))
        session.expunge_all()
        return found


def steps_of(session_factory: sessionmaker[Session], matter_id: str) -> list[MatterStep]:
    with session_factory() as session:
        found = list(
            session.scalars(
                select(MatterStep).where(MatterStep.matter_id == matter_id).order_by(MatterStep.at)
            )
        )
        session.expunge_all()
        return found


def opened(
    client: TestClient, tiny: TinyGrid, inspection: BusinessWorld
) -> tuple[WireDevice, str, dict[str, Any]]:
    """w11 adds 老王餐馆 in their grid and checks it: the extinguishers fail, the gas pipe fails,
    the licence passes."""
    worker = matter_device(client, "w11")
    shop = business_op(worker, tiny.nodes[GRID].id, name="老王餐馆")
    items = inspection.items
    first = check_op(
        worker,
        inspection.campaign_id,
        shop["record_id"],
        [
            answer(items["catering:fire"], "fail", "通道堆放杂物", [PHOTO]),
            answer(items["catering:gas"], "不合格", "软管老化"),
            answer(items["catering:licence"], "pass"),
        ],
    )
    assert codes(worker.push([shop, first])) == [("applied", None), ("applied", None)]
    return worker, shop["record_id"], first


def test_each_failed_item_becomes_one_matter_linked_to_the_business_and_item(
    client: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, shop, first = opened(client, tiny, inspection)
    found = matters(session_factory)
    assert sorted(m.checklist_item_id for m in found) == sorted(
        [inspection.items["catering:fire"], inspection.items["catering:gas"]]
    )
    fire = next(m for m in found if m.checklist_item_id == inspection.items["catering:fire"])
    assert fire.id == matter_id_for(first["record_id"], inspection.items["catering:fire"])
    assert fire.category_id == CATEGORY_ID and fire.source == "inspection"
    assert fire.business_id == shop and fire.business_check_id == first["record_id"]
    assert fire.grid_id == tiny.nodes[GRID].id and fire.state == "reported"
    assert fire.photos == [PHOTO]
    assert (
        fire.description == "商户「老王餐馆」检查不合格：灭火器在有效期内、摆放到位。通道堆放杂物"
    )
    assert fire.due_at is not None and fire.state_by == worker.user_id
    # The phone learns of them by pulling; so does the community's supervisor.
    worker.pull(matters=True, businesses=True)
    assert {r["values"]["checklist_item_id"] for r in worker.of("matter").values()} == {
        inspection.items["catering:fire"],
        inspection.items["catering:gas"],
    }
    supervisor = matter_device(client, "s1")
    assert len(supervisor.of("matter")) == 2
    other_worker = matter_device(client, "w21")
    assert not other_worker.of("matter")


def test_a_retried_push_and_a_check_sent_again_open_nothing_more(
    client: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, _, first = opened(client, tiny, inspection)
    before = [(m.id, m.version) for m in matters(session_factory)]
    # The same operation again (the answer was lost on the way back): the stored result.
    assert codes(worker.push([first])) == [("applied", None)]
    # The same check as a new operation (the phone's outbox was rebuilt): a check is a fact,
    # recorded once; nothing new is opened either.
    again = dict(first, op_id="0f0f0f0f-0000-4000-8000-000000000001", hlc=worker.clock.now())
    assert codes(worker.push([again])) == [("rejected", "append_only")]
    assert [(m.id, m.version) for m in matters(session_factory)] == before


def test_a_later_check_that_passes_strikes_the_matter_off_and_a_fail_keeps_it_open(
    client: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, shop, _ = opened(client, tiny, inspection)
    items = inspection.items
    fire_id = next(
        m.id for m in matters(session_factory) if m.checklist_item_id == items["catering:fire"]
    )
    gas_id = next(
        m.id for m in matters(session_factory) if m.checklist_item_id == items["catering:gas"]
    )
    # A supervisor has accepted the gas matter meanwhile: the re-inspection starts from there.
    supervisor = matter_device(client, "s1")
    assert codes(supervisor.push([step(supervisor, gas_id, "accept", "reported")])) == [
        ("applied", None)
    ]
    second = check_op(
        worker,
        inspection.campaign_id,
        shop,
        [
            answer(items["catering:fire"], "pass"),
            answer(items["catering:gas"], "fail", "仍未更换软管", [PHOTO_2]),
            answer(items["catering:licence"], "pass"),
        ],
    )
    assert codes(worker.push([second])) == [("applied", None)]
    found = {m.id: m for m in matters(session_factory)}
    assert len(found) == 2, "a re-inspection is a step of the matter, never a new matter"
    assert found[fire_id].state == "closed" and found[fire_id].closed_at is not None
    assert [s.action for s in steps_of(session_factory, fire_id)] == ["reinspect_pass"]
    assert found[gas_id].state == "accepted"
    gas_steps = steps_of(session_factory, gas_id)
    assert [s.action for s in gas_steps] == ["accept", "reinspect_fail"]
    assert gas_steps[-1].photos == [PHOTO_2] and gas_steps[-1].reason == "仍未更换软管"
    assert gas_steps[-1].from_state == "accepted"
    # The supervisor's phone sees the fire matter struck off, with its step.
    supervisor.pull(matters=True)
    assert supervisor.of("matter")[fire_id]["values"]["state"] == "closed"
    # A third check failing the fire exit again opens a new matter: the old one is history.
    third = check_op(
        worker, inspection.campaign_id, shop, [answer(items["catering:fire"], "fail", "又堵上了")]
    )
    assert codes(worker.push([third])) == [("applied", None)]
    fire_matters = [
        m for m in matters(session_factory) if m.checklist_item_id == items["catering:fire"]
    ]
    assert sorted(m.state for m in fire_matters) == ["closed", "reported"]


def test_a_check_of_another_grids_business_or_an_unknown_item_opens_nothing(
    client: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    other = matter_device(client, "w21")
    theirs = business_op(other, tiny.nodes[OTHER_GRID].id, name="对面小吃店")
    assert codes(other.push([theirs])) == [("applied", None)]
    worker = matter_device(client, "w11")
    items = inspection.items
    foreign = check_op(
        worker,
        inspection.campaign_id,
        theirs["record_id"],
        [answer(items["catering:fire"], "fail", "堆放杂物")],
    )
    mine = business_op(worker, tiny.nodes[GRID].id)
    unknown = check_op(
        worker,
        inspection.campaign_id,
        mine["record_id"],
        [answer(items["catering:fire"], "fail", "堆放杂物"), answer("no-such-item", "fail", "x")],
    )
    results = worker.push([foreign, mine, unknown])
    assert codes(results) == [
        ("rejected", "out_of_scope"),
        ("applied", None),
        ("rejected", "item_not_in_checklist"),
    ]
    assert matters(session_factory) == []


def test_a_device_cannot_send_a_reinspection_step_itself(
    client: TestClient,
    tiny: TinyGrid,
    inspection: BusinessWorld,
    session_factory: sessionmaker[Session],
) -> None:
    worker, _, _ = opened(client, tiny, inspection)
    target = matters(session_factory)[0]
    forged = step(worker, target.id, "reinspect_pass", "reported")
    assert codes(worker.push([forged])) == [("rejected", "not_allowed")]
    assert {m.state for m in matters(session_factory)} == {"reported"}
