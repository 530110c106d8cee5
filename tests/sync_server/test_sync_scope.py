"""Reassigning grids: the next pull sends only the difference, and stale edits are refused."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
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


def test_resident_who_moves_to_another_grid_stays_on_the_old_device_for_the_window(
    client: TestClient, tiny: TinyGrid, clock: MovableClock
) -> None:
    """The worker who moved someone out can still find and correct them for the recently-moved
    window (shared.moves); after it, a download of the old grid no longer holds them."""
    admin = WireDevice(client, "admin")
    admin.pull()
    old, new = WireDevice(client, "w11"), WireDevice(client, "w12")
    old.pull()
    new.pull()
    binding_id, binding = next((k, v) for k, v in sorted(old.of("binding").items()))
    rid = binding["values"]["resident_id"]
    target_house = sorted(new.of("house"))[0]

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
    assert rid in old.of("resident"), "the old grid keeps the person for the window"
    assert old.of("binding")[binding_id]["values"]["end_date"] == iso(-3)
    new.pull()
    assert rid in new.of("resident")

    # The new grid's worker corrects the phone: the old grid's copy follows. The person is the
    # new grid's now, so the old worker reads but no longer edits them.
    [result] = new.push([new.edit("resident", rid, phone="13900000001")])
    assert result["status"] == "applied"
    old.pull()
    assert old.of("resident")[rid]["values"]["phone"] == "13900000001"
    [result] = old.push([old.edit("resident", rid, note="moved to the next grid")])
    assert (result["status"], result["code"]) == ("rejected", "out_of_scope")

    def download() -> WireDevice:
        device = WireDevice(client, "w11")
        device.pull()
        return device

    clock.advance(days=27)  # the binding ended 30 days ago: the last day of the window
    assert rid in download().of("resident")
    clock.advance(days=1)
    fresh = download()
    assert rid not in fresh.of("resident")
    assert binding_id not in fresh.of("binding")
