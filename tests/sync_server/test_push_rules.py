"""The rules a push enforces whatever a phone sends: what a device may do to each entity, the
references it may name, what a delete leaves behind, clocks from the future, text that cannot
be stored. Each case is what a hostile or broken phone was seen to do."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import hlc
from shared.schema import ENTITIES
from shared.validation import id_check_char
from sync_server.models import Binding, GridNode, House, Resident
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice

GRID = "T1-1-1-1-1"


def _person(dev: WireDevice, house_id: str, seq: str = "234") -> tuple[list[dict[str, Any]], str]:
    resident, binding = str(uuid.uuid4()), str(uuid.uuid4())
    first17 = f"35012819850101{seq}"
    values = {"name": "郑新", "id_number": first17 + id_check_char(first17)}
    ops = [
        dev.op("resident", resident, "create", {k: (None, v) for k, v in values.items()}),
        dev.op(
            "binding",
            binding,
            "create",
            {
                "resident_id": (None, resident),
                "house_id": (None, house_id),
                "relation": (None, "member"),
                "start_date": (None, "2024-05-01"),
            },
        ),
    ]
    return ops, resident


def _codes(results: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("code")) for r in results]


def test_no_device_creates_changes_or_deletes_the_grid_tree_campaigns_or_completions(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    worker.pull()
    own_grid, root = tiny.nodes[GRID].id, tiny.nodes["T1"].id
    ops = [
        worker.op("grid_node", own_grid, "delete", {}, base_version=1),
        worker.op("grid_node", root, "delete", {}, base_version=1),
        worker.op("grid_node", own_grid, "update", {"name": ("第1网格", "x")}, base_version=1),
        worker.op("grid_node", str(uuid.uuid4()), "create", {"name": (None, "x")}),
        worker.op("campaign", str(uuid.uuid4()), "create", {"name": (None, "x")}),
        worker.op("campaign", str(uuid.uuid4()), "delete", {}, base_version=1),
        worker.op("completion", str(uuid.uuid4()), "delete", {}, base_version=1),
        worker.op("completion", str(uuid.uuid4()), "create", {}),
    ]
    results = worker.push(ops)
    assert _codes(results) == [
        ("rejected", "not_device_deletable"),
        ("rejected", "not_device_deletable"),
        ("rejected", "not_device_updatable"),
        ("rejected", "not_device_creatable"),
        ("rejected", "not_device_creatable"),
        ("rejected", "not_device_deletable"),
        ("rejected", "not_device_deletable"),
        ("rejected", "not_device_creatable"),
    ]
    with session_factory() as session:
        nodes = session.scalars(select(GridNode)).all()
        assert all(not n.deleted for n in nodes) and len(nodes) == len(tiny.nodes)
    # The flags these answers follow are the schema's, one per entity and kind.
    assert [(e, k) for e, s in ENTITIES.items() for k in ("create", "update", "delete")
            if not s.device_may(k)] == [
        ("grid_node", "create"), ("grid_node", "update"), ("grid_node", "delete"),
        ("campaign", "create"), ("campaign", "update"), ("campaign", "delete"),
        ("completion", "create"), ("completion", "update"), ("completion", "delete"),
        ("outcome", "update"), ("outcome", "delete"),
        ("org", "create"), ("org", "update"), ("org", "delete"),
        ("matter_category", "create"), ("matter_category", "update"),
        ("matter_category", "delete"),
        ("matter", "delete"),
        ("matter_step", "update"), ("matter_step", "delete"),
        ("business_type", "create"), ("business_type", "update"),
        ("business_type", "delete"),
        ("checklist_item", "create"), ("checklist_item", "update"),
        ("checklist_item", "delete"),
        ("business", "delete"),
        ("business_check", "update"), ("business_check", "delete"),
        ("post", "create"), ("post", "update"), ("post", "delete"),
        ("post_claim", "update"), ("post_claim", "delete"),
    ]  # fmt: skip


def test_a_house_someone_lives_in_cannot_be_deleted(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    worker.pull()
    occupied = tiny.houses[GRID][2].id  # two residents
    building = next(iter(worker.of("building")))
    unit = next(iter(worker.of("unit")))
    results = worker.push(
        [
            worker.op("house", occupied, "delete", {}),
            worker.op("building", building, "delete", {}),
            worker.op("unit", unit, "delete", {}),
        ]
    )
    assert _codes(results) == [
        ("rejected", "has_residents"),
        ("rejected", "has_places"),
        ("rejected", "has_places"),
    ]
    vacant = tiny.houses[GRID][0].id
    assert _codes(worker.push([worker.op("house", vacant, "delete", {})])) == [("applied", None)]


def test_a_person_deleted_takes_their_bindings_with_them(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker, other = WireDevice(client, "w11"), WireDevice(client, "w11")
    worker.pull()
    other.pull()
    ops, resident = _person(worker, tiny.houses[GRID][0].id)
    assert _codes(worker.push(ops)) == [("applied", None)] * 2
    worker.pull()
    other.pull()
    assert resident in other.of("resident")
    assert _codes(worker.push([worker.op("resident", resident, "delete", {})])) == [
        ("applied", None)
    ]
    with session_factory() as session:
        live = session.scalars(
            select(Binding).where(Binding.resident_id == resident, Binding.deleted.is_(False))
        ).all()
        assert live == []
    other.pull()
    assert resident not in other.of("resident")
    assert not [b for b in other.of("binding").values() if b["values"]["resident_id"] == resident]


def test_a_move_out_dated_in_the_future_is_refused_by_the_server(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    worker.pull()
    ops, _ = _person(worker, tiny.houses[GRID][0].id)
    assert _codes(worker.push(ops)) == [("applied", None)] * 2
    worker.pull()
    binding_id = ops[1]["record_id"]
    today = RUN_CLOCK.today()
    later = (today + timedelta(days=365)).isoformat()
    change = {"end_date": (None, later)}
    results = worker.push([worker.op("binding", binding_id, "update", change, base_version=1)])
    assert _codes(results) == [("rejected", "future_date")] and results[0]["field"] == "end_date"
    with session_factory() as session:
        assert session.get(Binding, binding_id).end_date is None  # type: ignore[union-attr]
    moved = worker.op(
        "binding", binding_id, "update", {"end_date": (None, today.isoformat())}, base_version=1
    )
    assert _codes(worker.push([moved])) == [("applied", None)]


def test_a_new_person_bound_to_a_deleted_house_is_not_stored(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    admin, worker = WireDevice(client, "admin"), WireDevice(client, "w11")
    admin.pull()
    worker.pull()
    vacant = tiny.houses[GRID][0].id
    assert _codes(admin.push([admin.op("house", vacant, "delete", {})])) == [("applied", None)]
    ops, resident = _person(worker, vacant)
    results = worker.push(ops)
    assert _codes(results) == [("rejected", "unbound_resident"), ("rejected", "unknown_reference")]
    assert results[1]["field"] == "house_id"
    with session_factory() as session:
        assert session.get(Resident, resident) is None


def test_a_reference_to_an_unknown_record_names_the_field_not_the_database(
    client: TestClient, tiny: TinyGrid
) -> None:
    worker = WireDevice(client, "w11")
    worker.pull()
    house = tiny.houses[GRID][1].id
    unknown = str(uuid.uuid4())
    results = worker.push(
        [
            worker.op(
                "binding",
                str(uuid.uuid4()),
                "create",
                {
                    "resident_id": (None, unknown),
                    "house_id": (None, house),
                    "relation": (None, "member"),
                    "start_date": (None, "2024-05-01"),
                },
            ),
            worker.op(
                "visit",
                str(uuid.uuid4()),
                "create",
                {
                    "house_id": (None, unknown),
                    "outcome": (None, "met"),
                    "visited_at": (None, "2026-01-01T10:00+08:00"),
                },
            ),
        ]
    )
    assert [(r["code"], r["field"]) for r in results] == [
        ("unknown_reference", "resident_id"),
        ("unknown_reference", "house_id"),
    ]
    for result in results:
        assert "fk_" not in result["reason"].lower() and "foreign" not in result["reason"].lower()


def test_a_visit_cannot_name_a_person_of_another_grid(client: TestClient, tiny: TinyGrid) -> None:
    worker, neighbour = WireDevice(client, "w11"), WireDevice(client, "w12")
    worker.pull()
    neighbour.pull()
    stranger = sorted(neighbour.of("resident"))[0]
    [result] = worker.push(
        [
            worker.op(
                "visit",
                str(uuid.uuid4()),
                "create",
                {
                    "house_id": (None, tiny.houses[GRID][1].id),
                    "resident_id": (None, stranger),
                    "outcome": (None, "met"),
                    "visited_at": (None, "2026-01-01T10:00+08:00"),
                },
            )
        ]
    )
    assert (result["code"], result["field"]) == ("out_of_scope", "resident_id")


def test_a_clock_from_the_future_does_not_win_later_edits(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    cheat, honest = WireDevice(client, "w11"), WireDevice(client, "w11")
    cheat.pull()
    honest.pull()
    rid = sorted(cheat.of("resident"))[0]
    year_2100 = hlc.format_ts(4_102_444_800_000, 0, cheat.clock.node)
    op = cheat.edit("resident", rid, note="来自未来")
    op["hlc"] = year_2100
    [result] = cheat.push([op])
    assert result["status"] == "applied"  # the worker's edit is kept
    with session_factory() as session:
        row = session.get(Resident, rid)
        assert row is not None and row.note == "来自未来"
        assert row.clocks["note"] < hlc.format_ts(RUN_CLOCK.wall_ms() + 86_400_000, 0, "a")
    # The device is sent the record back: it must learn the clock the server stored.
    cheat.pull()
    assert cheat.of("resident")[rid]["clocks"]["note"] != year_2100
    honest.pull()
    [later] = honest.push([honest.edit("resident", rid, note="之后的修改")])
    assert later["status"] == "applied"
    with session_factory() as session:
        assert session.get(Resident, rid).note == "之后的修改"  # type: ignore[union-attr]


def test_text_that_cannot_be_stored_rejects_that_operation_alone(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    worker.pull()
    rids = sorted(worker.of("resident"))
    surrogate = worker.edit("resident", rids[0], note="坏\udfff")
    nul = worker.edit("resident", rids[1], phone="138\x00")
    bad_name = worker.edit("resident", rids[0], note="x")
    bad_name["fields"] = {"no\udfffte": {"base": None, "new": "x"}}
    bad_base = worker.edit("resident", rids[1], note="x")
    bad_base["fields"]["note"]["base"] = ["\ud800"]
    good = worker.edit("resident", rids[0], note="好")
    for _ in range(2):  # a retry answers the same, and never fails the batch
        results = worker.push([surrogate, nul, bad_name, bad_base, good])
        assert [(r["status"], r["code"], r["field"]) for r in results] == [
            ("rejected", "invalid_characters", "note"),
            ("rejected", "invalid_characters", "phone"),
            ("rejected", "invalid_characters", "no\ufffdte"),
            ("rejected", "invalid_characters", "note"),
            ("applied", None, None),
        ]
    with session_factory() as session:
        assert session.get(Resident, rids[0]).note == "好"  # type: ignore[union-attr]


def test_a_house_in_a_building_of_another_grid_is_out_of_scope(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker, neighbour = WireDevice(client, "w11"), WireDevice(client, "w12")
    worker.pull()
    neighbour.pull()
    their_building = next(iter(neighbour.of("building")))
    [result] = worker.push(
        [
            worker.op(
                "house",
                str(uuid.uuid4()),
                "create",
                {
                    "grid_id": (None, tiny.nodes[GRID].id),
                    "building_id": (None, their_building),
                    "room": (None, "0901"),
                },
            )
        ]
    )
    assert (result["code"], result["field"]) == ("out_of_scope", "building_id")
    with session_factory() as session:
        assert session.scalars(select(House).where(House.room == "0901")).all() == []
