"""The background sync worker: its own thread and store connection, jobs one at a time, and an
automatic sync as soon as the server answers again; listeners hear progress and results."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from field_app.state import SyncService
from field_app.store import Store
from field_app.sync_client import SyncClient
from sync_server.config import Settings
from sync_server.main import create_app
from tests.factories import PASSWORD, make_tiny_grid
from tests.integration.harness import FlakyTransport


@pytest.fixture
def server(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[FastAPI]:
    with session_factory() as session, session.begin():
        make_tiny_grid(session)
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


def wait_for(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.mark.thread_waits
def test_worker_thread_signs_in_syncs_and_resyncs_when_the_server_returns(
    server: FastAPI, tmp_path: Path
) -> None:
    transport = FlakyTransport(TestClient(server)._transport)
    threads: set[str] = set()

    def connect(url: str, store: Store) -> SyncClient:
        threads.add(threading.current_thread().name)
        return SyncClient(httpx.Client(transport=transport, base_url=url), store)

    path = tmp_path / "device.db"
    service = SyncService(path, connect, poll_seconds=0.05)
    heard: list[tuple[bool, int]] = []
    service.subscribe(lambda: heard.append((service.status.running, service.status.finished)))
    service.start()
    try:
        service.sign_in("http://testserver/", "w11", PASSWORD)
        wait_for(lambda: service.status.finished >= 1 and not service.status.running)
        assert service.status.failure is None
        assert service.status.report is not None and service.status.report.received > 0
        assert threads == {"gridsweep-sync"}, "HTTP and the worker's store stay on its thread"
        assert any(running for running, _ in heard), "listeners heard the progress"

        ui = Store.open(path)  # the window's own connection
        try:
            assert ui.meta.server_url == "http://testserver"
            resident = ui.db.execute("SELECT id FROM resident LIMIT 1").fetchone()[0]
            transport.down = True
            wait_for(lambda: service.status.online is False)
            ui.update("resident", resident, {"tags": ["disabled"]}, user_id=ui.meta.user_id or "")
            assert ui.pending_count() == 1
            done = service.status.finished
            transport.down = False
            wait_for(lambda: service.status.finished > done and not service.status.running)
            assert service.status.online is True
            assert service.status.report is not None and service.status.report.sent == 1
            assert ui.pending_count() == 0
        finally:
            ui.close()
    finally:
        service.stop()


def test_a_second_sync_request_while_one_is_queued_is_refused(tmp_path: Path) -> None:
    service = SyncService(tmp_path / "d.db", lambda url, store: None, poll_seconds=60)  # type: ignore[arg-type,return-value]
    assert service.request_sync()
    assert not service.request_sync()
    service.step()  # no server address yet: the job fails as "sign in first"
    assert service.status.failure is not None and service.status.failure.kind == "sign_in"
    assert service.request_sync()
