"""API test fixtures: the real app on the per-test database, driven through Starlette's client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Settings
from sync_server.main import create_app
from tests.factories import PASSWORD, TinyGrid, make_tiny_grid


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
