"""A matter's loop through the app's view-models and the real server in-process: a worker reports
it offline at the door and it syncs; the community's supervisor accepts it and publishes it to
the claim list; two volunteers both claim it offline; the first to sync wins and the second is
told who moved it and when; the worker's phone follows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.state import GridsScreen
from field_app.state.matters import MatterReportForm, MatterScreen, MattersScreen
from shared.schema import Role
from sync_server.models import Matter
from sync_server.services.matters import create_org
from sync_server.services.users import create_user
from tests.factories import TinyGrid, make_tiny_grid, password_hash
from tests.field_app.app_harness import Device


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        grid = make_tiny_grid(session)
        org = create_org(
            session=session, name="西门志愿者队", kind="志愿者", grid=grid.nodes["T1-1-1-1"]
        )
        for name in ("h1", "h2"):
            create_user(
                session=session,
                username=name,
                password_hash=password_hash(),
                role=Role.HANDLER,
                org=org,
            )
        return grid


@pytest.fixture
def device(app: FastAPI, tmp_path: Path, tiny: TinyGrid) -> Iterator[Callable[[str], Device]]:
    made: list[Device] = []

    def make(username: str) -> Device:
        made.append(Device(app, tmp_path / f"{username}.db"))
        made[-1].sign_in(username)
        return made[-1]

    yield make
    for d in made:
        d.close()


def sync(phone: Device) -> None:
    phone.vm.request_sync()
    phone.work()


def matters_screen(phone: Device) -> MattersScreen:
    phone.vm.home()
    home = phone.vm.screen
    assert isinstance(home, GridsScreen)
    home.open_matters()
    screen = phone.vm.screen
    assert isinstance(screen, MattersScreen)
    return screen


def test_reported_offline_published_and_claimed_by_the_first_to_sync(
    device: Callable[[str], Device], session_factory: sessionmaker[Session]
) -> None:
    worker = device("w11")
    worker.transport.down = True  # a stairwell: no signal
    matters = matters_screen(worker)
    matters.report()
    form = worker.vm.screen
    assert isinstance(form, MatterReportForm)
    names = {str(c.values["name"]): c.id for c in form.categories}
    assert "安全隐患" in names, "the seeded categories reached the phone"
    form.set("category_id", names["安全隐患"])
    form.set("description", "楼道电动车飞线充电")
    form.set("place", "3号楼1单元楼道")
    assert form.save()
    reported = worker.vm.screen
    assert isinstance(reported, MatterScreen)
    matter_id = reported.matter_id
    reported.edit()  # still at the door: the place was not quite right
    correction = worker.vm.screen
    assert isinstance(correction, MatterReportForm)
    correction.set("place", "3号楼2单元楼道")
    assert correction.save()
    assert worker.vm.status.pending == 1, "one matter, as the worker counts it"

    worker.transport.down = False
    sync(worker)
    assert worker.vm.status.pending == 0
    with session_factory() as session:
        stored = session.scalar(select(Matter).where(Matter.id == matter_id))
        assert stored is not None and stored.state == "reported" and stored.due_at is not None
        assert stored.place == "3号楼2单元楼道"

    supervisor = device("s1")
    case = matters_screen(supervisor)
    assert [m.id for m in case.items] == [matter_id]
    case.open(matter_id)
    screen = supervisor.vm.screen
    assert isinstance(screen, MatterScreen)
    assert screen.actions == ["accept", "decline"]
    screen.start("accept")
    screen.start("publish")
    assert screen.detail is not None and screen.detail.item.state == "published"
    sync(supervisor)
    assert supervisor.vm.status.pending == 0

    first, second = device("h1"), device("h2")
    for handler in (first, second):
        claim = matters_screen(handler)
        assert claim.scope == "claim" and [m.id for m in claim.items] == [matter_id]
        handler.transport.down = True
        claim.open(matter_id)
        screen = handler.vm.screen
        assert isinstance(screen, MatterScreen) and screen.actions == ["claim"]
        screen.start("claim")
        assert screen.detail is not None and screen.detail.item.state == "claimed"

    first.transport.down = False
    sync(first)
    assert first.vm.status.pending == 0 and first.vm.status.rejected == 0
    second.transport.down = False
    sync(second)
    assert second.vm.status.rejected == 1, "the second claim is refused, and said so"
    screen = second.vm.screen
    assert isinstance(screen, MatterScreen)
    [refused] = screen.rejected
    assert refused.code == "stale_transition"
    assert str(first.store.meta.user_id) in (refused.reason or ""), "who moved it"
    told = screen.refusal(refused)
    assert told is not None and told.params["state"] == "claimed"
    assert str(first.store.meta.user_id)[:8] in told.message_zh and "已接单" in told.message_zh
    assert second.store.matters("claim") == second.store.matters("orders") == [], "h1's now"

    sync(worker)
    assert worker.store.matter(matter_id).item.state == "claimed"  # type: ignore[union-attr]
