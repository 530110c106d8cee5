"""A hundred phones pushing at once into one server process: every push lands, exactly once.

On SQLite the writers of one process queue at the app's write gate, on the event loop, in arrival
order; before it they queued at SQLite's busy handler (unfair: some waited out the busy timeout)
holding a request thread and a pooled connection each (the pool ran dry). The burst here goes
through a real uvicorn over loopback HTTP, as the phones' would.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.hlc import HLC
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.models import OperationLog, Visit
from tests.days import iso
from tests.factories import PASSWORD, TinyGrid
from tests.sync_server.wire_device import WireDevice

PUSHES = 100
VISITS_PER_PUSH = 10
# SQLite's busy timeout (30 s in the server) cut to 1 s, so a writer starved by the busy handler
# fails in seconds, not half a minute. Behind the gate no push of this process waits there.
SHORT_BUSY_MS = 1000


@dataclass
class Phone:
    username: str
    grid: str
    device_id: str
    user_id: str
    headers: dict[str, str]
    clock: HLC

    def visits(self, houses: list[str]) -> list[dict[str, Any]]:
        """A batch of new visits to the houses of this phone's grid."""
        return [
            {
                "op_id": str(uuid.uuid4()),
                "entity": "visit",
                "record_id": str(uuid.uuid4()),
                "kind": "create",
                "base_version": None,
                "fields": {
                    "house_id": {"base": None, "new": houses[i % len(houses)]},
                    "outcome": {"base": None, "new": "met"},
                    "note": {"base": None, "new": f"第{i}次"},
                    "visited_at": {"base": None, "new": f"{iso(0)}T09:30+08:00"},
                },
                "hlc": self.clock.now(),
                "device_id": self.device_id,
                "user_id": self.user_id,
            }
            for i in range(VISITS_PER_PUSH)
        ]

    def push_body(self, ops: list[dict[str, Any]]) -> bytes:
        return json.dumps(
            {"protocol_version": PROTOCOL_VERSION, "device_id": self.device_id, "operations": ops}
        ).encode()


def _shorten_busy_timeout(engine: Engine) -> None:
    def pragma(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA busy_timeout={SHORT_BUSY_MS}")

    event.listen(engine, "connect", pragma)  # after the server's own pragmas


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def served(settings: Settings, tiny: TinyGrid) -> Iterator[tuple[FastAPI, str]]:
    """The real app under uvicorn (one process, its default threadpool) in a thread."""
    app = create_app(settings)
    if settings.is_sqlite:
        _shorten_busy_timeout(app.state.engine)
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    host, port = sock.getsockname()
    try:
        yield app, f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
        app.state.engine.dispose()


def _sign_in(base: str, username: str, grid: str) -> Phone:
    device_id = str(uuid.uuid4())
    response = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"username": username, "password": PASSWORD, "device_id": device_id},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    headers = {
        "Authorization": f"Bearer {body['access_token']}",
        PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        "Content-Type": "application/json",
    }
    return Phone(username, grid, device_id, body["user"]["id"], headers, HLC(f"dev-{device_id}"))


