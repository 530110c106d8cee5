"""The two ways a store file is opened, and which one this build uses.

"sqlcipher"  SQLCipher page encryption of the whole file (`cipher.py`), where the `sqlcipher3`
             binding exists: desktop and web mode.
"platform"   the platform's own `sqlite3`, where it does not: Android, whose Python has plain
             SQLite and for which nobody builds sqlcipher3. The file lies in the app's private
             storage, which Android's file-based encryption covers.

In both modes the personal columns are sealed by the app and searched through keyed hashes
(`sealed.py`), under the one key a `KeyHolder` holds: one code path for columns and search, and
SQLCipher kept as an outer layer where it exists (the lead's decision; README "What is protected
on the phone"). The mode is "sqlcipher" when sqlcipher3 imports, else "platform";
`GRIDSWEEP_STORE_MODE` or `Store.open(mode=...)` forces one (tests run the store in both).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal, cast

from field_app.store import cipher
from field_app.store.errors import EncryptionUnavailable, KeyMissing, WrongKey
from field_app.store.keys import KeyHolder

StoreMode = Literal["sqlcipher", "platform"]
MODES: tuple[StoreMode, ...] = ("sqlcipher", "platform")
MODE_ENV = "GRIDSWEEP_STORE_MODE"
KEY_TABLE = "_store_key"  # holds the check of the key the columns were sealed with (m005)


def choose(mode: str | None = None) -> StoreMode:
    """The store mode to use: `mode`, else `GRIDSWEEP_STORE_MODE`, else what this build has."""
    wanted = mode or os.environ.get(MODE_ENV) or None
    if wanted is None:
        return "sqlcipher" if cipher.available() else "platform"
    if wanted not in MODES:
        raise ValueError(f"There is no store mode {wanted!r}; use one of {', '.join(MODES)}.")
    return cast(StoreMode, wanted)


def connect(path: Path, keys: KeyHolder, mode: StoreMode) -> tuple[sqlite3.Connection, bytes]:
    """An open connection to the store file at `path` in `mode`, and the store's key.

    Raises `StoreLocked` (`KeyMissing`, `WrongKey`, `EncryptionUnavailable`) when it cannot be
    opened with what this device holds.
    """
    if mode == "sqlcipher":
        return cipher.connect(path, keys)
    with cipher.FIRST_RUN:
        key = cipher.load_key(path, keys)
        if cipher.has_content(path) and not cipher.is_plain(path):
            # A SQLCipher file (a desktop store) where this build has no SQLCipher.
            raise EncryptionUnavailable(path)
        if key is None:
            if _sealed_with_a_key(path):
                raise KeyMissing(path, getattr(keys, "path", None))
            # A new store, or one from before encryption: its columns are sealed by m005.
            key = keys.create()
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise WrongKey(path) from exc
    return conn, key


def _sealed_with_a_key(path: Path) -> bool:
    if not cipher.has_content(path):
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [KEY_TABLE]
        ).fetchone()
    finally:
        conn.close()
    return row is not None
