"""Several server processes on one PostgreSQL database, with real devices over loopback HTTP.

Production runs several API processes behind a proxy; nothing may depend on state held in one
process. Two uvicorn processes serve the same per-test PostgreSQL database; devices sync through
either, alternately and at the same time (one thread per device), and must converge. The pull
ordering guarantee (docs/sync-protocol.md "Ordering") must hold when the writers are in different
processes: a reader pulling through one process while writers push through both never skips a
change.

These run in the PostgreSQL pass (`GRIDSWEEP_TEST_DB=postgresql`, the second half of
`make pytest`); SQLite serialises writers in one file and is not the multi-process deployment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bench.sync_bench import server_process
from sync_server.config import Settings
from sync_server.models import Binding, House, Resident
from tests.conftest import TEST_DB, TEST_SECRET
from tests.factories import TinyGrid, make_tiny_grid
from tests.integration.harness import Phone, assert_device_equals_server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

if TEST_DB != "postgresql":
    pytestmark.append(
        pytest.mark.skip(
            reason="multi-process tests run in the PostgreSQL pass (GRIDSWEEP_TEST_DB=postgresql)"
        )
    )


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    """Every fixture of this module runs on PostgreSQL (skips, or fails under
    GRIDSWEEP_REQUIRE_PG=1, when the server is absent)."""
    return pg_settings


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session, houses_per_grid=6)  # 15 residents a grid


@pytest.fixture
def servers(settings: Settings, tiny: TinyGrid, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two server processes on the same database; yields their URLs."""
    env = {"GRIDSWEEP_ENV": "test", "GRIDSWEEP_SECRET_KEY": TEST_SECRET}
    with (
        server_process(settings.database_url, cwd=tmp_path, env=env) as a,
        server_process(settings.database_url, cwd=tmp_path, env=env) as b,
    ):
        yield a, b


def _clean_sync(device: Phone) -> None:
    report = device.sync()
    assert not (report.errors or report.rejected or report.conflicts), (
        f"{device.username}: {report}"
    )


def _grid_residents(device: Phone) -> list[str]:
    return sorted(device.records("resident"))


def _run_all(jobs: list[Callable[[threading.Barrier], None]]) -> None:
    """Run the jobs in threads at once, each given one barrier for all of them to meet at;
    re-raise the first failure. A device's store belongs to the thread that opened it, so each
    job opens, uses and closes its own device."""
    failures: list[BaseException] = []
    barrier = threading.Barrier(len(jobs), timeout=120)

    def guarded(job: Callable[[threading.Barrier], None]) -> None:
        try:
            job(barrier)
        except BaseException as exc:  # a failed assertion in a thread must fail the test
            failures.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a device thread hung"
    real = [f for f in failures if not isinstance(f, threading.BrokenBarrierError)]
    if real or failures:
        raise (real or failures)[0]


