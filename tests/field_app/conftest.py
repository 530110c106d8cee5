"""Fixtures of the device store's tests: the phone's clock, and a store file in each store mode.

Every store-level test runs twice, once per store mode (`field_app/store/modes.py`): "sqlcipher"
(page encryption + sealed columns, desktop and web mode) and "platform" (the platform's sqlite3 +
sealed columns, the phone). `store_mode` sets `GRIDSWEEP_STORE_MODE` for the test, so every
`Store.open` in it, a subprocess's included, opens in that mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

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


class ScreenContext:
    """The app as a screen sees it (`field_app.state.base.Context`), with no window and no sync:
    for driving one screen's view-model over a store."""

    def __init__(self, store: Store, user_id: str) -> None:
        self.store = store
        self._user_id = user_id
        self.stack: list[Any] = []
        self.flashes: list[Any] = []
        self.sync_requests = 0
        self.online = True  # what `fetch_photo` finds
        self.photos_asked: list[str] = []

    def today(self) -> date:
        return self.store.clock.today()

    def now(self) -> datetime:
        return self.store.clock.now()

    @property
    def user_id(self) -> str:
        return self._user_id

    def changed(self) -> None:
        pass

    def push(self, screen: Any) -> None:
        self.stack.append(screen)

    def back(self) -> None:
        if self.stack:
            self.stack.pop()
            if self.stack:
                self.stack[-1].refresh()

    def flash(self, message: Any, *, error: bool = False) -> None:
        self.flashes.append(message)

    def request_sync(self) -> None:
        self.sync_requests += 1

    def fetch_photo(self, sha256: str) -> bool:
        if self.online:
            self.photos_asked.append(sha256)
        return self.online


@pytest.fixture
def screen_ctx() -> Callable[[Store, str], ScreenContext]:
    return ScreenContext
