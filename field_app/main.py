"""The field app's entry points: `run(...)` serves it (web mode on a loopback port, offline: no
CDN, bundled CJK fonts), and `main(page)` is the Flet app itself, one per open window.

Process-wide, one `Device` holds the data directory and the background `SyncService`; each window
gets its own store connection and `AppViewModel`, rendered by the `App` component.

On a phone (plan, not verified here: docs/field-app.md) the store's key is kept by the platform
keystore (`store/secure_keys.py`, read before the store opens), and the app's lifecycle events
tell the sync worker when the app is in the background or back (`AppViewModel.app_lifecycle`).

    uv run gridsweep-app --port 8550 --server-url http://127.0.0.1:8000 --data-dir data/device-1
    cd field_app && flet build apk   # the phone build runs this file: see docs/field-app.md
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import flet as ft
import httpx

from field_app.config import APP_VERSION, ASSETS_DIR, AppConfig
from field_app.state import AppViewModel, SyncService
from field_app.store import Store, StoreLocked
from field_app.store.keys import KeyHolder
from field_app.store.secure_keys import SecureStorageKeyHolder, phone_key_holder
from field_app.sync_client import SyncClient
from field_app.views import locked, theme
from field_app.views.app import App
from shared import heap

log = logging.getLogger(__name__)


class Device:
    """This installation: its data directory and its one background sync worker."""

    def __init__(self, config: AppConfig, keys: KeyHolder | None = None) -> None:
        self.config = config
        self.clock = config.clock()
        self.keys = keys  # None: the key file beside the store (store/keys.py)
        config.data_dir.mkdir(parents=True, exist_ok=True)
        # Create and migrate before any window opens.
        Store.open(config.store_path, keys=keys).close()
        self.service = SyncService(
            config.store_path,
            connect,
            poll_seconds=config.poll_seconds,
            push_delay=config.push_delay,
            device_name=config.device_name,
            clock=self.clock,
            keys=keys,
        )
        heap.settle()

    def open_store(self) -> Store:
        """A store connection for one window, on the thread that calls it."""
        return Store.open(self.config.store_path, clock=self.clock, keys=self.keys)


def connect(server_url: str, store: Store) -> SyncClient:
    """A sync client for `server_url` over HTTP (short timeouts: a stairwell, not a data centre)."""
    http = httpx.Client(base_url=server_url, timeout=httpx.Timeout(30.0, connect=5.0))
    return SyncClient(http, store, app_version=APP_VERSION)


_device: Device | None = None
_device_lock = threading.Lock()


def device(keys: KeyHolder | None = None) -> Device:
    """The process's device, from the environment unless `run()` configured it."""
    global _device
    with _device_lock:
        if _device is None:
            _device = Device(AppConfig.from_env(), keys)
        return _device


def on_phone(page: ft.Page) -> bool:
    """Whether this window is the app on a phone (not a browser tab, not a desktop)."""
    platform = getattr(page, "platform", None)
    return not getattr(page, "web", True) and platform in (
        ft.PagePlatform.ANDROID,
        ft.PagePlatform.IOS,
    )


async def main(page: ft.Page) -> None:
    """One window of the app."""
    keys: SecureStorageKeyHolder | None = None
    if on_phone(page):  # plan, not verified here (docs/field-app.md)
        keys = phone_key_holder(page.loop)
        await keys.prepare(AppConfig.from_env().store_path)
    try:
        this = device(keys)
        store = this.open_store()  # this window's connection, on the UI thread
    except StoreLocked as exc:
        log.error("%s", exc)
        show_locked(page, exc, keys)
        return

    def dispatch(fn: Callable[[], None]) -> None:
        # The sync worker notifies on its own thread; the view-model runs on the page's loop.
        async def call() -> None:
            fn()

        page.run_task(call)

    vm = AppViewModel(store, this.service, server_url=this.config.server_url, dispatch=dispatch)

    def closed(_event: object = None) -> None:
        vm.close()
        store.close()

    page.title = "网格通 GridSweep"
    page.fonts = dict(theme.FONTS)
    page.theme = theme.theme()
    page.theme_mode = ft.ThemeMode.LIGHT
    page.padding = 0
    page.on_close = closed
    if on_phone(page):  # Android keeps no Python running in the background: sync on coming back
        page.on_app_lifecycle_state_change = lambda e: vm.app_lifecycle(e.state.value)
    vm.start()
    page.render_views(App, vm)


def show_locked(page: ft.Page, error: StoreLocked, keys: SecureStorageKeyHolder | None) -> None:
    """The locked screen instead of the app; its button clears the store and starts again."""
    path = AppConfig.from_env().store_path

    async def reset() -> None:
        # In a worker thread: a keystore's erase waits for the page's loop (store/secure_keys.py).
        await asyncio.to_thread(Store.erase, path, keys=keys)
        page.controls.clear()
        await main(page)

    page.title = "网格通 GridSweep"
    page.fonts = dict(theme.FONTS)
    page.theme = theme.theme()
    page.add(ft.SafeArea(ft.Column(locked.render(error, lambda: page.run_task(reset)))))


def run(
    *,
    port: int = 8550,
    server_url: str = "http://127.0.0.1:8000",
    data_dir: str | Path = "data/device-1",
    host: str = "127.0.0.1",
) -> None:
    """Serve the app in web mode on `host:port` for the device in `data_dir`."""
    global _device
    base = AppConfig.from_env()
    config = AppConfig(
        data_dir=Path(data_dir),
        server_url=server_url,
        port=port,
        host=host,
        poll_seconds=base.poll_seconds,
    )
    try:
        with _device_lock:
            _device = Device(config)
    except StoreLocked as exc:
        # Serving a UI that cannot open its store helps nobody; say why in both languages.
        raise SystemExit(f"{locked.message(exc)}\n{exc}") from exc
    # Offline: the Flutter client must not fetch CanvasKit or fonts from a CDN.
    os.environ.setdefault("FLET_WEB_NO_CDN", "1")
    print(f"GridSweep field app: http://{host}:{port}/  (device data in {config.data_dir})")
    ft.run(
        main,
        view=ft.AppView.WEB_BROWSER,
        host=host,
        port=port,
        assets_dir=str(ASSETS_DIR),
        no_cdn=True,
    )


# The entry of `flet build apk` (and `flet run`); settings come from the environment. On the phone
# this file runs from the zipped app folder and imports `field_app` and `shared` from the
# packages the build installed (field_app/pyproject.toml, [tool.flet] dev_packages).
if __name__ == "__main__":
    ft.run(main, assets_dir=str(ASSETS_DIR))
