"""A person a worker moves out stays on their phone, findable, for the recently-moved window
(shared.moves), and is forgotten by the phone itself when it closes: the phone then holds what
a fresh download would."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
from shared.moves import RECENTLY_MOVED_DAYS
from tests.days import iso
from tests.factories import PASSWORD, TinyGrid
from tests.integration.harness import Phone, assert_device_equals_server

GRID = "T1-1-1-1-1"


def test_a_person_moved_out_stays_findable_until_the_window_closes(
    phone: Callable[[str], Phone],
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    clock: MovableClock,
) -> None:
    worker, other = phone("w11"), phone("w11b")
    worker.sync()
    other.sync()
    bindings = worker.records("binding")
    binding_id, (_, binding) = sorted(bindings.items())[0]
    rid = binding["resident_id"]
    name = worker.records("resident")[rid][1]["name"]
    address = worker.records("house")[binding["house_id"]][1]["address"]

    # Moved out of the community two days ago, recorded at the door.
    worker.store.update("binding", binding_id, {"end_date": iso(-2)}, user_id=worker.user_id)
    assert worker.sync().applied == 1
    other.sync()
    for device in (worker, other):
        assert rid in device.records("resident"), "kept for the recently-moved window"
        [hit] = [
            h
            for h in device.store.search_residents(name, day=clock.today())
            if h.resident.id == rid
        ]
        assert (hit.house_id, hit.moved_on, hit.moved_from) == (None, iso(-2), address)
    grids = {tiny.nodes[GRID].id}
    with session_factory() as session:
        assert_device_equals_server(worker, session, grids)
        assert_device_equals_server(other, session, grids)

    # The second phone queued a last correction before the window closed: it is kept until
    # the server has answered it.
    other.transport.down = True
    other.store.update("resident", rid, {"note": "搬去外地"}, user_id=other.user_id)
    clock.advance(days=RECENTLY_MOVED_DAYS - 2)  # ended 30 days ago: the window's last day
    worker.client.login(worker.username, PASSWORD)  # a month on, the sign-in has expired
    worker.sync()
    assert rid in worker.records("resident")
    clock.advance(days=1)
    worker.sync()
    assert rid not in worker.records("resident"), "the phone forgot them by itself"
    assert binding_id not in worker.records("binding")
    assert not [
        h for h in worker.store.search_residents(name, day=clock.today()) if h.resident.id == rid
    ]
    with session_factory() as session:
        assert_device_equals_server(worker, session, grids)

    other.transport.down = False
    other.client.login(other.username, PASSWORD)
    report = other.sync()
    assert report.rejected == 1, "too late: the person has left the grid"
    assert rid in other.records("resident"), "the rejection still names the person"
