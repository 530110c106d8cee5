"""The server process killed during an import leaves nothing half-applied and loses nothing.

`gridsweep import grid` and `gridsweep import completions` (what an administrator runs on the
server for a district's base data or a testing round's platform file) each load the whole file in
one transaction. Here each runs in its own process on the test database and is SIGKILLed while it
is writing: after the kill nothing of the import is visible (no resident, binding, completion,
change row or audit event, the sync counter where it was, the database intact), and running the
same import again gives exactly what an uninterrupted import gives, nothing twice.

"While it is writing" is observed, not guessed: an uninterrupted run is watched first, from the
moment its transaction takes the write lock (SQLite) or a row-exclusive lock on one of the tables
it fills (PostgreSQL) until it exits; the second run is killed 30% of that lock-to-exit span after
its own lock was seen, so the kill lands in the middle of the writing. The process is frozen
(SIGSTOP) before the kill and must still hold its lock then, so a kill that came too late fails
the test instead of passing it vacuously.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.campaigns import NewCampaign
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.importer import import_grid
from sync_server.models import (
    AuditEvent,
    Binding,
    Change,
    Completion,
    CompletionBatch,
    CompletionMark,
    House,
    Resident,
    SyncCounter,
    User,
)
from sync_server.services.campaigns import create_campaign
from tests.conftest import PG_ADMIN_URL, TEST_DB, TEST_SECRET, _pg_url, sqlite_settings
from tests.days import RUN_CLOCK, at, iso
from tests.factories import make_id_number, make_tiny_grid

pytestmark = pytest.mark.slow

GRIDS = ("T1-1-1-1-1", "T1-1-1-1-2", "T1-1-1-2-1", "T1-1-1-2-2")
ROSTER_ROWS = 6_000
COMPLETION_ROWS = 80_000
# Where in the reference run's writing span the kill lands: early enough that a second run on a
# machine that got faster meanwhile is still inside its transaction.
KILL_AT = 0.3
HEADER = "五级网格编码,道路,门牌号,楼栋,单元,房号,姓名,身份证号,与户主关系"


def _id_numbers(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < n:
        seen.add(make_id_number(rng))
    return sorted(seen)


def _write_roster(path: Path, id_numbers: list[str]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write(HEADER + "\n")
        for i, idn in enumerate(id_numbers):
            grid = GRIDS[i % len(GRIDS)]
            building, room = i // 400, i % 400
            relation = "户主" if i % 3 == 0 else "子女"
            f.write(f"{grid},导入路,{building}号,1号楼,1单元,{room:04d},居民{i},{idn},{relation}\n")
    return path


def _write_completions(path: Path, id_numbers: list[str]) -> Path:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["身份证号", "完成时间", "完成地点"])
        for i in range(COMPLETION_ROWS):
            offset, minute = -8 + i % 8, i % 1440
            writer.writerow(
                [
                    rng.choice(id_numbers),
                    f"{iso(offset)} {minute // 60:02d}:{minute % 60:02d}:{i % 60:02d}",
                    "西门社区采样点",
                ]
            )
    return path


@dataclass
class Database:
    """One database the CLI can be pointed at, of the backend under test."""

    settings: Settings
    sqlite_path: Path | None = None

    def session(self) -> Session:
        engine = make_engine(self.settings)
        return make_sessionmaker(engine)()


def _fresh_database(request: pytest.FixtureRequest, tmp_path: Path, name: str) -> Database:
    if TEST_DB == "postgresql":
        # Each call clones the migrated template anew (pg_settings gives one database per test).
        template = request.getfixturevalue("pg_template")
        db = f"gs_crash_{name}_{os.getpid()}_{random.randrange(1 << 30)}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
        request.addfinalizer(lambda: _drop_pg(db))
        return Database(Settings(env="test", database_url=_pg_url(db), secret_key=TEST_SECRET))
    path = tmp_path / f"{name}.db"
    shutil.copy(request.getfixturevalue("migrated_template"), path)
    return Database(sqlite_settings(path), sqlite_path=path)


def _drop_pg(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(db: Database, *, roster: Path | None) -> str:
    """The tiny grid, an admin, optionally a loaded roster, and a campaign; returns its id."""
    engine = make_engine(db.settings)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            make_tiny_grid(session)
            if roster is not None:
                report = import_grid(session=session, paths=[roster], now=at(-27))
                assert not report.errors, report.errors[:3]
            admin = session.scalars(select(User).where(User.username == "admin")).one()
            campaign = create_campaign(
                session=session,
                user=admin,
                body=NewCampaign.model_validate(
                    {
                        "name": "第3轮核酸检测",
                        "kind": "testing",
                        "start_date": iso(-8),
                        "end_date": iso(2),
                        "rule": {"grid_id": "T1"},
                    }
                ),
                now=RUN_CLOCK.now(),
            )
            return campaign.id
    finally:
        engine.dispose()


def _cli(db: Database, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": db.settings.database_url,
        "GRIDSWEEP_ENV": "test",
        "GRIDSWEEP_SECRET_KEY": TEST_SECRET,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "sync_server.cli", "import", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _snapshot(db: Database) -> dict[str, Any]:
    """What an import leaves, by natural keys (generated ids and times aside)."""
    with db.session() as session:
        residents = session.execute(select(Resident.id_number, Resident.name)).all()
        bindings = session.execute(
            select(Resident.id_number, House.address, Binding.relation, Binding.end_date)
            .join(Resident, Resident.id == Binding.resident_id)
            .join(House, House.id == Binding.house_id)
        ).all()
        completions = session.execute(
            select(Completion.id_number, Completion.completed_at, Completion.place)
        ).all()
        changes = session.execute(select(Change.entity, func.count()).group_by(Change.entity)).all()
        counter = session.scalar(select(SyncCounter.value)) or 0
        top = session.scalar(select(func.max(Change.seq))) or 0
        return {
            "residents": sorted(residents),
            "bindings": sorted(bindings, key=repr),
            "houses": session.scalar(select(func.count()).select_from(House)),
            "completions": sorted(completions),
            "batches": session.scalar(select(func.count()).select_from(CompletionBatch)),
            "marks": session.scalar(select(func.count()).select_from(CompletionMark)),
            "changes": dict(changes),
            "imports": session.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import")
            ),
            # Consistent change log: the counter handed out exactly the numbers in use.
            "counter_matches_log": counter == top,
        }


def _integrity(db: Database) -> None:
    if db.sqlite_path is not None:
        with sqlite3.connect(db.sqlite_path) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _writing(db: Database, tables: tuple[str, ...]) -> bool:
    """Whether another process holds an open write transaction on the import's tables."""
    if db.sqlite_path is not None:
        con = sqlite3.connect(db.sqlite_path, timeout=0, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True  # database is locked: the import's transaction holds the write lock
        finally:
            con.close()
    url = db.settings.database_url
    with psycopg.connect(url, autocommit=True) as con:
        row = con.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = ANY(%s) AND l.mode = 'RowExclusiveLock' AND l.granted "
            "AND l.pid <> pg_backend_pid()",
            (list(tables),),
        ).fetchone()
        return bool(row and row[0])


