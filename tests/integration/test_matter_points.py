"""No matter credits points twice: two supervisors verify the same matters at the same moment
through two server processes on one PostgreSQL database, and then retry their pushes.

Each step locks its matter's row while it is decided (services/push_load.py), so the second
verification is decided against the first and rejected `stale_transition`; the ledger's unique
(matter, kind) would refuse a second credit even if it were not. Runs in the PostgreSQL pass,
like tests/integration/test_multiprocess.py.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.sync_bench import server_process
from sync_server.config import Settings
from sync_server.models import Matter, PointsEntry
from tests.conftest import TEST_DB, TEST_SECRET
from tests.days import CLOCK_ENV
from tests.factories import TinyGrid, make_tiny_grid
from tests.sync_server.matter_helpers import GRID, PHOTO, make_matter_world, report, step
from tests.sync_server.wire_device import WireDevice

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

if TEST_DB != "postgresql":
    pytestmark.append(
        pytest.mark.skip(
            reason="multi-process tests run in the PostgreSQL pass (GRIDSWEEP_TEST_DB=postgresql)"
        )
    )

MATTERS = 6


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return pg_settings


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session)


@pytest.fixture
def servers(settings: Settings, tiny: TinyGrid, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = {"GRIDSWEEP_ENV": "test", "GRIDSWEEP_SECRET_KEY": TEST_SECRET, **CLOCK_ENV}
    with (
        server_process(settings.database_url, cwd=tmp_path, env=env) as a,
        server_process(settings.database_url, cwd=tmp_path, env=env) as b,
    ):
        yield a, b


def _device(url: str, username: str) -> WireDevice:
    # WireDevice speaks through anything with TestClient's `post`: here, real HTTP.
    dev = WireDevice(httpx.Client(base_url=url, timeout=60), username)  # type: ignore[arg-type]
    dev.pull(matters=True)
    return dev


def test_racing_and_retried_verifications_credit_each_matter_once(
    servers: tuple[str, str],
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = servers
    make_matter_world(session_factory, tiny)
    worker, supervisor, h1 = _device(a, "w11"), _device(a, "s1"), _device(b, "h1")
    reports = [report(worker, tiny.nodes[GRID].id) for _ in range(MATTERS)]
    assert {r["status"] for r in worker.push(reports)} == {"applied"}
    ids = [r["record_id"] for r in reports]
    supervisor.push(
        [s for m in ids for s in (step(supervisor, m, "accept", "reported"),)]
        + [step(supervisor, m, "dispatch", "accepted", user_id=h1.user_id) for m in ids]
    )
    results = h1.push(
        [step(h1, m, "take", "dispatched") for m in ids]
        + [step(h1, m, "apply_close", "claimed", photos=[PHOTO], reason="已处理") for m in ids]
    )
    assert {r["status"] for r in results} == {"applied"}

    # Two supervisors' phones, one through each process, verify every matter at once.
    verifiers = [_device(a, "s1"), _device(b, "admin")]
    batches = [[step(v, m, "verify_close", "closing") for m in ids] for v in verifiers]
    answers: list[list[dict[str, Any]]] = [[], []]
    barrier = threading.Barrier(2, timeout=60)

    def verify(n: int) -> None:
        barrier.wait()
        answers[n] = verifiers[n].push(batches[n])

    threads = [threading.Thread(target=verify, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(answers), "a verifier did not answer"
    for n, matter_id in enumerate(ids):
        outcome = sorted((answers[0][n]["status"], answers[1][n]["status"]))
        assert outcome == ["applied", "rejected"], (matter_id, answers[0][n], answers[1][n])
        loser = answers[0][n] if answers[0][n]["status"] == "rejected" else answers[1][n]
        assert loser["code"] == "stale_transition"
    # Retried pushes (a lost response) answer the same and change nothing.
    for n in (0, 1):
        assert verifiers[n].push(batches[n]) == answers[n]

    with session_factory() as session:
        per_matter = dict(
            session.execute(
                select(PointsEntry.matter_id, func.count())
                .where(PointsEntry.kind == "base")
                .group_by(PointsEntry.matter_id)
            ).all()
        )
        assert per_matter == dict.fromkeys(ids, 1)
        closed = session.scalar(
            select(func.count()).select_from(Matter).where(Matter.state == "closed")
        )
        assert closed == MATTERS
