"""Reassigning grids: the next pull sends only the difference, and stale edits are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import User
from sync_server.services.users import assign_grids
from tests.days import iso
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice


def _reassign(
    factory: sessionmaker[Session], username: str, codes: list[str], tiny: TinyGrid
) -> None:
    with factory() as session, session.begin():
        user = session.scalars(select(User).where(User.username == username)).one()
        assign_grids(
            session=session, user=user, grids=[session.merge(tiny.nodes[c]) for c in codes]
        )


def test_grid_given_to_another_worker_moves_between_devices(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    a, b = WireDevice(client, "w11"), WireDevice(client, "w12")
    a.pull()
    b.pull()
    moving = tiny.nodes["T1-1-1-1-1"].id
    kept_by_b = tiny.nodes["T1-1-1-1-2"].id
    a_houses = set(a.of("house"))
    rid = sorted(a.of("resident"))[0]
    stale_edit = a.edit("resident", rid, note="edited before the grid moved")

    _reassign(session_factory, "w11", [], tiny)
    _reassign(session_factory, "w12", ["T1-1-1-1-1", "T1-1-1-1-2"], tiny)

    pages = a.pull()
    assert pages[0]["removed_grids"] == [moving]
    assert a.of("house") == {}
    [result] = a.push([stale_edit])
    assert (result["status"], result["code"]) == ("rejected", "out_of_scope")

    pages = b.pull()
    assert pages[0]["phase"] == "bootstrap"
    received = {r["id"] for p in pages for r in p["records"] if r["entity"] == "house"}
    assert received == a_houses  # only the grid that arrived, not the one b already held
    assert {h["values"]["grid_id"] for h in b.of("house").values()} == {moving, kept_by_b}
    assert rid in b.of("resident")


def test_resident_who_moves_to_another_grid_leaves_the_old_device(
    client: TestClient, tiny: TinyGrid
) -> None:
    admin = WireDevice(client, "admin")
    admin.pull()
    old, new = WireDevice(client, "w11"), WireDevice(client, "w12")
    old.pull()
    new.pull()
    binding_id, binding = next((k, v) for k, v in sorted(old.of("binding").items()))
    rid = binding["values"]["resident_id"]
    target_house = sorted(new.of("house"))[0]
    import uuid

    results = admin.push(
        [
            admin.edit("binding", binding_id, end_date=iso(-3)),
            admin.op(
                "binding",
                str(uuid.uuid4()),
                "create",
                {
                    "resident_id": (None, rid),
                    "house_id": (None, target_house),
                    "relation": (None, "head"),
                    "start_date": (None, iso(-3)),
                },
            ),
        ]
    )
    assert [r["status"] for r in results] == ["applied", "applied"]
    old.pull()
    assert rid not in old.of("resident")
    new.pull()
    assert rid in new.of("resident")
