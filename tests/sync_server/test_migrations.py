"""Migrations build the whole schema from an empty database and match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from sync_server.db import make_engine
from sync_server.migrate import downgrade, upgrade
from sync_server.models import Base
from tests.conftest import sqlite_settings


def test_upgrade_from_empty_creates_every_table_and_matches_models(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path / "empty.db")
    engine = make_engine(settings)
    upgrade(settings, engine)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    engine.dispose()


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path / "roundtrip.db")
    engine = make_engine(settings)
    upgrade(settings, engine)
    downgrade(settings, engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(settings, engine)
    assert "residents" in inspect(engine).get_table_names()
    engine.dispose()
