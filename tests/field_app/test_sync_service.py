"""The background sync worker: its own thread and store connection, jobs one at a time, and an
automatic sync as soon as the server answers again; listeners hear progress and results."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
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
from tests.photos import camera_jpeg, noisy_jpeg


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


class _Watch(httpx.BaseTransport):
    """Records each request's method and path; `on_patch` runs before a photo chunk is sent."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.seen: list[str] = []
        self.on_patch: Callable[[], None] = lambda: None
        self.refuse_photos = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        if request.method == "PATCH":
            self.on_patch()
            if self.refuse_photos:
                raise httpx.ConnectError("the signal went", request=request)
        return self.inner.handle_request(request)


@pytest.fixture
def photo_phone(server: FastAPI, tmp_path: Path) -> Iterator[tuple[SyncService, Store, _Watch]]:
    """A signed-in phone's sync service (driven by `step`, no thread) and the window's store."""
    watch = _Watch(TestClient(server)._transport)

    def connect(url: str, store: Store) -> SyncClient:
        return SyncClient(httpx.Client(transport=watch, base_url=url), store)

    path = tmp_path / "device.db"
    service = SyncService(path, connect, poll_seconds=60)
    service.sign_in("http://testserver", "w11", PASSWORD)
    service.step()
    ui = Store.open(path)
    yield service, ui, watch
    ui.close()
    service.stop()


def test_photos_go_after_the_records_sync_and_a_failure_is_retried_next_time(
    photo_phone: tuple[SyncService, Store, _Watch],
) -> None:
    service, ui, watch = photo_phone
    resident = ui.db.execute("SELECT id FROM resident LIMIT 1").fetchone()[0]
    with ui.transaction():
        sha = ui.add_photo(camera_jpeg(1200, 900))
        ui.update("resident", resident, {"note": "门口堆物"}, user_id=ui.meta.user_id or "")
    watch.refuse_photos = True
    watch.seen.clear()
    service.request_sync()
    service.step()
    assert service.status.failure is None  # the records synced all the same
    assert service.status.report is not None and service.status.report.sent == 1
    assert service.status.photos is not None and sha in service.status.photos.failed
    assert ui.photo(sha).error  # type: ignore[union-attr]  # the sync screen can say why
    first_photo = next(i for i, s in enumerate(watch.seen) if "/photos/" in s)
    assert all("/sync/" not in s for s in watch.seen[first_photo:]), "records first"

    watch.refuse_photos = False
    service.request_sync()
    service.step()
    assert service.status.photos is not None and service.status.photos.done == 1
    row = ui.photo(sha)
    assert row is not None and row.state == "done" and row.error is None


def test_a_sync_asked_for_during_an_upload_goes_first(
    photo_phone: tuple[SyncService, Store, _Watch],
) -> None:
    service, ui, watch = photo_phone
    sha = ui.add_photo(noisy_jpeg(1, 1200, 900))  # a few chunks
    watch.on_patch = lambda: service.request_sync() and None
    service.request_sync()
    service.step()  # the sync, then the upload: its first chunk queues another sync
    assert service.status.photos is not None and service.status.photos.stopped
    watch.on_patch = lambda: None
    watch.seen.clear()
    service.step()  # the queued sync runs, and the photo finishes after it
    assert watch.seen[0].endswith("/sync/push") or watch.seen[0].endswith("/sync/pull")
    assert ui.photo(sha).state == "done"  # type: ignore[union-attr]
