"""Fixtures of the device store's tests: the phone's clock, and a store file in each store mode.

Every store-level test runs twice, once per store mode (`field_app/store/modes.py`): "sqlcipher"
(page encryption + sealed columns, desktop and web mode) and "platform" (the platform's sqlite3 +
sealed columns, the phone). `store_mode` sets `GRIDSWEEP_STORE_MODE` for the test, so every
`Store.open` in it, a subprocess's included, opens in that mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_app.store import Store
from field_app.store.modes import MODE_ENV, MODES, StoreMode
from shared.clock import ManualClock
from tests.days import NOW


@pytest.fixture(params=MODES)
def store_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> StoreMode:
    mode: StoreMode = request.param
    monkeypatch.setenv(MODE_ENV, mode)
    return mode


@pytest.fixture
def phone_clock() -> ManualClock:
    """The phone's clock, standing at `NOW` until a test moves it (`clock` is the server's)."""
    return ManualClock(NOW)


@pytest.fixture
def path(tmp_path: Path, store_mode: StoreMode) -> Path:
    """Where the store file goes, in the store mode under test."""
    return tmp_path / "device.db"


@pytest.fixture
def store(path: Path, phone_clock: ManualClock) -> Iterator[Store]:
    store = Store.open(path, clock=phone_clock)
    yield store
    store.close()
