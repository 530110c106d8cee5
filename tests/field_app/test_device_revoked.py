"""A lost phone revoked on the server wipes itself at its next contact (real server in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from field_app.store import Store
from field_app.sync_client import DeviceRevoked, SyncClient
from sync_server.config import Settings
from sync_server.main import create_app
from sync_server.models import User
from sync_server.services.devices import revoke_device
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD, TinyGrid, make_tiny_grid


@pytest.fixture
def tiny(session_factory: sessionmaker[Session]) -> TinyGrid:
    with session_factory() as session, session.begin():
        return make_tiny_grid(session)


def _rows(store: Store) -> dict[str, int]:
    return {
        name: store.db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        for name in store.db.table_names()
        if name not in ("_sqlite_migrations", "_store_key", "meta")  # the store's own bookkeeping
    }


def test_a_revoked_device_wipes_its_data_at_the_next_sync(
    settings: Settings, tiny: TinyGrid, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    app = create_app(settings)
    store = Store.open(tmp_path / "phone.db")
    try:
        with TestClient(app) as http:
            client = SyncClient(http, store)
            client.login("w11", PASSWORD)
            client.sync()
            house = store.houses_in_grid(store.my_grids()[-1].id)[0]
            store.update("house", house.id, {"room": "999"}, user_id=store.meta.user_id or "")
            assert store.pending_count() == 1
            assert sum(_rows(store).values()) > 0
            device_id = store.device_id

            with session_factory() as session, session.begin():
                admin = session.scalars(select(User).where(User.username == "admin")).one()
                revoke_device(
                    session=session, actor=admin, device_id=device_id, now=RUN_CLOCK.now()
                )

            with pytest.raises(DeviceRevoked) as raised:
                client.sync()
            assert raised.value.code == "device_revoked"
            assert _rows(store) == dict.fromkeys(_rows(store), 0)
            keys = [r[0] for r in store.db.execute("SELECT key FROM meta").fetchall()]
            assert keys == ["device_id"]
            assert store.meta.token is None
            assert store.device_id == device_id

            # Signing in again from the revoked installation is refused, and wipes again.
            with pytest.raises(DeviceRevoked):
                client.login("w11", PASSWORD)
    finally:
        store.close()
        app.state.engine.dispose()


def test_wipe_keeps_a_usable_empty_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "phone.db")
    device_id = store.device_id
    store.wipe()
    store.close()
    again = Store.open(tmp_path / "phone.db")
    assert again.device_id == device_id
    assert again.pending_count() == 0
    again.close()
