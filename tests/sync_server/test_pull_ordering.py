"""Ordering: a pull never skips a change that committed after a concurrent pull passed its number.

Writers push while a reader pulls in a loop. Each writer holds its transaction open for a while
after its changes were numbered (the dangerous window). If numbers could become visible out of
order, the reader's cursor would pass a number whose transaction had not yet committed and the
reader would never see that change; at the end it would differ from the server.
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.hlc import HLC
from shared.protocol import FieldChange, Operation, PullRequest, PushRequest
from sync_server.config import Settings
from sync_server.db import begin_write, make_engine, make_sessionmaker
from sync_server.models import Resident
from sync_server.services import changes as changes_mod
from sync_server.services import push as push_mod
from sync_server.services.auth import Caller
from sync_server.services.pull import pull
from sync_server.services.push import push
from tests.days import RUN_CLOCK
from tests.factories import make_tiny_grid

WRITERS = 3
EDITS_PER_WRITER = 12


def _caller(session: Session, username: str, device_id: str) -> Caller:
    from sync_server.models import Device, User

    user = session.scalars(select(User).where(User.username == username)).one()
    device = session.get(Device, device_id)
    if device is None:
        device = Device(id=device_id, user_id=user.id)
        session.add(device)
        session.flush()
    return Caller(user=user, device=device)


def test_concurrent_writers_never_make_a_pull_skip_a_change(
    any_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(any_settings)
    factory: sessionmaker[Session] = make_sessionmaker(engine)
    with factory() as session, session.begin():
        make_tiny_grid(session, houses_per_grid=8)
    with factory() as session:
        user_grid = session.scalars(select(Resident.id)).all()
    assert user_grid

    original = changes_mod.commit_changes

    def slow_commit(*, session: Session, changes: changes_mod.ChangeSet) -> int | None:
        last = original(session=session, changes=changes)
        time.sleep(random.uniform(0.0, 0.03))  # numbered, not yet committed
        return last

    monkeypatch.setattr(push_mod, "commit_changes", slow_commit)

    admin_device = str(uuid.uuid4())
    reader_device = str(uuid.uuid4())
    with factory() as session, session.begin():
        _caller(session, "admin", admin_device)
        _caller(session, "admin", reader_device)
        resident_ids = sorted(session.scalars(select(Resident.id)).all())

    errors: list[BaseException] = []
    done = threading.Event()

    def writer(index: int) -> None:
        clock = HLC(f"writer-{index}")
        rng = random.Random(index)
        try:
            for n in range(EDITS_PER_WRITER):
                rid = rng.choice(resident_ids)
                with factory() as session, session.begin():
                    begin_write(session)
                    caller = _caller(session, "admin", admin_device)
                    op = Operation(
                        op_id=str(uuid.uuid4()),
                        entity="resident",
                        record_id=rid,
                        kind="update",
                        base_version=None,
                        fields={"note": FieldChange(base=None, new=f"w{index}-{n}")},
                        hlc=clock.now(),
                        device_id=admin_device,
                        user_id=caller.user.id,
                    )
                    push(
                        session=session,
                        caller=caller,
                        request=PushRequest(
                            protocol_version=1, device_id=admin_device, operations=[op]
                        ),
                        clock=clock,
                        now=RUN_CLOCK.now(),
                    )
        except BaseException as exc:
            errors.append(exc)

    seen: dict[str, tuple[int, str]] = {}
    cursor: str | None = None
    server_clock = HLC("reader")

    def pull_once() -> None:
        nonlocal cursor
        while True:
            with factory() as session, session.begin():
                begin_write(session)
                caller = _caller(session, "admin", reader_device)
                page = pull(
                    session=session,
                    caller=caller,
                    request=PullRequest(
                        protocol_version=1, device_id=reader_device, cursor=cursor, limit=7
                    ),
                    clock=server_clock,
                    now=RUN_CLOCK.now(),
                    key=b"test cursor key",
                )
            for record in page.records:
                if record.entity == "resident":
                    seen[record.id] = (record.version, record.values["note"])
            cursor = page.cursor
            if not page.has_more:
                return

    pull_once()  # bootstrap
    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()

    def reader() -> None:
        try:
            while not done.is_set():
                pull_once()
        except BaseException as exc:
            errors.append(exc)

    reading = threading.Thread(target=reader)
    reading.start()
    for t in threads:
        t.join()
    done.set()
    reading.join()
    assert not errors, errors
    pull_once()
    with factory() as session:
        truth = {r.id: (r.version, r.note) for r in session.scalars(select(Resident))}
    engine.dispose()
    assert seen == truth
