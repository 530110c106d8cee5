"""Opening the device database, and the write transaction every change goes through.

The phone may lose power at any moment, so the database runs in WAL mode with `synchronous=FULL`:
a committed edit survives a power cut, not only an app crash. Edits are made by hand, one at a
time, so the extra fsync per commit costs nothing the worker would notice.

A store file is opened in one of two modes (`modes.py`: SQLCipher page encryption where it exists,
the platform's plain SQLite where it does not); in both, and in the throwaway ":memory:" store of
tests, personal values are sealed with the store's key (`sealed.py`; the key is held by `keys.py`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from field_app.store import modes
from field_app.store.errors import WrongKey
from field_app.store.keys import KeyHolder, MemoryKeyHolder, key_holder_for
from field_app.store.migrations import MIGRATIONS, SEALING
from field_app.store.modes import KEY_TABLE, StoreMode
from field_app.store.sealed import Sealer, StoreDb
from shared.campaigns import natural_key

MEMORY = ":memory:"
# Ids bound into one `IN (...)`: older SQLite builds allow only 999 variables per statement.
MAX_IDS = 500


def open_db(
    path: str | Path, keys: KeyHolder | None = None, mode: StoreMode | None = None
) -> StoreDb:
    """Open (creating if needed) and migrate the store at `path`; ":memory:" for a throwaway.

    `keys` holds the store's key (by default `keys/<file>.key` beside it; a fresh key in memory
    for ":memory:"), `mode` forces a store mode (`modes.choose`). Raises `StoreLocked` when the
    file cannot be opened with that key.
    """
    chosen: StoreMode | None = None
    if str(path) == MEMORY:
        holder = keys or MemoryKeyHolder()
        db = StoreDb(sqlite3.connect(MEMORY), Sealer(holder.load() or holder.create()))
    else:
        chosen = modes.choose(mode)
        conn, key = modes.connect(Path(path), keys or key_holder_for(path), chosen)
        db = StoreDb(conn, Sealer(key))
        db.enable_wal()
    db.execute("PRAGMA synchronous=FULL;")
    db.conn.create_collation(NATURAL, _natural_order)
    sealing_now = any(m.name == SEALING for m in MIGRATIONS.pending(db)) and db["meta"].exists()
    MIGRATIONS.apply(db)
    _check_key(db, path)
    if sealing_now and chosen == "platform":
        _forget_plaintext(db)
    return db


def _check_key(db: StoreDb, path: str | Path) -> None:
    # In the platform mode nothing else notices a wrong key before a sealed value fails to open.
    row = db.execute(f"SELECT value FROM [{KEY_TABLE}]").fetchone()
    if row is None or row[0] != db.sealer.key_check():
        db.close()
        raise WrongKey(path)


def _forget_plaintext(db: Database) -> None:
    """After sealing an unencrypted store's columns in place, leave none of the old values in
    free pages or old WAL frames: rebuild the file and empty the WAL."""
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.vacuum()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# Addresses and rooms sort as people read them: 1巷3号 before 1巷10号, 2号楼 before 10号楼.
NATURAL = "natsort"


def _natural_order(a: str | None, b: str | None) -> int:
    ka, kb = natural_key(a or ""), natural_key(b or "")
    return (ka > kb) - (ka < kb)


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """One all-or-nothing write: committed when the block ends, rolled back if it raises.

    `BEGIN IMMEDIATE` takes the write lock up front. The UI and a background sync may each hold a
    connection to the same file; with a plain `BEGIN` the second writer would fail with "database
    is locked" halfway through, after it had read state, instead of waiting its turn at the start.
    Nested calls (sqlite-utils' own `atomic()` blocks included) become savepoints.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        try:
            db.conn.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise


def chunks(ids: Iterable[str], size: int = MAX_IDS) -> Iterator[list[str]]:
    """`ids` in lists of at most `size`, for queries that bind them into `IN (...)`."""
    batch: list[str] = []
    for item in ids:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def marks(ids: list[str]) -> str:
    """The `?, ?, ...` placeholders for binding `ids` into `IN (...)`."""
    return ", ".join("?" for _ in ids)
