"""Campaigns through the real push and pull: who receives what, outcomes from several phones,
people moving during a campaign, and the phone's missed list against the server's."""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.schema import Role
from sync_server.models import Binding, Campaign, GridNode, Resident
from sync_server.queries.campaign_progress import sweep_under
from sync_server.services.users import create_user
from tests.days import iso
from tests.factories import TinyGrid, make_id_number, password_hash
from tests.sync_server.campaign_helpers import (
    create_campaign,
    device_statuses,
    upload,
    write_completions,
)
from tests.sync_server.conftest import login
from tests.sync_server.wire_device import WireDevice

CAMPAIGN_ENTITIES = ("campaign", "completion", "outcome")


def residents_of(factory: sessionmaker[Session], tiny: TinyGrid, code: str) -> list[Resident]:
    """Residents bound in one level-5 grid, in a stable order."""
    ids: list[str] = []
    with factory() as session:
        for house in tiny.houses[code]:
            ids += session.scalars(
                select(Binding.resident_id).where(Binding.house_id == house.id)
            ).all()
        return [session.get_one(Resident, rid) for rid in sorted(ids)]


def outcome_op(
    device: WireDevice, campaign_id: str, resident_id: str, outcome: str, minute: int, **detail: Any
) -> dict[str, Any]:
    fields = {
        "campaign_id": (None, campaign_id),
        "resident_id": (None, resident_id),
        "outcome": (None, outcome),
        "recorded_at": (None, f"{iso(-3)}T09:{minute:02d}:00+08:00"),
        **{k: (None, v) for k, v in detail.items()},
    }
    return device.op("outcome", str(uuid.uuid4()), "create", fields)


def server_statuses(
    factory: sessionmaker[Session], campaign_id: str, node_id: str
) -> dict[str, str]:
    with factory() as session:
        campaign = session.get_one(Campaign, campaign_id)
        node = session.get_one(GridNode, node_id)
        swept = sweep_under(session=session, campaign=campaign, node=node)
        return {rid: s.status for rid, s in swept.result.statuses.items()}


def held(device: WireDevice) -> dict[str, set[str]]:
    return {e: set(device.of(e)) for e in CAMPAIGN_ENTITIES}


def completions_for(
    client: TestClient, tmp_path: Path, campaign_id: str, people: list[Resident]
) -> None:
    rows = [(p.id_number, f"{iso(-7)} 08:30:00", "采样点") for p in people]
    response = upload(client, campaign_id, write_completions(tmp_path / "done.csv", rows))
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == len(people)


@pytest.fixture
def community(client: TestClient, tiny: TinyGrid) -> dict[str, Any]:
    """A campaign over community 1 (grids T1-1-1-1-1 and -2), default rule."""
    return create_campaign(client, "T1-1-1-1")


