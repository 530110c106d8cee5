"""Sign-in throttling (per username and per address, kept in the database) and its audit trail."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.models import AuditEvent, LoginAttempt
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD, TinyGrid

DEVICE = "6f1c2d3e-0000-4000-8000-00000000a0d1"


def _try(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return response.status_code


def test_five_failures_lock_the_username_with_429_and_retry_after(
    client: TestClient, tiny: TinyGrid
) -> None:
    assert [_try(client, "w11", "wrong-one") for _ in range(5)] == [401] * 5
    locked = client.post("/api/v1/auth/login", json={"username": "w11", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["content-type"].startswith("application/problem+json")
    assert locked.json()["code"] == "too_many_attempts"
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    # Another username from the same address is not locked by five failures.
    assert _try(client, "w12", PASSWORD) == 200


def test_the_lock_ends_after_the_lockout_and_a_success_forgives(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    for _ in range(4):
        assert _try(client, "w11", "wrong-one") == 401
    assert _try(client, "w11", PASSWORD) == 200  # forgives the four
    for _ in range(4):
        assert _try(client, "w11", "wrong-one") == 401
    assert _try(client, "w11", PASSWORD) == 200
    for _ in range(5):
        _try(client, "w11", "wrong-one")
    assert _try(client, "w11", PASSWORD) == 429
    with session_factory() as session, session.begin():
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.at -= timedelta(seconds=301)
    assert _try(client, "w11", PASSWORD) == 200


def test_many_failures_from_one_address_lock_the_address(
    settings: Settings, tiny: TinyGrid
) -> None:
    app = create_app(settings.model_copy(update={"login_max_failures_per_ip": 3}))
    with TestClient(app) as client:
        for name in ("ghost1", "ghost2", "ghost3"):
            assert _try(client, name, "nope") == 401
        assert _try(client, "w11", PASSWORD) == 429
    app.state.engine.dispose()


def test_attempts_are_shared_by_server_processes(settings: Settings, tiny: TinyGrid) -> None:
    apps = [create_app(settings), create_app(settings)]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        for i in range(5):
            assert _try(first if i % 2 else second, "w11", "wrong-one") == 401
        assert _try(first, "w11", PASSWORD) == 429
        assert _try(second, "w11", PASSWORD) == 429
    for app in apps:
        app.state.engine.dispose()


def test_every_login_is_audited_with_user_address_and_device(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    _try(client, "w11", "wrong-one")
    ok = client.post(
        "/api/v1/auth/login",
        json={"username": "w11", "password": PASSWORD, "device_id": DEVICE},
    )
    assert ok.status_code == 200
    with session_factory() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.username, e.device_id) for e in events] == [
            ("login_failed", "w11", None),
            ("login", "w11", DEVICE),
        ]
        assert events[0].detail == {"code": "invalid_credentials"}
        assert events[1].user_id == ok.json()["user"]["id"]
        assert all(e.ip == "testclient" for e in events)
        assert all(e.at is not None for e in events)


def _age(session_factory: sessionmaker[Session], seconds: int, **where: str) -> None:
    """Move the matching attempts `seconds` into the past, as if they were made then."""
    with session_factory() as session, session.begin():
        query = select(LoginAttempt)
        for column, value in where.items():
            query = query.where(getattr(LoginAttempt, column) == value)
        for attempt in session.scalars(query):
            attempt.at -= timedelta(seconds=seconds)


def _attempts(session_factory: sessionmaker[Session]) -> list[tuple[str, bool]]:
    with session_factory() as session:
        rows = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
        return [(a.username, a.ok) for a in rows]


def test_attempts_older_than_the_window_are_pruned_and_recent_ones_still_lock(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    # Guesses at names that are never tried again, from another address, long ago.
    for name in ("ghost1", "ghost2", "ghost3"):
        assert _try(client, name, "nope") == 401
    _age(session_factory, 301)
    # Four recent failures for w11: they must survive the pruning and still count.
    for _ in range(4):
        assert _try(client, "w11", "wrong-one") == 401
    assert _attempts(session_factory) == [("w11", False)] * 4
    assert _try(client, "w11", "wrong-one") == 401
    assert _try(client, "w11", PASSWORD) == 429
    # Once those fall out of the window the next attempt prunes them and w11 may sign in.
    _age(session_factory, 301, username="w11")
    assert _try(client, "w12", "wrong-one") == 401
    assert _attempts(session_factory) == [("w12", False)]
    assert _try(client, "w11", PASSWORD) == 200
    assert _attempts(session_factory) == [("w12", False), ("w11", True)]


def test_a_backlog_of_old_attempts_drains_in_bounded_batches(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    from sync_server.services.throttle import PRUNE_BATCH

    long_ago = RUN_CLOCK.now() - timedelta(days=3)
    with session_factory() as session, session.begin():
        session.add_all(
            LoginAttempt(
                username=f"spray{i}", ip=f"10.0.{i // 250}.{i % 250}", ok=False, at=long_ago
            )
            for i in range(PRUNE_BATCH + 10)
        )
    assert _try(client, "w11", PASSWORD) == 200
    assert len(_attempts(session_factory)) == 10 + 1  # one batch gone, the new attempt added
    assert _try(client, "w11", PASSWORD) == 200
    assert _attempts(session_factory) == [("w11", True)] * 2
