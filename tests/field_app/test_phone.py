"""What the app does on a phone, driven here with fakes (the real thing runs only on a phone: plan,
not verified here): the store's key in the keystore (flet-secure-storage, reset_on_error off) with
a missing key shown and cleared rather than overwritten; the sync worker asleep in the background,
syncing on coming back and every few minutes in the foreground."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace

import flet as ft
import pytest

from field_app import main as app_main
from field_app.state import AppViewModel, SyncService
from field_app.store import EncryptionUnavailable, KeyMissing, Store, StoreError
from field_app.store.secure_keys import (
    KEY_NAME,
    SecureStorageKeyHolder,
    loop_runner,
    phone_key_holder,
)
from field_app.sync_client import SyncReport
from field_app.views import locked
from shared.clock import ManualClock
from tests.days import NOW
from tests.field_app.test_store import RESIDENT, USER, seed
from tests.field_app.test_views import texts


class FakeSecureStorage:
    """The keystore as flet-secure-storage shows it: async get/set/remove of strings."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}
        self.broken = False

    async def get(self, key: str) -> str | None:
        if self.broken:
            raise RuntimeError("KeyStoreException: key invalidated")
        return self.kept.get(key)

    async def set(self, key: str, value: str) -> None:
        self.kept[key] = value

    async def remove(self, key: str) -> None:
        self.kept.pop(key, None)


def holder(storage: FakeSecureStorage, path: Path) -> SecureStorageKeyHolder:
    """A key holder as `main` makes it on a phone, prepared before the store opens."""
    keys = SecureStorageKeyHolder(storage, asyncio.run)
    asyncio.run(keys.prepare(path))
    return keys


def test_the_key_is_made_once_kept_in_the_keystore_and_read_back(
    tmp_path: Path, store_mode: str
) -> None:
    storage, path = FakeSecureStorage(), tmp_path / "phone.db"
    store = Store.open(path, keys=holder(storage, path))
    seed(store)
    store.close()
    assert set(storage.kept) == {KEY_NAME} and len(bytes.fromhex(storage.kept[KEY_NAME])) == 32
    assert not (tmp_path / "keys").exists(), "no key file beside the store on a phone"

    again = Store.open(path, keys=holder(storage, path))  # the app started again
    assert again.get("resident", RESIDENT) is not None
    again.close()


def test_a_lost_or_unreadable_key_locks_the_store_and_a_reset_starts_again(
    tmp_path: Path, store_mode: str
) -> None:
    storage, path = FakeSecureStorage(), tmp_path / "phone.db"
    store = Store.open(path, keys=holder(storage, path))
    seed(store)
    store.update("resident", RESIDENT, {"note": "未同步"}, user_id=USER)
    store.close()
    kept = dict(storage.kept)

    storage.broken = True  # the keystore answers with an error (reset_on_error is off)
    with pytest.raises(KeyMissing):
        Store.open(path, keys=holder(storage, path))
    storage.broken = False
    storage.kept.clear()  # the entry is gone
    keys = holder(storage, path)
    with pytest.raises(KeyMissing):
        Store.open(path, keys=keys)
    assert storage.kept == {}, "no new key is made over a store sealed with the old one"

    Store.erase(path, keys=keys)  # the locked screen's button
    fresh = Store.open(path, keys=holder(storage, path))
    assert fresh.get("resident", RESIDENT) is None and fresh.pending_count() == 0
    assert storage.kept != kept
    fresh.close()


def test_the_phone_keystore_never_erases_itself_on_error() -> None:
    loop = asyncio.new_event_loop()
    try:
        keys = phone_key_holder(loop)  # no page here: the service is made but not registered
    finally:
        loop.close()
    assert keys.storage.android_options.reset_on_error is False  # type: ignore[attr-defined]