def test_pull_delivers_campaign_records_to_in_scope_devices_that_ask(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    w11, w12, w21 = (WireDevice(client, u) for u in ("w11", "w12", "w21"))
    old = WireDevice(client, "w11")  # an app that does not store campaigns yet
    for device in (w11, w12, w21):
        device.pull(campaigns=True)
    old.pull()
    campaign = create_campaign(client, "T1-1-1-1")
    in11 = residents_of(session_factory, tiny, "T1-1-1-1-1")
    in12 = residents_of(session_factory, tiny, "T1-1-1-1-2")
    in21 = residents_of(session_factory, tiny, "T1-1-1-2-1")
    completions_for(client, tmp_path, campaign["id"], [in11[0], in12[0], in21[0]])
    w11.pull(campaigns=True)
    [result] = w11.push([outcome_op(w11, campaign["id"], in11[1].id, "refused", 1)])
    assert result["status"] == "applied"

    for device in (w11, w12, w21):
        device.pull(campaigns=True)
    old.pull()
    assert set(w11.of("campaign")) == set(w12.of("campaign")) == {campaign["id"]}
    assert w21.of("campaign") == {}
    assert {r["values"]["resident_id"] for r in w11.of("completion").values()} == {in11[0].id}
    assert {r["values"]["resident_id"] for r in w12.of("completion").values()} == {in12[0].id}
    assert w21.of("completion") == {}, "no campaign there, so no completions either"
    assert {r["values"]["resident_id"] for r in w11.of("outcome").values()} == {in11[1].id}
    assert w12.of("outcome") == {}
    assert held(old) == {entity: set() for entity in CAMPAIGN_ENTITIES}

    # A phone bootstrapping now holds exactly what the others got change by change.
    for user, device in (("w11", w11), ("w12", w12), ("w21", w21)):
        fresh = WireDevice(client, user)
        fresh.pull(limit=2, campaigns=True)
        assert held(fresh) == held(device), user
    admin = WireDevice(client, "admin")
    admin.pull(campaigns=True)
    assert len(admin.of("completion")) == 3  # the admin holds every grid


def test_an_app_that_starts_storing_campaigns_is_sent_them(
    client: TestClient, tiny: TinyGrid, community: dict[str, Any]
) -> None:
    device = WireDevice(client, "w11")
    device.pull()
    assert device.of("campaign") == {}
    pages = device.pull(campaigns=True)
    assert pages[0]["phase"] == "bootstrap"
    assert set(device.of("campaign")) == {community["id"]}
    assert device.pull(campaigns=True)[0]["records"] == []


def test_two_phones_record_on_one_person_without_conflict(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    community: dict[str, Any],
) -> None:
    with session_factory() as session, session.begin():
        grid = session.merge(tiny.nodes["T1-1-1-1-1"])
        create_user(
            session=session,
            username="w11b",
            password_hash=password_hash(),
            role=Role.WORKER,
            grids=[grid],
        )
    a, b = WireDevice(client, "w11"), WireDevice(client, "w11b")
    a.pull(campaigns=True)
    b.pull(campaigns=True)
    cid = community["id"]
    person = residents_of(session_factory, tiny, "T1-1-1-1-1")[0].id
    first = a.push([outcome_op(a, cid, person, "not_home", 1, revisit_date=iso(-2))])
    second = b.push([outcome_op(b, cid, person, "done_elsewhere", 2, place="县医院")])
    third = a.push([outcome_op(a, cid, person, "refused", 3)])  # offline, recorded later
    assert [r[0]["status"] for r in (first, second, third)] == ["applied"] * 3
    a.pull(campaigns=True)
    b.pull(campaigns=True)
    assert len(a.of("outcome")) == len(b.of("outcome")) == 3
    grid_id = tiny.nodes["T1-1-1-1-1"].id
    server = server_statuses(session_factory, cid, grid_id)
    assert server[person] == "settled", "the latest settled outcome counts"
    assert device_statuses(a, cid) == device_statuses(b, cid) == server
    progress = client.get(
        f"/api/v1/campaigns/{cid}/progress", params={"node": grid_id}, headers=login(client, "w11")
    ).json()["node"]["counts"]
    assert progress["by_outcome"]["done_elsewhere"] == 1
    assert progress["by_outcome"]["refused"] == 0 and progress["settled"] == 1


def test_outcomes_are_facts_checked_once_and_never_changed(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    community: dict[str, Any],
) -> None:
    device = WireDevice(client, "w11")
    device.pull(campaigns=True)
    cid = community["id"]
    person = residents_of(session_factory, tiny, "T1-1-1-1-1")[0].id
    other = residents_of(session_factory, tiny, "T1-1-1-1-2")[0].id
    results = device.push(
        [
            outcome_op(device, cid, person, "not_home", 1),  # no revisit date
            outcome_op(device, str(uuid.uuid4()), person, "away", 2),
            outcome_op(device, cid, other, "away", 3),  # someone in another grid
            outcome_op(device, cid, person, "exempt", 4, reason="术后恢复期"),
        ]
    )
    assert [(r["status"], r["code"]) for r in results] == [
        ("rejected", "outcome_detail"),
        ("rejected", "unknown_reference"),
        ("rejected", "out_of_scope"),
        ("applied", None),
    ]
    device.pull(campaigns=True)
    oid = results[-1]["record_id"]
    edit = device.edit("outcome", oid, reason="改了")
    delete = device.op("outcome", oid, "delete")
    assert [r["code"] for r in device.push([edit, delete])] == ["append_only", "append_only"]
    admin = WireDevice(client, "admin")
    admin.pull(campaigns=True)
    [undo] = admin.push([admin.op("outcome", oid, "delete")])
    assert undo["status"] == "applied", "an admin may remove an outcome recorded in error"
    device.pull(campaigns=True)
    assert device.of("outcome") == {}


def test_people_moving_during_the_campaign_take_their_records_along(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    community: dict[str, Any],
    tmp_path: Path,
) -> None:
    cid = community["id"]
    w11, w12, w21 = (WireDevice(client, u) for u in ("w11", "w12", "w21"))
    admin = WireDevice(client, "admin")
    for device in (w11, w12, w21, admin):
        device.pull(campaigns=True)
    mover, leaver, stayer = residents_of(session_factory, tiny, "T1-1-1-1-1")
    completions_for(client, tmp_path, cid, [mover])
    w11.pull(campaigns=True)
    w11.push([outcome_op(w11, cid, stayer.id, "not_home", 5, revisit_date=iso(-1))])
    admin.pull(campaigns=True)

    def move(resident: Resident, code: str) -> list[dict[str, Any]]:
        binding_id = next(
            k
            for k, v in admin.of("binding").items()
            if v["values"]["resident_id"] == resident.id and v["values"]["end_date"] is None
        )
        house = tiny.houses[code][0].id
        return [
            admin.edit("binding", binding_id, end_date=iso(-4)),
            admin.op(
                "binding",
                str(uuid.uuid4()),
                "create",
                {
                    "resident_id": (None, resident.id),
                    "house_id": (None, house),
                    "relation": (None, "tenant"),
                    "start_date": (None, iso(-4)),
                },
            ),
        ]

    # One moves to the neighbouring grid of the same community, one out of the community.
    results = admin.push(move(mover, "T1-1-1-1-2") + move(leaver, "T1-1-1-2-1"))
    assert {r["status"] for r in results} == {"applied"}
    for device in (w11, w12, w21):
        device.pull(campaigns=True)
    assert mover.id in w12.of("resident")
    assert {r["values"]["resident_id"] for r in w12.of("completion").values()} == {mover.id}
    # The old grid keeps the person, and what they did, for the recently-moved window; the
    # person is no longer its target (they live elsewhere).
    assert mover.id in w11.of("resident")
    assert {r["values"]["resident_id"] for r in w11.of("completion").values()} == {mover.id}
    assert leaver.id in w21.of("resident") and w21.of("campaign") == {}

    g11, g12 = tiny.nodes["T1-1-1-1-1"].id, tiny.nodes["T1-1-1-1-2"].id
    for device, grid in ((w11, g11), (w12, g12)):
        assert device_statuses(device, cid) == server_statuses(session_factory, cid, grid)
    assert server_statuses(session_factory, cid, g12)[mover.id] == "completed"
    assert leaver.id not in server_statuses(session_factory, cid, tiny.nodes["T1-1-1-1"].id)
    assert server_statuses(session_factory, cid, g11) == {stayer.id: "missed"}


def test_someone_found_at_the_door_becomes_a_target(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    community: dict[str, Any],
) -> None:
    cid = community["id"]
    device = WireDevice(client, "w11")
    device.pull(campaigns=True)
    house = tiny.houses["T1-1-1-1-1"][0].id  # the vacant one
    rid = str(uuid.uuid4())
    idn = make_id_number(random.Random(99))
    results = device.push(
        [
            device.op(
                "resident",
                rid,
                "create",
                {"name": (None, "新来的"), "id_number": (None, idn)},
            ),
            device.op(
                "binding",
                str(uuid.uuid4()),
                "create",
                {
                    "resident_id": (None, rid),
                    "house_id": (None, house),
                    "relation": (None, "tenant"),
                    "start_date": (None, iso(-6)),
                },
            ),
            outcome_op(device, cid, rid, "not_home", 7, revisit_date=iso(-2)),
        ]
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    grid = tiny.nodes["T1-1-1-1-1"].id
    server = server_statuses(session_factory, cid, grid)
    assert server[rid] == "missed" and len(server) == 4
    other = WireDevice(client, "w11")
    other.pull(campaigns=True)
    assert device_statuses(other, cid) == server


def test_an_outcome_waits_with_a_suspected_duplicate(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    community: dict[str, Any],
) -> None:
    cid = community["id"]
    device = WireDevice(client, "w11")
    device.pull(campaigns=True)
    existing = residents_of(session_factory, tiny, "T1-1-1-1-2")[0]
    rid = str(uuid.uuid4())
    house = tiny.houses["T1-1-1-1-1"][0].id
    results = device.push(
        [
            device.op(
                "resident",
                rid,
                "create",
                {"name": (None, existing.name), "id_number": (None, existing.id_number)},
            ),
            device.op(
                "binding",
                str(uuid.uuid4()),
                "create",
                {
                    "resident_id": (None, rid),
                    "house_id": (None, house),
                    "relation": (None, "tenant"),
                    "start_date": (None, iso(-6)),
                },
            ),
            outcome_op(device, cid, rid, "exempt", 8, reason="孕期"),
        ]
    )
    assert [r["status"] for r in results] == ["conflict"] * 3
    conflict_id = results[0]["conflict_id"]
    settled = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve",
        json={"choice": "merge"},
        headers=login(client, "admin", device=True),
    )
    assert settled.status_code == 200, settled.text
    statuses = server_statuses(session_factory, cid, tiny.nodes["T1-1-1-1"].id)
    assert statuses[existing.id] == "settled", "the held outcome now names the existing person"
