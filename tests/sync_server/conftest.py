"""API test fixtures: the real app on the per-test database, driven through Starlette's client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shared.schema import Role
from sync_server.services.users import create_user
from tests.factories import PASSWORD, TinyGrid, make_tiny_grid, password_hash
from tests.sync_server.wire_device import WireDevice


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def pair(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> tuple[WireDevice, WireDevice]:
    """Two workers sweeping the same grid (T1-1-1-1-1), each with a bootstrapped device."""
    with session_factory() as session, session.begin():
        grid = session.merge(tiny.nodes["T1-1-1-1-1"])
        create_user(
            session=session,
            username="w11b",
            password_hash=password_hash(),
            role=Role.WORKER,
            grids=[grid],
        )
    a, b = WireDevice(client, "w11"), WireDevice(client, "w11b")
    a.pull()
    b.pull()
    return a, b


def login(
    client: TestClient, username: str, password: str = PASSWORD, *, device: bool = False
) -> dict[str, str]:
    """Bearer headers of a new sign-in; as a new device of its own with `device` (a token without
    a device reads no personal data: conflicts, missed lists)."""
    body = {"username": username, "password": password}
    if device:
        body["device_id"] = str(uuid.uuid4())
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
