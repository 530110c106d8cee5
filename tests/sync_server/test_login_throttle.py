"""Sign-in throttling (per username and per address, kept in the database) and its audit trail."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.models import AuditEvent, LoginAttempt
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
