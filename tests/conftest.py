"""Test fixtures: a migrated database per test, cheap because the migration runs once.

The template database is migrated once per session with the real Alembic migrations; each test
gets its own copy of the file, so tests are isolated and can commit freely.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import MovableClock
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker
from sync_server.main import create_app
from sync_server.migrate import upgrade
from tests.days import CLOCK_ENV, OFFSET, RUN_CLOCK

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop"

# Every server and app the suite starts, in this process or as a subprocess, reads the run's
# clock (tests/days.py) from the environment.
os.environ.update(CLOCK_ENV)


def sqlite_settings(path: Path) -> Settings:
    return Settings(
        env="test",
        database_url=f"sqlite:///{path}",
        secret_key=TEST_SECRET,
        clock_offset=OFFSET,
        data_dir=path.parent,  # photos beside the test's database, never in ./data
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    settings = sqlite_settings(path)
    engine = make_engine(settings)
    upgrade(settings, engine)
    engine.dispose()
    return path


# GRIDSWEEP_TEST_DB=postgresql runs every database test on PostgreSQL instead (make test does both).
TEST_DB = os.environ.get("GRIDSWEEP_TEST_DB", "sqlite")


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """The server's settings on a fresh, migrated database of the backend under test."""
    if TEST_DB == "postgresql":
        return request.getfixturevalue("pg_settings")  # type: ignore[no-any-return]
    path = tmp_path / "gridsweep.db"
    shutil.copy(request.getfixturevalue("migrated_template"), path)
    return sqlite_settings(path)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clock() -> MovableClock:
    """The clock of the server under test: the run's clock, until a test moves it on."""
    return MovableClock(RUN_CLOCK.now())


@pytest.fixture
def app(settings: Settings, clock: MovableClock) -> Iterator[FastAPI]:
    """The real app on the per-test database; its connections closed after the test."""
    app = create_app(settings, clock=clock)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in an open transaction, committed at the end only if the test wants it."""
    with session_factory() as session, session.begin():
        yield session


PG_ADMIN_URL = os.environ.get("GRIDSWEEP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("GRIDSWEEP_REQUIRE_PG") == "1"


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL template database; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = (
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({exc}); set GRIDSWEEP_TEST_PG_URL"
        )
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    name = f"gs_tmpl_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    settings = Settings(env="test", database_url=_pg_url(name), secret_key=TEST_SECRET)
    engine = make_engine(settings)
    upgrade(settings, engine)
    engine.dispose()
    yield name
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg_settings(pg_template: str, tmp_path: Path) -> Iterator[Settings]:
    name = f"gs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield Settings(
        env="test",
        database_url=_pg_url(name),
        secret_key=TEST_SECRET,
        clock_offset=OFFSET,
        data_dir=tmp_path,
    )
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def any_settings(request: pytest.FixtureRequest) -> Settings:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        path = request.getfixturevalue("tmp_path") / "any.db"
        shutil.copy(request.getfixturevalue("migrated_template"), path)
        return sqlite_settings(path)
    return request.getfixturevalue("pg_settings")  # type: ignore[no-any-return]
