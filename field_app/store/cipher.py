"""Page encryption of the device database, where SQLCipher exists: SQLCipher 4 (AES-256) through
`sqlcipher3` (the "sqlcipher" store mode, `modes.py`: desktop and web mode; there is no Android
build). Personal columns are sealed on top of it in both modes (`sealed.py`).

`connect` opens the store file with its key, creating the key on first run, and encrypts a plain
store left by an older version of the app in place first. `erase` destroys a store for good: the
database, WAL and shared-memory files, then the key.

The key is passed in raw form (`x'<64 hex>'`), so SQLCipher skips its PBKDF2 derivation (256,000
iterations: about 0.5 s per open on the development machine, more on a phone) at every open.
The key is already random and 256 bits long; there is no password to stretch.

Only this module knows the connection comes from sqlcipher3 rather than sqlite3. Their
exception classes differ (`sqlite3.OperationalError` does not catch
`sqlcipher3.dbapi2.OperationalError`), so store code catching a database error must catch
`cipher.DatabaseError` (today none does). sqlite-utils itself catches sqlite3's classes in a
few helpers (`drop(ignore=True)`, `update(alter=True)`, `create_index(find_unique_name=True)`,
`cached_counts`): with this connection they would raise instead, so the store uses none of them.

Without the binding the store runs in the "platform" mode instead; forcing "sqlcipher" there
raises `EncryptionUnavailable` (README: "What is protected on the phone").
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from field_app.store.errors import EncryptionUnavailable, KeyMissing, StoreError, WrongKey
from field_app.store.keys import KeyHolder, KeyUnreadable, fsync_dir

try:
    import sqlcipher3
except ImportError:  # pragma: no cover - a platform without the binding (see the docstring)
    sqlcipher3 = None

PLAIN_HEADER = b"SQLite format 3\x00"
# Two connections racing through a first run (the window and the sync worker) would each make a
# key, and the file would end up encrypted with the one that was overwritten (both modes).
FIRST_RUN = threading.Lock()
SIDE_FILES = ("-wal", "-shm", "-journal")

if TYPE_CHECKING:
    # sqlcipher3 ships no type information; its connection has exactly sqlite3's interface.
    from sqlite3 import Connection, DatabaseError
else:
    Connection = getattr(sqlcipher3, "Connection", None)
    DatabaseError = getattr(sqlcipher3, "DatabaseError", Exception)


def available() -> bool:
    """Whether this build of the app has SQLCipher (the "sqlcipher" store mode)."""
    return sqlcipher3 is not None


def connect(path: Path, keys: KeyHolder) -> tuple[Connection, bytes]:
    """An open connection to the encrypted store at `path`, keyed and checked, and its key.

    Raises `KeyMissing` or `WrongKey` (both `StoreLocked`) when the file cannot be decrypted,
    `EncryptionUnavailable` when this build of the app has no SQLCipher.
    """
    if sqlcipher3 is None:
        raise EncryptionUnavailable(path)
    with FIRST_RUN:
        if is_plain(path):
            encrypt_in_place(path, load_key(path, keys) or keys.create())
        key = load_key(path, keys)
        if key is None:
            if has_content(path):
                raise KeyMissing(path, getattr(keys, "path", None))
            key = keys.create()
        conn = _keyed(path, key)
    try:
        # The first read of page 1 is where a wrong key shows (as "file is not a database").
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except DatabaseError as exc:
        conn.close()
        raise WrongKey(path) from exc
    return conn, key


def is_plain(path: Path) -> bool:
    """Whether `path` is an unencrypted SQLite database (a store from before encryption)."""
    try:
        with path.open("rb") as f:
            return f.read(len(PLAIN_HEADER)) == PLAIN_HEADER
    except FileNotFoundError:
        return False


def encrypt_in_place(path: Path, key: bytes) -> None:
    """Replace the plain database at `path` by an encrypted copy, losing nothing.

    The copy is written beside it and renamed over it only when complete and checked, so a power
    cut at any point leaves either the plain store (encrypted again at the next open) or the
    encrypted one. The plain file's blocks are freed, not overwritten: see the README.
    """
    tmp = path.with_name(path.name + ".encrypting")
    _remove(tmp)
    plain = sqlcipher3.connect(str(path))  # no key: SQLCipher reads plain SQLite as is
    try:
        before = _table_counts(plain, "main")
        plain.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(tmp), _raw(key)))
        plain.execute("SELECT sqlcipher_export('encrypted')")
        # sqlcipher_export copies schema and rows but not the header's user_version.
        version = int(plain.execute("PRAGMA main.user_version").fetchone()[0])
        plain.execute(f"PRAGMA encrypted.user_version = {version}")
        after = _table_counts(plain, "encrypted")
        plain.execute("DETACH DATABASE encrypted")
    except BaseException:
        plain.close()
        _remove(tmp)
        raise
    # Closing the last connection checkpoints the plain WAL into the file and deletes it; a WAL
    # left behind would be replayed over the encrypted file and ruin it.
    plain.close()
    if before != after:
        _remove(tmp)
        raise StoreError(f"Encrypting {path} copied {after} rows instead of {before}.")
    if _side_file_with_content(path, "-wal"):
        _remove(tmp)
        raise StoreError(f"{path} is in use by another process; it was not encrypted.")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    for suffix in SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    os.replace(tmp, path)
    fsync_dir(path.parent)


def erase(path: Path, keys: KeyHolder) -> None:
    """Destroy the store at `path` and its key: nothing left on the phone can be decrypted.

    The files go before the key: a power cut in between leaves a key with nothing to open (the
    next open starts a fresh store with it), never an encrypted file without its key, which
    would leave the app refusing to start.
    """
    _remove(path)
    fsync_dir(path.parent)
    keys.destroy()


def _keyed(path: Path, key: bytes) -> Connection:
    conn = sqlcipher3.connect(str(path))
    # PRAGMA takes no bound parameters; the value is hex digits we produced ourselves.
    conn.execute(f'PRAGMA key = "{_raw(key)}"')
    return conn


def _raw(key: bytes) -> str:
    return f"x'{key.hex()}'"


def load_key(path: Path, keys: KeyHolder) -> bytes | None:
    """The key `keys` holds for the store at `path`; `KeyMissing` when it cannot be read."""
    try:
        return keys.load()
    except KeyUnreadable as exc:
        raise KeyMissing(path, getattr(keys, "path", None)) from exc


def has_content(path: Path) -> bool:
    """Whether a store file with something in it is at `path`."""
    # A zero-length file is what a crash before the first write leaves: nothing to decrypt.
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False


def _side_file_with_content(path: Path, suffix: str) -> bool:
    try:
        return os.stat(f"{path}{suffix}").st_size > 0
    except FileNotFoundError:
        return False


def _table_counts(conn: Connection, schema: str) -> dict[str, int]:
    names = [
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return {n: conn.execute(f'SELECT count(*) FROM {schema}."{n}"').fetchone()[0] for n in names}


def _remove(path: Path) -> None:
    for suffix in ("", *SIDE_FILES):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
