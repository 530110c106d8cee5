"""Campaigns on the device against the real server in-process: what a phone receives, the
send-back notes it is told about, and its offline missed list, which must equal the server's."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.state import GridsScreen, HouseScreen, ResidentScreen, VisitScreen
from field_app.state.campaign import CampaignsScreen, MissedScreen
from field_app.sync_client import SyncClient
from shared.clock import MovableClock
from shared.protocol import Operation
from sync_server.models import Binding, Campaign, Device, GridNode, Outcome, Resident, User, Visit
from sync_server.queries.campaign_progress import sweep_under
from sync_server.services.review import decide, pending_notes
from tests.days import RUN_CLOCK, at, iso, local
from tests.factories import TinyGrid, make_id_number, make_tiny_grid
from tests.field_app.app_harness import Device as Phone
from tests.field_app.test_views import render, texts
from tests.sync_server.campaign_helpers import create_campaign, upload, write_completions
from tests.sync_server.conftest import login
from tests.sync_server.console.conftest import Console

GRID = "T1-1-1-1-1"  # w11's level-5 grid


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session, houses_per_grid=4)


@pytest.fixture
def phone(app: FastAPI, tmp_path: Path, tiny: TinyGrid) -> Iterator[Callable[[], Phone]]:
    made: list[Phone] = []

    def make() -> Phone:
        made.append(Phone(app, tmp_path / f"device-{len(made)}.db"))
        made[-1].sign_in("w11")
        return made[-1]

    yield make
    for device in made:
        device.close()


def residents_in(factory: sessionmaker[Session], tiny: TinyGrid, code: str) -> list[Resident]:
    with factory() as session:
        ids = session.scalars(
            select(Binding.resident_id).where(
                Binding.house_id.in_([h.id for h in tiny.houses[code]])
            )
        ).all()
        return [session.get_one(Resident, rid) for rid in sorted(ids)]


def server_statuses(factory: sessionmaker[Session], campaign_id: str, node_id: str) -> dict:
    with factory() as session:
        campaign = session.get_one(Campaign, campaign_id)
        node = session.get_one(GridNode, node_id)
        swept = sweep_under(session=session, campaign=campaign, node=node)
        return {rid: s.status for rid, s in swept.result.statuses.items()}


@pytest.fixture
def campaign(
    app: FastAPI, tiny: TinyGrid, session_factory: sessionmaker[Session], tmp_path: Path
) -> str:
    """A campaign over community 1 with the first resident of each of its grids completed."""
    client = TestClient(app)
    created = create_campaign(client, "T1-1-1-1")
    done = [residents_in(session_factory, tiny, code)[0] for code in (GRID, "T1-1-1-1-2")]
    rows = [(p.id_number, f"{iso(-13)} 08:30:00", "采样点") for p in done]
    response = upload(client, created["id"], write_completions(tmp_path / "done.csv", rows))
    assert response.status_code == 200, response.text
    return str(created["id"])


def test_device_receives_campaigns_and_completions_of_its_grid(
    phone: Callable[[], Phone],
    campaign: str,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    device = phone()
    store = device.store
    assert [c.id for c in store.campaigns()] == [campaign]
    held = store.get("campaign", campaign)
    assert held is not None
    assert held.values["residence_statuses"]  # tags-kind field decoded as a list
    first = residents_in(session_factory, tiny, GRID)[0]
    completed = store.db.execute("SELECT resident_id FROM completion").fetchall()
    assert completed == [(first.id,)]  # only the completion of its own grid


def test_pull_reports_the_outbox(
    phone: Callable[[], Phone], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    device = phone()
    house = tiny.houses[GRID][0]
    device.store.create("visit", _visit(house.id), user_id=device.vm.user_id)
    device.transport.down = True
    assert device.store.pending_count() == 1
    assert device.store.oldest_pending_at() is not None
    device.transport.down = False
    client = device.connect("http://testserver", device.store)
    client.pull()  # a pull alone: the visit is still waiting
    with session_factory() as session:
        row = session.get_one(Device, device.store.device_id)
        assert row.pending_ops == 1
        assert row.oldest_pending_at is not None


def _visit(house_id: str) -> dict[str, object]:
    return {"house_id": house_id, "outcome": "met", "visited_at": local(0, 10, 15)}


def _sent_back(
    device: Phone,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    *,
    name: str,
    reason: str,
    seed: int,
) -> tuple[Operation, SyncClient]:
    """A person added at the door and synced, then sent back by the grid's supervisor; the
    phone's resident create, and its sync client (nothing synced since the send-back)."""
    store = device.store
    op = store.create(
        "resident",
        {"name": name, "id_number": make_id_number(random.Random(seed))},
        user_id=device.vm.user_id,
    )
    binding = {"resident_id": op.record_id, "house_id": tiny.houses[GRID][0].id}
    binding |= {"relation": "member", "start_date": iso()}
    store.create("binding", binding, user_id=device.vm.user_id)
    client = device.connect("http://testserver", store)
    client.sync()
    assert device.vm.status.problems == 0
    with session_factory() as session, session.begin():
        supervisor = session.scalars(select(User).where(User.username == "s1")).one()
        decide(
            session=session,
            user=supervisor,
            op_id=op.op_id,
            approve=False,
            reason=reason,
            now=RUN_CLOCK.now(),
        )
    return op, client


