"""A matter's loop through the app's view-models and the real server in-process: a worker reports
it offline at the door and it syncs; the community's supervisor accepts it and publishes it to
the claim list; two volunteers both claim it offline; the first to sync wins and the second is
told who moved it and when; the worker's phone follows.

Then the rest of the loop: the winner handles it offline and applies to close with a photo and a
work note (the photo through the real upload queue); the supervisor sends it back with a reason
the handler's phone shows; the handler applies again; the supervisor verifies and closes, seeing
the report's and the closing photos as thumbnails; the worker records the resident's rating at
the door offline; the handler's points are credited once however often the push is retried. A
step made on a phone that had not heard of a newer one is refused in Chinese, by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.state import GridsScreen
from field_app.state.matters import MatterReportForm, MatterScreen, MattersScreen
from shared.schema import Role
from sync_server.models import Matter, MatterStep, Photo, PointsEntry, User
from sync_server.services.matters import create_org
from sync_server.services.users import create_user
from tests.factories import TinyGrid, make_tiny_grid, password_hash
from tests.field_app.app_harness import Device
from tests.field_app.test_matter_thumbs import drawn_text
from tests.photos import noisy_jpeg


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        grid = make_tiny_grid(session)
        org = create_org(
            session=session, name="西门志愿者队", kind="志愿者", grid=grid.nodes["T1-1-1-1"]
        )
        for name, shown in (("h1", "王志愿"), ("h2", "赵志愿")):
            create_user(
                session=session,
                username=name,
                password_hash=password_hash(),
                role=Role.HANDLER,
                org=org,
                display_name=shown,
            )
        # A second supervisor of the community: its case desk has two phones.
        create_user(
            session=session,
            username="s1b",
            password_hash=password_hash(),
            role=Role.SUPERVISOR,
            grids=[grid.nodes["T1-1-1-1"]],
            display_name="李主任",
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
    assert "王志愿" in screen.refusal_words(told, "zh-CN"), "by the name the phone shows"
    assert second.store.matters("claim") == second.store.matters("orders") == [], "h1's now"

    sync(worker)
    assert worker.store.matter(matter_id).item.state == "claimed"  # type: ignore[union-attr]


def opened(phone: Device, matter_id: str) -> MatterScreen:
    """The matter's screen on `phone`, opened from the list it is on (a handler's claimed
    orders are on "orders", not on the claim list)."""
    listed = matters_screen(phone)
    for scope in listed.scopes:
        listed.set_scope(scope)
        if any(m.id == matter_id for m in listed.items):
            break
    listed.open(matter_id)
    screen = phone.vm.screen
    assert isinstance(screen, MatterScreen), f"{matter_id} is not on the list"
    return screen


def take(
    screen: MatterScreen,
    action: str,
    *,
    reason: str | None = None,
    photos: Sequence[bytes] = (),
    rating: int | None = None,
    comment: str | None = None,
) -> None:
    """Tap the step and fill in what its form asks for."""
    assert action in screen.actions, (action, screen.actions)
    screen.start(action)
    if screen.form is None:
        return  # taken at once
    if reason is not None:
        screen.set_reason(reason)
    for photo in photos:
        screen.add_photo(photo)
    if rating is not None:
        screen.set_rating(rating)
    if comment is not None:
        screen.set_comment(comment)
    assert screen.submit(), screen.form.errors if screen.form else None


def uploaded(phone: Device) -> None:
    """Sync, then let the photo work after it run to the end (thumbnails, uploads)."""
    sync(phone)
    phone.work(3)
    assert phone.store.photo_counts().pending == 0, "every photo of the phone reached the server"


def claimed_by_h1(device: Callable[[str], Device]) -> tuple[Device, Device, Device, str]:
    """A matter reported at the door with a photo, accepted and published by the supervisor and
    claimed by h1: (worker, supervisor, handler, matter id), each phone in sync."""
    worker = device("w11")
    form_screen = matters_screen(worker)
    form_screen.report()
    form = worker.vm.screen
    assert isinstance(form, MatterReportForm)
    form.set("category_id", next(c.id for c in form.categories if c.values["name"] == "安全隐患"))
    form.set("description", "楼道电动车飞线充电")
    form.set("place", "3号楼1单元楼道")
    form.add_photo(noisy_jpeg(1))
    assert form.save()
    reported = worker.vm.screen
    assert isinstance(reported, MatterScreen)
    matter_id = reported.matter_id
    uploaded(worker)

    supervisor = device("s1")
    case = opened(supervisor, matter_id)
    take(case, "accept")
    take(case, "publish")
    sync(supervisor)

    handler = device("h1")
    take(opened(handler, matter_id), "claim")
    sync(handler)
    assert handler.vm.status.pending == 0 and handler.vm.status.rejected == 0
    return worker, supervisor, handler, matter_id


def test_handled_offline_sent_back_closed_rated_and_credited_once(
    device: Callable[[str], Device], session_factory: sessionmaker[Session]
) -> None:
    worker, supervisor, handler, matter_id = claimed_by_h1(device)

    # In the basement with no signal: start, fix it, photograph it, apply to close.
    handler.transport.down = True
    screen = opened(handler, matter_id)
    take(screen, "start")
    assert screen.detail is not None and screen.detail.item.state == "handling"
    first_after = noisy_jpeg(2)
    take(screen, "apply_close", reason="已拆除飞线，劝导住户到充电棚充电", photos=[first_after])
    assert screen.detail is not None and screen.detail.item.state == "closing"
    assert len(screen.photos_after) == 1
    assert handler.vm.status.pending == 2 and handler.store.photo_counts().pending == 1
    handler.transport.down = False
    uploaded(handler)
    assert handler.vm.status.pending == 0 and handler.vm.status.rejected == 0

    # The case desk: before and after side by side, as thumbnails; not good enough yet.
    sync(supervisor)
    supervisor.work(2)
    desk = opened(supervisor, matter_id)
    assert desk.detail is not None and desk.detail.item.state == "closing"
    assert desk.actions == ["verify_close", "send_back"]
    assert len(desk.photos_before) == 1 and len(desk.photos_after) == 1
    for sha in (*desk.photos_before, *desk.photos_after):
        assert desk.picture(sha), f"the thumbnail of {sha[:8]} reached the supervisor's phone"
    take(desk, "send_back", reason="充电棚照片未拍到，请补拍")
    sync(supervisor)
    assert supervisor.vm.status.pending == 0 and supervisor.vm.status.rejected == 0

    # The handler's phone says why, and the handler applies again with another photo.
    sync(handler)
    screen = opened(handler, matter_id)
    assert screen.detail is not None and screen.detail.item.state == "handling"
    back = [s for s in screen.detail.steps if s.action == "send_back"]
    assert [s.record.values["reason"] for s in back] == ["充电棚照片未拍到，请补拍"]
    assert "充电棚照片未拍到，请补拍" in drawn_text(screen, "zh-CN"), "the page says why"
    take(screen, "apply_close", reason="补拍充电棚照片", photos=[noisy_jpeg(3)])
    uploaded(handler)
    assert handler.vm.status.pending == 0

    # Verified and closed; the answer to the push is lost, and the phone sends it again.
    sync(supervisor)
    supervisor.work(2)
    desk = opened(supervisor, matter_id)
    assert len(desk.photos_after) == 2
    assert all(desk.picture(sha) for sha in (*desk.photos_before, *desk.photos_after))
    take(desk, "verify_close")
    supervisor.transport.lose_next = True
    sync(supervisor)
    assert supervisor.vm.status.pending == 1, "not heard back: still waiting"
    sync(supervisor)
    assert supervisor.vm.status.pending == 0 and supervisor.vm.status.rejected == 0

    # At the door, offline: the resident is pleased. The answer is lost once more.
    sync(worker)
    worker.transport.down = True
    door = opened(worker, matter_id)
    assert door.detail is not None and door.detail.item.state == "closed"
    take(door, "rate", rating=5, comment="很及时，谢谢")
    worker.transport.down = False
    worker.transport.lose_next = True
    sync(worker)
    assert worker.vm.status.pending == 1, "not heard back: still waiting"
    sync(worker)
    assert worker.vm.status.pending == 0 and worker.vm.status.rejected == 0

    with session_factory() as session:
        h1 = session.scalar(select(User).where(User.username == "h1"))
        assert h1 is not None
        ledger = session.execute(
            select(PointsEntry.user_id, PointsEntry.kind, PointsEntry.amount).where(
                PointsEntry.matter_id == matter_id
            )
        ).all()
        assert sorted(ledger) == [(h1.id, "base", 10), (h1.id, "bonus", 5)], "once each"
        # The report's photo and both closing photos, whole, through the phones' upload queue.
        shown = {*desk.photos_before, *desk.photos_after}
        kept = session.scalars(select(Photo.sha256).where(Photo.complete.is_(True))).all()
        assert len(shown) == 3 and shown <= set(kept)
        stored = session.scalar(select(Matter).where(Matter.id == matter_id))
        assert stored is not None and stored.state == "closed" and stored.rating == 5
        # The phones' clocks stand still here, so the timeline is read by what each step
        # moved from: one of each, every retried push applied once.
        steps = session.execute(
            select(MatterStep.from_state, MatterStep.action).where(
                MatterStep.matter_id == matter_id
            )
        ).all()
        assert sorted(steps) == sorted(
            [
                ("reported", "accept"),
                ("accepted", "publish"),
                ("published", "claim"),
                ("claimed", "start"),
                ("handling", "apply_close"),
                ("closing", "send_back"),
                ("handling", "apply_close"),
                ("closing", "verify_close"),
                ("closed", "rate"),
            ]
        )


def test_a_step_behind_the_times_is_refused_in_chinese_by_name(
    device: Callable[[str], Device], session_factory: sessionmaker[Session]
) -> None:
    worker, supervisor, handler, matter_id = claimed_by_h1(device)
    handler.transport.down = True
    take(opened(handler, matter_id), "apply_close", reason="已拆除飞线", photos=[noisy_jpeg(2)])
    handler.transport.down = False
    uploaded(handler)

    # Both supervisors hold it awaiting verification; s1 verifies in a lift with no signal,
    # while 李主任 sends it back from the office.
    other = device("s1b")
    sync(supervisor)
    supervisor.transport.down = True
    take(opened(supervisor, matter_id), "verify_close")
    take(opened(other, matter_id), "send_back", reason="照片看不清")
    sync(other)

    supervisor.transport.down = False
    sync(supervisor)
    assert supervisor.vm.status.rejected == 1
    screen = opened(supervisor, matter_id)
    assert screen.detail is not None and screen.detail.item.state == "handling", "as it is"
    [refused] = screen.rejected
    told = screen.refusal(refused)
    assert told is not None and told.params["state"] == "handling"
    words = screen.refusal_words(told, "zh-CN")
    assert "李主任" in words and "办理中" in words, words
    assert "李主任" in screen.refusal_words(told, "en")
    page = drawn_text(screen, "zh-CN")
    assert "李主任" in page and "办理中" in page, "the page says who moved it, by name"

    # The worker's phone never heard of the close it was going to rate: nothing to rate.
    sync(worker)
    door = opened(worker, matter_id)
    assert "rate" not in door.actions
    with session_factory() as session:
        stored = session.scalar(select(Matter).where(Matter.id == matter_id))
        assert stored is not None and stored.state == "handling" and stored.closed_at is None
        assert (
            session.scalars(select(PointsEntry).where(PointsEntry.matter_id == matter_id)).all()
            == []
        ), "a refused close credits nothing"


def test_rated_twice_from_two_phones_the_first_counts_and_the_bonus_once(
    device: Callable[[str], Device], session_factory: sessionmaker[Session]
) -> None:
    worker, supervisor, handler, matter_id = claimed_by_h1(device)
    take(opened(handler, matter_id), "apply_close", reason="已拆除飞线", photos=[noisy_jpeg(2)])
    uploaded(handler)
    sync(supervisor)
    take(opened(supervisor, matter_id), "verify_close")
    sync(supervisor)
    sync(worker)

    # The resident phones the office, and also tells the worker at the door (no signal there).
    worker.transport.down = True
    take(opened(worker, matter_id), "rate", rating=4, comment="还行")
    take(opened(supervisor, matter_id), "rate", rating=5, comment="电话回访：满意")
    sync(supervisor)
    assert supervisor.vm.status.rejected == 0
    worker.transport.down = False
    sync(worker)
    assert worker.vm.status.pending == 0 and worker.vm.status.rejected == 1, "told, not lost"
    door = opened(worker, matter_id)
    assert door.detail is not None and door.detail.item.shown.get("rating") == 5, "as it is"
    [refused] = door.rejected
    assert refused.code == "invalid" and refused.field == "rating"
    assert "该事项已评价过" in drawn_text(door, "zh-CN"), "the page says it was rated already"

    with session_factory() as session:
        ledger = session.execute(
            select(PointsEntry.kind, PointsEntry.amount).where(PointsEntry.matter_id == matter_id)
        ).all()
        assert sorted(ledger) == [("base", 10), ("bonus", 5)]
        stored = session.scalar(select(Matter).where(Matter.id == matter_id))
        assert stored is not None and stored.rating == 5