def test_devices_syncing_through_two_processes_converge(
    servers: tuple[str, str],
    tiny: TinyGrid,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    # Two phones of one worker (w11), a phone each for w12, w21, w22, and supervisor s1 (w11's
    # and w12's grids). Each (resident, field) has one writer, so every edit merges cleanly.
    plan = [
        ("w11", "phone"),
        ("w11", "note"),
        ("w12", "phone"),
        ("s1", "note"),  # in w12's grid only, below
        ("w21", "phone"),
        ("w22", "phone"),
    ]
    codes = {
        "w11": ["T1-1-1-1-1"],
        "w12": ["T1-1-1-1-2"],
        "w21": ["T1-1-1-2-1"],
        "w22": ["T1-1-1-2-2"],
        "s1": ["T1-1-1-1-1", "T1-1-1-1-2"],
    }
    w12_grid = tiny.nodes["T1-1-1-1-2"].id
    with session_factory() as session:
        w12_residents = set(
            session.scalars(
                select(Binding.resident_id)
                .join(House, House.id == Binding.house_id)
                .where(House.grid_id == w12_grid)
            ).all()
        )
    assert w12_residents
    written: dict[tuple[str, str], str] = {}  # (resident, field) -> last value written
    lock = threading.Lock()
    rounds = 6

    def work(i: int, user: str, field: str) -> Callable[[threading.Barrier], None]:
        def run(barrier: threading.Barrier) -> None:
            device = Phone(servers[i % 2], tmp_path / f"{user}-{i}.db", user)
            try:
                _clean_sync(device)
                targets = _grid_residents(device)
                if user == "s1":
                    targets = [r for r in targets if r in w12_residents]
                assert targets
                barrier.wait()
                for r in range(rounds):
                    # Alternate between the processes, each device starting on a different one.
                    device.use_server(servers[(i + r) % 2])
                    for k, rid in enumerate(targets):
                        if k % 3 != r % 3:  # a third of them each round
                            continue
                        value = f"139{i}{r}{k:06d}" if field == "phone" else f"第{r}轮 设备{i} #{k}"
                        device.store.update("resident", rid, {field: value}, user_id=device.user_id)
                        with lock:
                            written[(rid, field)] = value
                    _clean_sync(device)
                barrier.wait()  # everyone has pushed everything
                device.use_server(servers[(i + 1) % 2])
                _clean_sync(device)
                assert device.store.pending_count() == 0
                with session_factory() as session:
                    grids = {tiny.nodes[c].id for c in codes[user]}
                    assert_device_equals_server(device, session, grids)
            finally:
                device.close()

        return run

    _run_all([work(i, user, field) for i, (user, field) in enumerate(plan)])
    assert written
    with session_factory() as session:
        for (rid, field), value in written.items():
            row = session.get(Resident, rid)
            assert row is not None and getattr(row, field) == value, (rid, field, value)


def test_a_reader_never_skips_a_change_pushed_through_another_process(
    servers: tuple[str, str],
    tiny: TinyGrid,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    a, _ = servers
    done = threading.Event()
    reader_pulls = 0
    edited = 0
    lock = threading.Lock()
    level5 = {node.id for code, node in tiny.nodes.items() if code.count("-") == 4}

    def read(barrier: threading.Barrier) -> None:
        nonlocal reader_pulls
        reader = Phone(a, tmp_path / "reader.db", "admin")
        try:
            _clean_sync(reader)
            barrier.wait()
            while not done.is_set():
                _clean_sync(reader)
                reader_pulls += 1
            _clean_sync(reader)  # continues from its cursor: a skipped change would not come back
            with session_factory() as session:
                assert_device_equals_server(reader, session, level5)
        finally:
            reader.close()

    def write(i: int, user: str) -> Callable[[threading.Barrier], None]:
        def run(barrier: threading.Barrier) -> None:
            nonlocal edited
            device = Phone(servers[i % 2], tmp_path / f"{user}.db", user)
            try:
                _clean_sync(device)
                barrier.wait()
                # Every resident is edited exactly once, so a skipped change is never repaired
                # by a later edit of the same record: it would stay missing on the reader.
                for k, rid in enumerate(_grid_residents(device)):
                    device.use_server(servers[(i + k) % 2])
                    device.store.update(
                        "resident", rid, {"phone": f"137{i}{k:07d}"}, user_id=device.user_id
                    )
                    _clean_sync(device)
                    with lock:
                        edited += 1
            finally:
                device.close()
                with lock:
                    finished.append(user)
                    if len(finished) == len(users):
                        done.set()

        return run

    users = ("w11", "w12", "w21", "w22")
    finished: list[str] = []
    _run_all([read, *(write(i, u) for i, u in enumerate(users))])
    assert reader_pulls > 1
    with session_factory() as session:
        phones = session.scalars(select(Resident.phone).where(Resident.phone.like("137%"))).all()
        assert len(phones) == edited > 0
