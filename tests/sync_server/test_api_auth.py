"""Signing in, the current user, tokens and the health endpoint."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from shared.clock import MovableClock
from sync_server.config import Settings
from tests.factories import TinyGrid
from tests.sync_server.conftest import login


def test_health_reports_database_and_protocol(client: TestClient, settings: Settings) -> None:
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if settings.is_sqlite else "postgresql")
    assert body["protocol_version"] == 1


def test_login_returns_token_that_identifies_the_worker(client: TestClient, tiny: TinyGrid) -> None:
    headers = login(client, "w11")
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["username"] == "w11"
    assert me["role"] == "worker"
    assert [g["code"] for g in me["grids"]] == ["T1-1-1-1-1"]


def test_wrong_password_is_refused_without_saying_which_part_is_wrong(
    client: TestClient, tiny: TinyGrid
) -> None:
    wrong = client.post("/api/v1/auth/login", json={"username": "w11", "password": "nope-nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_requests_without_or_with_a_bad_token_are_401(client: TestClient, tiny: TinyGrid) -> None:
    assert client.get("/api/v1/me").json()["code"] == "not_authenticated"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer forged"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"


def test_logout_revokes_the_token(client: TestClient, tiny: TinyGrid) -> None:
    headers = login(client, "w11")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_login_with_device_registers_it_and_a_second_user_cannot_take_it(
    client: TestClient, tiny: TinyGrid
) -> None:
    device = str(uuid.uuid4())
    first = client.post(
        "/api/v1/auth/login",
        json={"username": "w11", "password": "correct-horse-battery", "device_id": device},
    )
    assert first.status_code == 200
    second = client.post(
        "/api/v1/auth/login",
        json={"username": "w12", "password": "correct-horse-battery", "device_id": device},
    )
    assert second.status_code == 403
    assert second.json()["code"] == "device_owner"


def test_malformed_login_names_the_field(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "", "password": "x"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "username"


def test_a_token_expires_after_its_lifetime_on_the_servers_clock(
    client: TestClient, tiny: TinyGrid, settings: Settings, clock: MovableClock
) -> None:
    headers = login(client, "w11")
    clock.advance(hours=settings.token_ttl_hours - 1)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    clock.advance(hours=2)
    expired = client.get("/api/v1/me", headers=headers)
    assert (expired.status_code, expired.json()["code"]) == (401, "token_expired")
    assert client.get("/api/v1/me", headers=login(client, "w11")).status_code == 200
