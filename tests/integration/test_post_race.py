"""A post's last places: members claim it at the same moment through two server processes on
one PostgreSQL database. The post's row is locked while each claim is decided
(services/push_load.py), so exactly `capacity` claims are accepted and every other member is
told `post_full`; the post's count equals its claims. Runs in the PostgreSQL pass."""

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
from sync_server.models import Post, PostClaim
from tests.conftest import TEST_DB, TEST_SECRET
from tests.days import CLOCK_ENV
from tests.factories import TinyGrid, make_tiny_grid
from tests.sync_server.member_helpers import claim, make_members
from tests.sync_server.wire_device import WireDevice

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

if TEST_DB != "postgresql":
    pytestmark.append(
        pytest.mark.skip(
            reason="multi-process tests run in the PostgreSQL pass (GRIDSWEEP_TEST_DB=postgresql)"
        )
    )

MEMBERS, CAPACITY = 16, 5


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


def test_members_racing_for_a_posts_last_places_never_overfill_it(
    servers: tuple[str, str], tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    world = make_members(session_factory, tiny, per_community=MEMBERS, capacity=CAPACITY)
    post_id = world.posts["p1"]
    phones = [
        WireDevice(httpx.Client(base_url=servers[n % 2], timeout=60), f"m1_{n}")  # type: ignore[arg-type]
        for n in range(MEMBERS)
    ]
    claims = [claim(p, post_id) for p in phones]
    answers: list[dict[str, Any]] = [{} for _ in phones]
    barrier = threading.Barrier(MEMBERS, timeout=60)

    def push(n: int) -> None:
        barrier.wait()
        answers[n] = phones[n].push([claims[n]])[0]

    threads = [threading.Thread(target=push, args=(n,)) for n in range(MEMBERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all(answers), "a member's phone did not answer"
    statuses = sorted((a["status"], a.get("code")) for a in answers)
    assert statuses == [("applied", None)] * CAPACITY + [("rejected", "post_full")] * (
        MEMBERS - CAPACITY
    )
    # A retried push (a lost response) is answered the same.
    assert phones[0].push([claims[0]])[0] == answers[0]
    with session_factory() as session:
        claimed = session.scalar(
            select(func.count()).select_from(PostClaim).where(PostClaim.post_id == post_id)
        )
        assert claimed == CAPACITY == session.get_one(Post, post_id).claimed
