"""API test fixtures: the real app on the per-test database, driven through Starlette's client."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from shared.schema import Role
from sync_server.blobs.s3 import S3BlobStore
from sync_server.config import Settings
from sync_server.services.users import create_user
from tests.factories import PASSWORD, TinyGrid, make_tiny_grid, password_hash
from tests.sync_server.business_helpers import BusinessWorld, make_business_world
from tests.sync_server.matter_helpers import MatterWorld, make_matter_world
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


@pytest.fixture(scope="session")
def moto_s3_url() -> Iterator[str]:
    """A real S3-protocol server (moto's server mode) on a free loopback port, for the session."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_settings(settings: Settings, moto_s3_url: str) -> Settings:
    """The test's settings with photos in a fresh bucket of the moto server."""
    bucket = f"photos-{uuid.uuid4().hex[:12]}"
    s3 = settings.model_copy(
        update={
            "photo_store": "s3",
            "s3_endpoint_url": moto_s3_url,
            "s3_bucket": bucket,
            "s3_access_key_id": "moto-test-key",
            "s3_secret_access_key": "moto-test-secret",
        }
    )
    S3BlobStore.from_settings(s3).client.create_bucket(Bucket=bucket)
    return s3


@pytest.fixture
def world(session_factory: sessionmaker[Session], tiny: TinyGrid) -> MatterWorld:
    """The tiny grid with organisations, handlers and matter categories (matter_helpers)."""
    return make_matter_world(session_factory, tiny)


@pytest.fixture
def inspection(
    session_factory: sessionmaker[Session], tiny: TinyGrid, world: MatterWorld
) -> BusinessWorld:
    """The matter world with a 排查整治 campaign and checklists (business_helpers)."""
    return make_business_world(session_factory, tiny)
