"""Exactly one open matter per failed item however checks race: two phones check the same
businesses at the same moment through two server processes on one PostgreSQL database, every
check failing the same item, and then retry their pushes.

The first check to commit opens the item's matter; the other either finds it (the business's open
matters are locked while a check is decided) or, if both were decided at once, is refused by the
one-open-matter-per-item index and decided again against what was committed: a re-inspection step
of that matter. Runs in the PostgreSQL pass, like tests/integration/test_matter_points.py.
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
from sync_server.models import Matter, MatterStep
from tests.conftest import TEST_DB, TEST_SECRET
from tests.days import CLOCK_ENV
from tests.factories import TinyGrid, make_tiny_grid
from tests.sync_server.business_helpers import answer, business_op, check_op, make_business_world
from tests.sync_server.matter_helpers import GRID, PHOTO, make_matter_world
from tests.sync_server.wire_device import WireDevice

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

if TEST_DB != "postgresql":
    pytestmark.append(
        pytest.mark.skip(
            reason="multi-process tests run in the PostgreSQL pass (GRIDSWEEP_TEST_DB=postgresql)"
        )
    )

BUSINESSES = 8


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
        server_process(settings.database_url, cwd=tmp_path, env=env, startup_seconds=180) as a,
        server_process(settings.database_url, cwd=tmp_path, env=env, startup_seconds=180) as b,
    ):
        yield a, b


def _device(url: str, username: str) -> WireDevice:
    dev = WireDevice(httpx.Client(base_url=url, timeout=60), username)  # type: ignore[arg-type]
    dev.pull(matters=True, businesses=True)
    return dev


def test_racing_and_retried_checks_open_one_matter_per_failed_item(
    servers: tuple[str, str],
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
) -> None:
    a, b = servers
    make_matter_world(session_factory, tiny)
    world = make_business_world(session_factory, tiny)
    fire = world.items["catering:fire"]
    phones = [_device(a, "w11"), _device(b, "w11")]
    shops = [
        business_op(phones[0], tiny.nodes[GRID].id, name=f"小吃店{n}") for n in range(BUSINESSES)
    ]
    assert {r["status"] for r in phones[0].push(shops)} == {"applied"}
    batches = [
        [
            check_op(
                phone, world.campaign_id, shop["record_id"], [answer(fire, "fail", "堵塞", [PHOTO])]
            )
            for shop in shops
        ]
        for phone in phones
    ]
    answers: list[list[dict[str, Any]]] = [[], []]
    barrier = threading.Barrier(2, timeout=60)

    def push(n: int) -> None:
        barrier.wait()
        answers[n] = phones[n].push(batches[n])

    threads = [threading.Thread(target=push, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(answers), "a phone did not answer"
    assert {r["status"] for r in answers[0] + answers[1]} == {"applied"}
    # Retried pushes (a lost response) answer the same and change nothing.
    for n in (0, 1):
        assert phones[n].push(batches[n]) == answers[n]

    with session_factory() as session:
        per_business = dict(
            session.execute(
                select(Matter.business_id, func.count())
                .where(Matter.checklist_item_id == fire)
                .group_by(Matter.business_id)
            ).all()
        )
        assert per_business == {shop["record_id"]: 1 for shop in shops}
        # The check that came second re-inspected the matter the first opened.
        reinspected = session.scalar(
            select(func.count())
            .select_from(MatterStep)
            .where(MatterStep.action == "reinspect_fail")
        )
        assert reinspected == BUSINESSES
