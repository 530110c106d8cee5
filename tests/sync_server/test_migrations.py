"""Migrations build the whole schema from an empty database and match the models, and carry
existing data over (on the backend under test: GRIDSWEEP_TEST_DB=postgresql runs them there)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import china_date
from sync_server.config import Settings
from sync_server.db import make_engine
from sync_server.migrate import downgrade, upgrade
from sync_server.models import Base, Visit
from sync_server.records import values_of
from tests.conftest import sqlite_settings
from tests.factories import make_tiny_grid


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


def test_visit_times_of_older_phones_become_utc_instants(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    # On the backend under test (GRIDSWEEP_TEST_DB): visits as 0008 stored them, phones' text.
    with session_factory() as session, session.begin():
        house_id = make_tiny_grid(session, houses_per_grid=1).houses["T1-1-1-1-1"][0].id
    downgrade(settings, engine, "0008")
    stored_at = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    sent = {
        "late": "2026-11-28T23:30+08:00",  # what phones wrote: China time with its offset
        "early": "2026-11-28T07:30+08:00",  # the UTC date is the day before
        "no_zone": "2026-11-28 09:00",  # China time
        "utc": "2026-11-28T01:00:00Z",
        "garbage": "昨天下午",  # the column took any text: the visit keeps its stored moment
    }
    ids = {name: str(uuid.uuid4()) for name in sent}
    old = sa.table(
        "visits",
        *(sa.column(c) for c in ("id", "house_id", "outcome", "note", "visited_at", "clocks")),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    with engine.begin() as conn:
        conn.execute(
            sa.insert(old),
            [
                {"id": ids[name], "house_id": house_id, "outcome": "met", "note": "",
                 "visited_at": text, "clocks": "{}", "updated_at": stored_at}
                for name, text in sent.items()
            ],
        )  # fmt: skip

    upgrade(settings, engine)
    with session_factory() as session:
        got = {name: session.get_one(Visit, ids[name]) for name in sent}
        assert {name: values_of("visit", v)["visited_at"] for name, v in got.items()} == {
            "late": "2026-11-28T15:30:00.000Z",
            "early": "2026-11-27T23:30:00.000Z",
            "no_zone": "2026-11-28T01:00:00.000Z",
            "utc": "2026-11-28T01:00:00.000Z",
            "garbage": "2026-11-29T02:00:00.000Z",
        }
        assert china_date(got["early"].visited_at) == date(2026, 11, 28), "still that day"

    downgrade(settings, engine, "0008")  # and back to the text older servers read
    with engine.connect() as conn:
        texts = dict(conn.execute(sa.select(old.c.id, old.c.visited_at)).all())
    assert texts[ids["late"]] == "2026-11-28T23:30+08:00"
    assert texts[ids["early"]] == "2026-11-28T07:30+08:00"
    upgrade(settings, engine)
