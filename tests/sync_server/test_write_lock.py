"""Slow reads stay out of the write lock: pushes never queue behind a bootstrap or a sign-in.

On SQLite a transaction that may write takes the database's single write lock first. A pull only
reads records; the little it writes (when the device last pulled, its outbox, review notes it has
stored) goes in a short transaction after. A sign-in checks the password (argon2, slow on purpose)
before it takes the lock to record the attempt and issue the token.
"""

from __future__ import annotations

import random
import re
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Settings
from sync_server.db import WRITE_OPTION
from sync_server.models import Device, ReviewDecision, User
from sync_server.services import auth
from sync_server.services.review import decide
from tests.days import RUN_CLOCK, iso
from tests.factories import TinyGrid, make_id_number
from tests.sync_server.wire_device import WireDevice

_TABLE = re.compile(r'\b(?:FROM|UPDATE|INTO|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


@contextmanager
def written_tables(client: TestClient) -> Iterator[tuple[set[str], list[str]]]:
    """Tables touched inside write transactions, and every statement read outside them."""
    engine: Engine = client.app.state.sessionmaker.kw["bind"]  # type: ignore[attr-defined]
    under_lock: set[str] = set()
    reads: list[str] = []

    def watch(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            under_lock.update(_TABLE.findall(statement))
        else:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", watch)
    try:
        yield under_lock, reads
    finally:
        event.remove(engine, "before_cursor_execute", watch)


def test_a_bootstrap_is_read_without_the_write_lock(client: TestClient, tiny: TinyGrid) -> None:
    device = WireDevice(client, "w11")
    with written_tables(client) as (under_lock, reads):
        pages = device.pull(limit=2)
    assert len(pages) > 2
    assert len(device.of("resident")) == 3
    # The records came from reads outside any write transaction ...
    assert any("residents" in statement for statement in reads)
    # ... and under the write lock only the device's own report was written.
    assert under_lock <= {"devices", "review_decisions"}, under_lock


def test_what_a_pull_reports_is_still_recorded(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    device = WireDevice(client, "w11")
    device.pull()
    rid = str(uuid.uuid4())
    values = {"name": "李四", "id_number": make_id_number(random.Random(7))}
    op = device.op("resident", rid, kind="create", fields={k: (None, v) for k, v in values.items()})
    house_id = sorted(device.of("house"))[0]
    binding = {"resident_id": rid, "house_id": house_id, "relation": "tenant"}
    binding["start_date"] = iso(-8)
    bind = device.op(
        "binding",
        str(uuid.uuid4()),
        kind="create",
        fields={k: (None, v) for k, v in binding.items()},
    )
    assert [r["status"] for r in device.push([op, bind])] == ["applied", "applied"]
    with session_factory() as session, session.begin():
        s1 = session.scalars(select(User).where(User.username == "s1")).one()
        decide(
            session=session,
            user=s1,
            op_id=op["op_id"],
            approve=False,
            reason="查无此人",
            now=RUN_CLOCK.now(),
        )
    [page] = device.pull(pending_ops=4)
    assert [note["op_id"] for note in page["review_notes"]] == [op["op_id"]]
    # Acknowledged in this pull: not in its answer, nor in any later one.
    [page] = device.pull(ack_review_notes=[op["op_id"]], pending_ops=0)
    assert page["review_notes"] == []
    [page] = device.pull()
    assert page["review_notes"] == []
    with session_factory() as session:
        row = session.get_one(Device, device.device_id)
        assert row.last_pull_at is not None
        assert row.pending_ops == 0
        decision = session.get_one(ReviewDecision, op["op_id"])
        assert decision.acknowledged_at is not None


def test_a_password_is_checked_while_others_may_write(
    client: TestClient, tiny: TinyGrid, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = settings.sqlite_path()
    if path is None:
        pytest.skip("SQLite's database-wide write lock; PostgreSQL locks rows")
    could_write: list[bool] = []
    verify = auth.verify_password

    def verify_and_try_to_write(password_hash: str, password: str) -> bool:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            could_write.append(True)
        except sqlite3.OperationalError:  # "database is locked"
            could_write.append(False)
        finally:
            other.close()
        return verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", verify_and_try_to_write)
    device = WireDevice(client, "w11")  # signs in
    assert device.headers["Authorization"].startswith("Bearer ")
    wrong = client.post("/api/v1/auth/login", json={"username": "w11", "password": "nope-nope"})
    assert wrong.status_code == 401
    assert could_write == [True, True]


def test_a_sign_in_and_a_pull_hold_one_connection_at_a_time(
    client: TestClient, tiny: TinyGrid
) -> None:
    """Each request thread waiting for a second connection while holding one drains the pool
    under load (40 threads, 15 connections): every request then waits out the pool timeout."""
    engine: Engine = client.app.state.sessionmaker.kw["bind"]  # type: ignore[attr-defined]
    held = [0, 0]  # now, most at once

    def checkout(*_: Any) -> None:
        held[0] += 1
        held[1] = max(held)

    def checkin(*_: Any) -> None:
        held[0] -= 1

    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        device = WireDevice(client, "w11")
        device.pull(limit=2, pending_ops=0)
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    assert len(device.of("resident")) == 3
    assert held[1] == 1
