"""`db.insert_rows`: COPY on PostgreSQL, INSERT on SQLite, the same rows either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError

from sync_server.config import Settings
from sync_server.db import RawJSON, insert_rows, make_engine, make_sessionmaker, transaction
from sync_server.models import Building, GridNode
from sync_server.services.grid import create_grid_node

STAMP = datetime(2026, 11, 28, 20, 30, tzinfo=timezone(timedelta(hours=8)))


def test_rows_land_the_same_on_both_databases(any_settings: Settings) -> None:
    engine = make_engine(any_settings)
    factory = make_sessionmaker(engine)
    try:
        with transaction(factory) as session:
            # An ORM row not yet flushed: the bulk rows refer to it.
            grid = create_grid_node(session=session, code="B1", name="网格", level=1, parent=None)
            rows = [
                {
                    "id": f"00000000-0000-0000-0000-00000000000{i}",
                    "grid_id": grid.id,
                    "road": "西大街",
                    "number": f"{i}号",
                    "name": "",
                    "version": 1,
                    "updated_at": STAMP,
                    "updated_by_user_id": None,
                    "updated_by_device_id": None,
                    "deleted": False,
                    # Already serialized JSON is stored as it is, not as a JSON string.
                    "clocks": RawJSON('{"road": "中"}') if i == 2 else {"road": "中"} if i else {},
                }
                for i in range(3)
            ]  # no "lane": its default "" is filled in
            insert_rows(session, cast(Table, Building.__table__), rows)
        with factory() as session:
            got = session.scalars(select(Building).order_by(Building.id)).all()
            assert [(b.number, b.lane, b.clocks) for b in got] == [
                ("0号", "", {}),
                ("1号", "", {"road": "中"}),
                ("2号", "", {"road": "中"}),
            ]
            assert got[0].updated_at == STAMP.astimezone(UTC)
            assert session.scalar(select(GridNode.code)) == "B1"
        # A duplicate key fails, and the transaction's rows go with it.
        with pytest.raises(IntegrityError), transaction(factory) as session:
            insert_rows(session, cast(Table, Building.__table__), [{**rows[0], "id": "x-1"}])
            insert_rows(session, cast(Table, Building.__table__), rows[:1])
        with factory() as session:
            assert len(session.scalars(select(Building.id)).all()) == 3
    finally:
        engine.dispose()