def test_a_send_back_note_reaches_the_device_and_is_acknowledged(
    phone: Callable[[], Phone], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    device = phone()
    store = device.store
    op, client = _sent_back(device, tiny, session_factory, name="李四", reason="查无此人", seed=3)
    client.sync()
    notes = store.review_notes()
    assert [(n.op_id, n.reason, n.kind) for n in notes] == [(op.op_id, "查无此人", "new_resident")]
    assert store.review_notes_to_ack() == [op.op_id]
    client.sync()  # acknowledges: the server stops sending it, the worker still sees it
    assert store.review_notes_to_ack() == []
    assert [n.op_id for n in store.review_notes()] == [op.op_id]
    with session_factory() as session, session.begin():
        assert pending_notes(session=session, device_id=store.device_id) == []
    assert store.dismiss_review_note(op.op_id)
    assert store.review_notes() == []


def test_a_send_back_shows_at_home_and_on_the_person_until_read(
    phone: Callable[[], Phone], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    device = phone()
    reason = "身份证号与户籍不符"
    op, client = _sent_back(device, tiny, session_factory, name="王五", reason=reason, seed=5)
    client.sync()
    device.vm.home()
    home = device.vm.screen
    assert isinstance(home, GridsScreen)
    assert [(n.name, n.reason, n.resident_id) for n in home.notes] == [
        ("王五", reason, op.record_id)
    ]
    assert device.vm.status.sent_back == 1 and device.vm.status.problems == 1
    home.open_note(op.op_id)
    person = device.vm.screen
    assert isinstance(person, ResidentScreen) and person.resident_id == op.record_id
    assert [n.reason for n in person.notes] == [reason]
    person.dismiss_note(op.op_id)
    assert person.notes == [] and device.vm.status.problems == 0
    device.vm.back()
    assert home.notes == [], "read on the person: gone from home too"


def test_missed_list_equals_the_servers_and_updates_at_once(
    phone: Callable[[], Phone],
    campaign: str,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    device = phone()
    vm = device.vm
    grid_id = tiny.nodes[GRID].id

    def device_statuses() -> dict[str, str]:
        swept = device.store.campaign_sweep(campaign)
        return {rid: s.status for rid, s in swept.result.statuses.items()}

    assert device_statuses() == server_statuses(session_factory, campaign, grid_id)

    vm.push(CampaignsScreen(vm))
    campaigns = vm.screen
    assert isinstance(campaigns, CampaignsScreen)
    [item] = campaigns.items
    assert item.tally.targets == 6 and item.tally.completed == 1 and item.tally.missed == 5
    campaigns.open(campaign)
    missed = vm.screen
    assert isinstance(missed, MissedScreen)
    assert missed.groups[0].count == 5
    assert sum(h.count for u in missed.groups[0].units for h in u.houses) == 5
    people = sorted(missed.missed)

    # not_home needs a revisit date, and keeps the person on the list
    missed.start_outcome(people[0])
    missed.choose("not_home")
    assert missed.dialog is not None and missed.dialog.needs == "revisit_date"
    assert not missed.save_outcome()
    assert "revisit_date" in missed.dialog.errors
    missed.set_detail("revisit_date", iso(1))
    assert missed.save_outcome()
    assert people[0] in missed.missed
    last = missed.last_outcome(people[0])
    assert last is not None and last.outcome == "not_home"

    missed.start_outcome(people[1])
    missed.choose("refused")
    assert missed.save_outcome()
    assert people[1] in missed.missed

    for rid, outcome, detail in [
        (people[2], "done_elsewhere", ("place", "市一医院")),
        (people[3], "exempt", ("reason", "卧床")),
        (people[4], "away", None),
    ]:
        missed.start_outcome(rid)
        missed.choose(outcome)
        if detail:
            missed.set_detail(*detail)
        assert missed.save_outcome()
        assert rid not in missed.missed  # at once, offline
    assert missed.missed == {people[0], people[1]}
    assert missed.tally.settled == 3

    # a later not_home does not reopen a settled person
    missed.start_outcome(people[4])
    missed.choose("not_home")
    missed.set_detail("revisit_date", iso(2))
    assert missed.save_outcome()
    assert people[4] not in missed.missed

    device.work()  # the outcomes sync; the server now computes the same list
    device.connect("http://testserver", device.store).sync()
    assert device.store.pending_count() == 0
    assert device_statuses() == server_statuses(session_factory, campaign, grid_id)


@pytest.fixture(params=["UTC", "America/New_York"])
def phone_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The zone this process (the phone) is set to: none of it may reach a stored time."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_a_visit_and_an_outcome_at_half_past_eleven_at_night_china_time(
    phone_zone: str,
    phone: Callable[[], Phone],
    campaign: str,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    clock: MovableClock,
    app: FastAPI,
) -> None:
    late = at(0, 23, 30)  # 15:30 UTC; 10:30 in New York
    assert time.strftime("%H:%M", time.localtime(late.timestamp())) != "23:30", phone_zone
    clock.advance(late + timedelta(minutes=1) - clock.now())  # the server's night too
    device = phone()
    device.clock.set(late)
    vm = device.vm

    house = HouseScreen(vm, tiny.houses[GRID][1].id)
    vm.push(house)
    house.record_visit()
    visit = vm.screen
    assert isinstance(visit, VisitScreen)
    visit.choose("met")
    assert visit.save() and vm.screen is house
    stamp = f"{iso(0)}T15:30:00.000Z"  # the instant, in UTC, whatever the phone's zone
    assert house.visits[0]["visited_at"] == stamp
    assert house.summary is not None and house.summary.visited_today
    assert f"{iso(0)} 23:30" in texts(render(device, "zh-CN"))  # shown in China time

    vm.push(CampaignsScreen(vm))
    campaigns = vm.screen
    assert isinstance(campaigns, CampaignsScreen)
    campaigns.open(campaign)
    missed = vm.screen
    assert isinstance(missed, MissedScreen)
    person = sorted(missed.missed)[0]
    missed.start_outcome(person)
    missed.choose("refused")  # keeps them on the missed list, with the time it was recorded
    assert missed.save_outcome()
    assert device.store.db.execute("SELECT recorded_at FROM outcome").fetchall() == [(stamp,)]

    device.connect("http://testserver", device.store).sync()
    assert device.store.pending_count() == 0
    with session_factory() as session:
        [stored_visit] = session.scalars(select(Visit)).all()
        [stored_outcome] = session.scalars(select(Outcome)).all()
        assert stored_visit.visited_at == late and stored_outcome.recorded_at == late

    client = TestClient(app)
    export = client.get(
        f"/api/v1/campaigns/{campaign}/missed.csv", headers=login(client, "s1", device=True)
    )
    assert export.status_code == 200, export.text
    [row] = [line for line in export.text.splitlines() if "拒绝" in line]
    assert f"{iso(0)} 23:30" in row and "15:30" not in export.text
    console = Console(TestClient(app))
    assert console.login("admin").status_code == 303
    history = console.get(f"/console/history/visit/{stored_visit.id}")
    assert history.status_code == 200, history.text
    assert f"{iso(0)} 23:30" in history.text and "15:30" not in history.text
