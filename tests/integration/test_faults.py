"""Fault injection: lost answers, a server failing mid-push, a phone killed before it synced."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from field_app.sync_client import Offline, ServerError
from sync_server.models import OperationLog, Resident
from sync_server.services import push as push_service
from tests.integration.harness import Phone


def test_answer_lost_after_the_server_committed_applies_nothing_twice(
    phone: Callable[[str], Phone], session_factory: sessionmaker[Session]
) -> None:
    a, b = phone("w11"), phone("w11b")
    a.sync()
    b.sync()
    rid = sorted(a.records("resident"))[0]
    a.store.update("resident", rid, {"tags": ["hardship"]}, user_id=a.user_id)
    a.store.update("resident", rid, {"note": "已走访"}, user_id=a.user_id)
    with session_factory() as session:
        before = session.get_one(Resident, rid).version
    a.transport.lose_next = True
    with pytest.raises(Offline):
        a.sync()
    assert a.store.pending_count() == 2  # the phone cannot know the server has them
    report = a.sync()
    assert (report.sent, report.applied) == (2, 2)
    with session_factory() as session:
        assert session.get_one(Resident, rid).version == before + 2
        logged = session.scalar(select(func.count()).select_from(OperationLog))
        assert logged == 2
    b.sync()
    assert b.records("resident")[rid][1]["tags"] == ["hardship"]


def test_server_failing_in_the_middle_of_a_push_leaves_nothing_half_applied(
    phone: Callable[[str], Phone],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = phone("w11")
    a.sync()
    first, second = sorted(a.records("resident"))[:2]
    a.store.update("resident", first, {"note": "一"}, user_id=a.user_id)
    a.store.update("resident", second, {"note": "二"}, user_id=a.user_id)

    def crash(**_: object) -> None:
        raise RuntimeError("server process killed")

    monkeypatch.setattr(push_service, "commit_changes", crash)
    a.transport.inner.raise_server_exceptions = False  # type: ignore[attr-defined]
    with pytest.raises(ServerError):
        a.client.push()
    with session_factory() as session:
        notes = {session.get_one(Resident, r).note for r in (first, second)}
        assert notes == {""}
        assert session.scalar(select(func.count()).select_from(OperationLog)) == 0
    monkeypatch.undo()
    report = a.sync()
    assert report.applied == 2
    with session_factory() as session:
        assert session.get_one(Resident, first).note == "一"


def test_phone_killed_between_an_edit_and_sync_keeps_the_edit(
    phone: Callable[[str], Phone], session_factory: sessionmaker[Session]
) -> None:
    a = phone("w11")
    a.sync()
    rid = sorted(a.records("resident"))[0]
    a.store.update("resident", rid, {"phone": "13800138000"}, user_id=a.user_id)
    a.reopen()  # killed and restarted: only what was committed survives
    assert a.store.pending_count() == 1
    assert a.records("resident")[rid][1]["phone"] == "13800138000"
    assert a.sync().applied == 1
    with session_factory() as session:
        assert session.get_one(Resident, rid).phone == "13800138000"


def test_phone_killed_during_a_pull_resumes_from_its_cursor(
    phone: Callable[[str], Phone], session_factory: sessionmaker[Session]
) -> None:
    a = phone("w11")
    a.client._pull_limit = 2
    pages = 0
    real_apply = a.store.apply_pull

    def die_after_two(page):  # type: ignore[no-untyped-def]
        nonlocal pages
        if pages == 2:
            raise KeyboardInterrupt  # the process dies between pages
        pages += 1
        return real_apply(page)

    a.store.apply_pull = die_after_two  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        a.sync()
    cursor = a.store.meta.cursor
    assert cursor is not None
    held = sum(len(a.records(e)) for e in ("house", "resident", "binding", "building", "unit"))
    a.reopen()
    a.client._pull_limit = 2
    report = a.sync()
    assert report.received > 0
    total = sum(len(a.records(e)) for e in ("house", "resident", "binding", "building", "unit"))
    assert total > held
    from tests.integration.harness import assert_device_equals_server

    with session_factory() as session:
        grid = {next(iter(a.store.meta.scope or []))}
        assert_device_equals_server(a, session, grid)