def _burst(base: str, batches: list[tuple[Phone, list[dict[str, Any]]]]) -> list[httpx.Response]:
    """Every batch pushed at the same moment, one thread (and connection) per push."""
    responses: list[httpx.Response | BaseException] = [RuntimeError("not sent")] * len(batches)
    start = threading.Barrier(len(batches), timeout=60)

    def send(i: int, phone: Phone, ops: list[dict[str, Any]]) -> None:
        body = phone.push_body(ops)
        with httpx.Client(base_url=base, timeout=120) as client:
            start.wait()
            try:
                responses[i] = client.post("/api/v1/sync/push", content=body, headers=phone.headers)
            except httpx.HTTPError as exc:
                responses[i] = exc

    threads = [
        threading.Thread(target=send, args=(i, phone, ops))
        for i, (phone, ops) in enumerate(batches)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not any(t.is_alive() for t in threads), "a push never returned"
    failed = [r for r in responses if isinstance(r, BaseException)]
    assert not failed, failed[:3]
    return [r for r in responses if isinstance(r, httpx.Response)]


@pytest.mark.slow
def test_a_hundred_phones_pushing_at_once_all_land_exactly_once(
    served: tuple[FastAPI, str],
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    _app, base = served
    grids = {"w11": "T1-1-1-1-1", "w12": "T1-1-1-1-2", "w21": "T1-1-1-2-1", "w22": "T1-1-1-2-2"}
    phones = [_sign_in(base, user, grid) for user, grid in grids.items() for _ in range(2)]
    houses = {code: [house.id for house in tiny.houses[code]] for code in grids.values()}
    batches = [
        (phone, phone.visits(houses[phone.grid]))
        for phone in (phones[i % len(phones)] for i in range(PUSHES))
    ]

    responses = _burst(base, batches)

    bad = [(r.status_code, r.text[:200]) for r in responses if r.status_code != 200]
    assert not bad, f"{len(bad)} of {PUSHES} pushes failed, e.g. {bad[:3]}"
    statuses = {result["status"] for r in responses for result in r.json()["results"]}
    assert statuses == {"applied"}
    op_ids = [op["op_id"] for _, ops in batches for op in ops]
    visit_ids = [op["record_id"] for _, ops in batches for op in ops]
    with session_factory() as session:
        logged = session.scalars(
            select(OperationLog.status).where(OperationLog.op_id.in_(op_ids))
        ).all()
        visits = session.scalar(select(func.count()).where(Visit.id.in_(visit_ids)))
    assert len(logged) == len(op_ids) == PUSHES * VISITS_PER_PUSH
    assert set(logged) == {"applied"}
    assert visits == len(visit_ids)


def test_sqlite_lets_one_writer_in_at_a_time_postgresql_a_few(settings: Settings) -> None:
    """SQLite's write lock is database-wide; PostgreSQL locks rows, so a few writers run side by
    side, and the pool always has connections left for reads."""
    app = create_app(settings)
    try:
        gate = app.state.write_gate
        pool = app.state.engine.pool
        if settings.is_sqlite:
            assert isinstance(gate, anyio.Lock)
            assert pool.size() >= 40  # the request threads never wait for one
        else:
            assert isinstance(gate, anyio.Semaphore)
            assert 1 < gate.value < pool.size() + pool._max_overflow
    finally:
        app.state.engine.dispose()


def test_a_push_holds_the_gate_around_its_transaction_and_a_pull_never_takes_it(
    client: TestClient, tiny: TinyGrid, settings: Settings
) -> None:
    """Waiters hold no connection: the gate is taken before the push's connection is checked
    out and released only after its commit. A pull reads (and reports) without it."""
    if not settings.is_sqlite:
        pytest.skip("no gate on PostgreSQL")
    app = client.app
    engine: Engine = app.state.engine  # type: ignore[attr-defined]
    gate = app.state.write_gate  # type: ignore[attr-defined]
    seen: list[tuple[str, bool]] = []

    def checkout(*_: Any) -> None:
        seen.append(("checkout", gate.locked()))

    def commit(_conn: Any) -> None:
        seen.append(("commit", gate.locked()))

    device = WireDevice(client, "w11")  # a sign-in writes without the gate, too
    house = tiny.houses["T1-1-1-1-1"][0].id
    op = device.op(
        "visit",
        str(uuid.uuid4()),
        kind="create",
        fields={
            "house_id": (None, house),
            "outcome": (None, "met"),
            "visited_at": (None, f"{iso(0)}T09:30+08:00"),
        },
    )
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "commit", commit)
    try:
        [result] = device.push([op])
        pushed, seen[:] = list(seen), []
        device.pull(pending_ops=0)
        pulled = list(seen)
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "commit", commit)
    assert result["status"] == "applied", result
    assert pushed == [("checkout", True), ("commit", True)]
    assert pulled and not any(locked for _, locked in pulled), pulled
    assert not gate.locked()