def test_the_keystore_is_waited_for_off_the_pages_loop_only() -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    storage = FakeSecureStorage()
    keys = SecureStorageKeyHolder(storage, loop_runner(loop))
    try:
        key = keys.create()  # from this thread, as the sync worker's wipe does
        assert storage.kept[KEY_NAME] == key.hex()

        async def on_the_loop() -> None:
            with pytest.raises(StoreError, match="own loop"):
                keys.destroy()

        asyncio.run_coroutine_threadsafe(on_the_loop(), loop).result(5)
        assert KEY_NAME in storage.kept
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_the_locked_screen_offers_a_reset_only_where_it_helps(tmp_path: Path) -> None:
    resets: list[int] = []
    screen = locked.render(KeyMissing(tmp_path / "phone.db"), lambda: resets.append(1))
    words = texts(screen)
    assert "清除本机数据并重新下载" in words and "download again" in words
    button = next(c for c in _walk(screen) if getattr(c, "key", None) == "store-reset")
    button.on_click(None)
    assert resets == [1]
    no_build = locked.render(EncryptionUnavailable(tmp_path / "phone.db"), lambda: None)
    assert "清除本机数据并重新下载" not in texts(no_build)


def _walk(controls: list[ft.Control]) -> list[ft.Control]:
    found: list[ft.Control] = []
    for control in controls:
        found.append(control)
        content = getattr(control, "content", None)
        found += _walk([content] if isinstance(content, ft.Control) else [])
        found += _walk(list(getattr(control, "controls", None) or []))
    return found


def test_only_a_phone_gets_the_keystore_and_the_lifecycle_events() -> None:
    phone = SimpleNamespace(web=False, platform=ft.PagePlatform.ANDROID)
    browser = SimpleNamespace(web=True, platform=ft.PagePlatform.ANDROID)
    desktop = SimpleNamespace(web=False, platform=ft.PagePlatform.LINUX)
    assert [app_main.on_phone(p) for p in (phone, browser, desktop)] == [True, False, False]  # type: ignore[arg-type]


# --- syncing with no background execution --------------------------------------------------------


class FakeClient:
    """A server that is always there: counts the syncs it was asked for."""

    def __init__(self) -> None:
        self.syncs = 0

    def is_online(self) -> bool:
        return True

    def sync(self, progress: object = None) -> SyncReport:
        self.syncs += 1
        return SyncReport()


@pytest.fixture
def signed_in(tmp_path: Path) -> Path:
    path = tmp_path / "phone.db"
    store = Store.open(path)
    store.meta.server_url = "http://server"
    store.meta.token = "token"
    store.close()
    return path


def test_in_the_foreground_the_worker_syncs_every_few_minutes(signed_in: Path) -> None:
    clock, client = ManualClock(NOW), FakeClient()
    service = SyncService(
        signed_in, lambda url, store: client, clock=clock, poll_seconds=600, sync_every=300
    )
    service.step()  # the first health check finds the server: a sync
    assert client.syncs == 1
    clock.advance(seconds=299)
    service.step()
    assert client.syncs == 1
    clock.advance(seconds=2)
    service.step()
    assert client.syncs == 2, "others' changes are pulled without tapping 同步"


def test_in_the_background_nothing_runs_and_coming_back_syncs(signed_in: Path) -> None:
    clock, client = ManualClock(NOW), FakeClient()
    service = SyncService(
        signed_in, lambda url, store: client, clock=clock, poll_seconds=600, sync_every=300
    )
    store = Store.open(signed_in, clock=clock)
    vm = AppViewModel(store, service, server_url="http://server")
    service.step()
    assert client.syncs == 1

    vm.app_lifecycle("inactive")  # a phone call over the app: still on screen
    assert service.in_foreground
    vm.app_lifecycle("pause")
    clock.advance(hours=2)
    service.step()
    service.request_sync()
    service.step()
    assert client.syncs == 1, "Android runs no Python in the background"

    vm.app_lifecycle("resume")
    service.step()
    assert client.syncs == 2, "coming back syncs at once"
    service.step()
    assert client.syncs == 2, "the sync tapped in the background was that same one"
    store.close()
