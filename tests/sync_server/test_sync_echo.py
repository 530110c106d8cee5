"""The pull after a push does not bring a device's own changes back when the server holds them
exactly as the device sent them; anything else about those records still comes back."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from shared.validation import id_check_char
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice


def _sent_back(dev: WireDevice) -> set[tuple[str, str]]:
    return {(r["entity"], r["id"]) for page in dev.pull() for r in page["records"]}


def _residents(dev: WireDevice) -> list[str]:
    return sorted(dev.of("resident"))


def _new_person(dev: WireDevice, house_id: str) -> tuple[list[dict[str, Any]], str, str]:
    resident, binding = str(uuid.uuid4()), str(uuid.uuid4())
    first17 = "35012819850101234"
    values = {
        "name": "郑新",
        "id_number": first17 + id_check_char(first17),
        "residence_status": "permanent",
        "tags": [],
        "note": "",
    }
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
    return ops, resident, binding


def test_own_changes_stay_home_and_others_changes_come_back(
    pair: tuple[WireDevice, WireDevice], tiny: TinyGrid
) -> None:
    a, b = pair
    x, y, z = _residents(a)[:3]
    house = tiny.houses["T1-1-1-1-1"][0].id
    created, resident, binding = _new_person(a, house)
    results = a.push([*created, a.edit("resident", x, phone="13912345678")])
    assert [r["status"] for r in results] == ["applied"] * 3
    b.push([b.edit("resident", y, note="走访")])

    # a's own three records are not sent back; b's edit is.
    assert _sent_back(a) == {("resident", y)}
    # b gets everything a did, and nothing of its own.
    assert _sent_back(b) == {("resident", resident), ("binding", binding), ("resident", x)}
    assert b.records[("resident", x)]["values"]["phone"] == "13912345678"

    # Both edit z, different fields: a's edit is applied, b's merged with it. b gets z back
    # (its guess lacks a's field), and so does a (b changed it).
    a.push([a.edit("resident", z, phone="13700000000")])
    assert b.push([b.edit("resident", z, note="复核")])[0]["status"] == "merged"
    assert ("resident", z) in _sent_back(b)
    assert a.records[("resident", z)]["values"]["note"] != "复核"
    assert ("resident", z) in _sent_back(a)
    assert a.records[("resident", z)]["values"] == b.records[("resident", z)]["values"]


def test_a_value_the_server_tidied_or_filled_in_comes_back_to_the_device_that_sent_it(
    pair: tuple[WireDevice, WireDevice], tiny: TinyGrid
) -> None:
    a, _ = pair
    x = _residents(a)[0]
    created, resident, _ = _new_person(a, tiny.houses["T1-1-1-1-1"][0].id)
    del created[0]["fields"]["residence_status"]  # the server fills in its default
    a.push([*created, a.edit("resident", x, note="  门口有狗  ")])
    assert _sent_back(a) == {("resident", x), ("resident", resident)}
    assert a.records[("resident", x)]["values"]["note"] == "门口有狗"
    assert a.records[("resident", resident)]["values"]["residence_status"] == "permanent"


def test_a_person_of_another_grid_cannot_be_bound_by_their_id(
    client: TestClient, tiny: TinyGrid
) -> None:
    """A binding naming someone of another grid would deliver that person in full to whoever
    knows their UUID. Someone who moved in from elsewhere is recorded with their ID number
    instead, which the duplicate check hands to an admin."""
    mine, theirs = WireDevice(client, "w11"), WireDevice(client, "w12")
    mine.pull()
    theirs.pull()
    stranger = _residents(theirs)[0]
    binding = str(uuid.uuid4())
    op = mine.op(
        "binding",
        binding,
        "create",
        {
            "resident_id": (None, stranger),
            "house_id": (None, tiny.houses["T1-1-1-1-1"][0].id),
            "relation": (None, "member"),
            "start_date": (None, "2024-05-01"),
        },
    )
    [result] = mine.push([op])
    assert (result["status"], result["code"], result["field"]) == (
        "rejected",
        "out_of_scope",
        "resident_id",
    )
    assert ("resident", stranger) not in _sent_back(mine)
    assert stranger not in mine.of("resident")


def test_a_person_added_and_unbound_in_one_push_is_dropped_from_the_device(
    pair: tuple[WireDevice, WireDevice], tiny: TinyGrid
) -> None:
    """The person is the device's own, stored as sent, but the same batch took them out of the
    grid: the pull tells the device to drop them."""
    a, _ = pair
    created, resident, binding = _new_person(a, tiny.houses["T1-1-1-1-1"][0].id)
    unbind = a.op("binding", binding, "delete", {}, base_version=1)
    assert [r["status"] for r in a.push([*created, unbind])] == ["applied"] * 3
    removed = {(r["entity"], r["id"]) for page in a.pull() for r in page["removed"]}
    assert ("resident", resident) in removed
