"""Test fixtures: a migrated database per test, cheap because the migration runs once.

The template database is migrated once per session with the real Alembic migrations; each test
gets its own copy of the file, so tests are isolated and can commit freely.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker
from sync_server.migrate import upgrade

TEST_SECRET = "test-secret-0123456789-abcdefghijklmnop"


def sqlite_settings(path: Path) -> Settings:
    return Settings(env="test", database_url=f"sqlite:///{path}", secret_key=TEST_SECRET)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    settings = sqlite_settings(path)
    engine = make_engine(settings)
    upgrade(settings, engine)
    engine.dispose()
    return path


@pytest.fixture
def settings(tmp_path: Path, migrated_template: Path) -> Settings:
    path = tmp_path / "gridsweep.db"
    shutil.copy(migrated_template, path)
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
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in an open transaction, committed at the end only if the test wants it."""
    with session_factory() as session, session.begin():
        yield session
