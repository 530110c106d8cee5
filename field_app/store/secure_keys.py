"""The store's key on a phone: kept by the platform keystore through `flet-secure-storage`.

Plan, not verified here (docs/field-app.md): it runs only on a phone; the tests drive it with a
fake storage. `SecureStorage` is a Flet service (Android Keystore, iOS Keychain) whose methods
are coroutines answered by the Flutter client, while the store asks its `KeyHolder` from plain
synchronous code. So:

- `prepare()` (async, on the page's loop, before the store opens) reads the key into memory and,
  on a first run (no key kept, no store file), makes one and has it kept and read back before
  anything is sealed with it;
- `load()` answers from memory; `create()` and `destroy()` (a wipe of a revoked device, on the
  sync worker's thread; a reset from the locked screen, run in a worker thread) wait for the
  keystore through `run`, which hands the coroutine to the page's loop (`loop_runner`).

`reset_on_error` is off: by default the plugin erases everything it keeps when it cannot decrypt
(say, after the phone's lock screen changed), which would silently make a new key over a store
sealed with the old one. Instead an error reading the key is `KeyUnreadable`: the store raises
`KeyMissing`, the app shows "无法打开本机数据" and offers to clear the phone's data and download
it again from the server (`Store.erase`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from field_app.store import cipher
from field_app.store.errors import StoreError
from field_app.store.keys import KeyUnreadable, check_key, new_key

KEY_NAME = "gridsweep.store-key"
KEYSTORE_WAIT_SECONDS = 30.0
Run = Callable[[Coroutine[Any, Any, Any]], Any]


class SecretStorage(Protocol):
    """What the key holder uses of `flet_secure_storage.SecureStorage`."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def remove(self, key: str) -> None: ...


class SecureStorageKeyHolder:
    """A `KeyHolder` on the platform keystore (see the module docstring)."""

    def __init__(self, storage: SecretStorage, run: Run, *, name: str = KEY_NAME) -> None:
        self.storage = storage
        self.name = name
        self._run = run
        self._key: bytes | None = None
        self._error: KeyUnreadable | None = None

    async def prepare(self, store_path: str | Path) -> None:
        """Read the key into memory; on a first run, make one and have it kept."""
        self._key, self._error = None, None
        try:
            self._key = await self._read()
        except KeyUnreadable as exc:
            self._error = exc
            return
        if self._key is None and not cipher.has_content(Path(store_path)):
            key = new_key()
            await self.storage.set(self.name, key.hex())
            if await self._read() != key:
                raise StoreError("The phone's keystore did not keep the store's key.")
            self._key = key

    def load(self) -> bytes | None:
        if self._error is not None:
            raise self._error
        return self._key

    def create(self) -> bytes:
        key = new_key()
        self._run(self.storage.set(self.name, key.hex()))
        # The key must be kept before anything is sealed with it: read it back.
        if self._run(self._read()) != key:
            raise StoreError("The phone's keystore did not keep the store's key.")
        self._key, self._error = key, None
        return key

    def destroy(self) -> None:
        self._run(self.storage.remove(self.name))
        self._key, self._error = None, None

    async def _read(self) -> bytes | None:
        try:
            value = await self.storage.get(self.name)
        except Exception as exc:  # the plugin's errors are whatever the platform threw
            raise KeyUnreadable(f"keystore entry {self.name}: {exc}") from exc
        if value is None:
            return None
        try:
            return check_key(bytes.fromhex(value), f"keystore entry {self.name}")
        except ValueError as exc:
            raise KeyUnreadable(f"keystore entry {self.name}") from exc


def loop_runner(loop: asyncio.AbstractEventLoop) -> Run:
    """Run a coroutine on `loop` (the page's) from another thread and wait for its result."""

    def run(coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise StoreError("The keystore cannot be waited for on the page's own loop.")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(KEYSTORE_WAIT_SECONDS)

    return run


def phone_key_holder(loop: asyncio.AbstractEventLoop) -> SecureStorageKeyHolder:
    """The key holder of a phone build, on the current page (call it inside the page's session).

    flet-secure-storage is imported here, not at the top: only a phone uses it.
    """
    from flet_secure_storage import AndroidOptions, SecureStorage

    storage = SecureStorage(android_options=AndroidOptions(reset_on_error=False))
    return SecureStorageKeyHolder(storage, loop_runner(loop))
