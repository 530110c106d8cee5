"""Opening the device database, and the write transaction every change goes through.

The phone may lose power at any moment, so the database runs in WAL mode with `synchronous=FULL`:
a committed edit survives a power cut, not only an app crash. Edits are made by hand, one at a
time, so the extra fsync per commit costs nothing the worker would notice.

A store file is always encrypted (SQLCipher, see `cipher.py`; its key is held by `keys.py`); only
the throwaway ":memory:" store of tests is plain SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from field_app.store import cipher
from field_app.store.keys import KeyHolder, key_holder_for
from field_app.store.migrations import MIGRATIONS
from shared.campaigns import natural_key

MEMORY = ":memory:"
# Ids bound into one `IN (...)`: older SQLite builds allow only 999 variables per statement.
MAX_IDS = 500


def open_db(path: str | Path, keys: KeyHolder | None = None) -> Database:
    """Open (creating if needed) and migrate the store at `path`; ":memory:" for a throwaway.

    `keys` holds the file's key (by default `keys/<file>.key` beside it). Raises `StoreLocked`
    when the file cannot be decrypted.
    """
    if str(path) == MEMORY:
        db = Database(MEMORY)
    else:
        db = Database(cipher.connect(Path(path), keys or key_holder_for(path)))
        db.enable_wal()
    db.execute("PRAGMA synchronous=FULL;")
    db.conn.create_collation(NATURAL, _natural_order)
    MIGRATIONS.apply(db)
    return db


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