def _wait_for_writing(
    db: Database, process: subprocess.Popen[bytes], tables: tuple[str, ...]
) -> float | None:
    """When the import's transaction was first seen writing; None if it exited first."""
    deadline = time.monotonic() + 600
    while process.poll() is None:
        if _writing(db, tables):
            return time.monotonic()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.01)
    return None


def _run(db: Database, args: list[str], cwd: Path, tables: tuple[str, ...]) -> float:
    """Run the import to its end; returns how long it wrote (lock seen to exit)."""
    process = _cli(db, *args, cwd=cwd)
    began = _wait_for_writing(db, process, tables)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
    assert began is not None, "the import was never seen writing"
    return time.monotonic() - began


def _kill_while_writing(
    db: Database, args: list[str], tables: tuple[str, ...], writing: float, cwd: Path
) -> None:
    process = _cli(db, *args, cwd=cwd)
    try:
        began = _wait_for_writing(db, process, tables)
        assert began is not None, "the import finished before it was seen writing"
        time.sleep(max(0.0, writing * KILL_AT - (time.monotonic() - began)))
        # Frozen first, so that "still writing" cannot change between the look and the kill.
        process.send_signal(signal.SIGSTOP)
        assert process.poll() is None, "the import finished before it could be killed"
        assert _writing(db, tables), "the import had committed before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    # A PostgreSQL backend ends its transaction once it sees the client gone; wait for that.
    deadline = time.monotonic() + 60
    while _writing(db, tables):
        assert time.monotonic() < deadline, "the killed import's transaction never ended"
        time.sleep(0.1)


def _check(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    *,
    roster_loaded: bool,
    args: Callable[[Path, str], list[str]],
    tables: tuple[str, ...],
) -> None:
    id_numbers = _id_numbers(ROSTER_ROWS, seed=17)
    roster = _write_roster(tmp_path / "西门_人房.csv", id_numbers)
    # The uninterrupted run: what the import must produce, and how long it takes.
    reference = _fresh_database(request, tmp_path, "reference")
    campaign = _seed(reference, roster=roster if roster_loaded else None)
    before_reference = _snapshot(reference)
    writing = _run(reference, args(roster, campaign), tmp_path, tables)
    expected = _snapshot(reference)
    assert expected != before_reference  # the import does something worth interrupting
    # The same import, killed in the middle of writing.
    crashed = _fresh_database(request, tmp_path, "crashed")
    crashed_campaign = _seed(crashed, roster=roster if roster_loaded else None)
    before = _snapshot(crashed)
    _kill_while_writing(crashed, args(roster, crashed_campaign), tables, writing, tmp_path)
    _integrity(crashed)
    assert _snapshot(crashed) == before  # nothing half-applied
    # Run again: exactly the uninterrupted result, nothing twice.
    _run(crashed, args(roster, crashed_campaign), tmp_path, tables)
    _integrity(crashed)
    assert _snapshot(crashed) == expected
    assert expected["counter_matches_log"]


def test_grid_import_killed_mid_way_leaves_nothing_and_reruns_cleanly(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    _check(
        request,
        tmp_path,
        roster_loaded=False,
        args=lambda roster, _: ["grid", str(roster)],
        tables=("grid_nodes", "buildings", "units", "houses", "residents", "bindings"),
    )


def test_completions_import_killed_mid_way_leaves_nothing_and_reruns_cleanly(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    completions = _write_completions(tmp_path / "平台数据.csv", _id_numbers(ROSTER_ROWS, seed=17))
    _check(
        request,
        tmp_path,
        roster_loaded=True,
        args=lambda _, campaign: ["completions", campaign, str(completions)],
        tables=("completion_batches", "completions", "completion_marks"),
    )
