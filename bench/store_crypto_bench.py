"""Benchmark what encrypting the device store (SQLCipher) costs: opening it, encrypting an old
plain store in place (once per phone, at the first start of the new app), resident search (every
keystroke) and one edit (every save at a door).

Builds the small demo community on a device as `app_search_bench.py` does (about 4,500
residents) and makes a plain copy of it. Three columns, run by turns: the encrypted store as the
app opens it; the plain copy through the same SQLCipher engine without a key (so the difference
to the first is the encryption alone); the plain copy through Python's stock `sqlite3` (what the
app used before). Prints medians and the ratios of the first column to the other two.

    uv run python bench/store_crypto_bench.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlite_utils import Database

from bench.app_search_bench import device_with_community, queries
from field_app.store import Store
from field_app.store.migrations import MIGRATIONS
from shared.clock import Clock


def open_plain(path: Path, engine: Any = sqlite3) -> Store:
    """A plain store opened as the app opened it before encryption: WAL, synchronous=FULL."""
    db = Database(engine.connect(str(path)))
    db.enable_wal()
    db.execute("PRAGMA synchronous=FULL;")
    MIGRATIONS.apply(db)
    return Store(db)


def plain_copy(encrypted: Store, path: Path) -> None:
    encrypted.db.execute("ATTACH DATABASE ? AS plain KEY ''", [str(path)])
    encrypted.db.execute("SELECT sqlcipher_export('plain')")
    encrypted.db.execute("DETACH DATABASE plain")


def medians(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median milliseconds of each of `fns`, run by turns so a busy machine slows all alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, into in zip(fns, times, strict=True):
            started = time.perf_counter()
            fn()
            into.append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times]


def row(label: str, times: list[float], per: int = 1) -> None:
    enc, same, stock = (t / per for t in times)
    print(
        f"{label:<30} {enc:8.2f} ms {same:8.2f} ms {stock:8.2f} ms {enc / same:6.2f}x {enc / stock:6.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        enc_store = device_with_community(work)
        enc_path, plain_path = work / "device.db", work / "plain.db"
        # Two plain copies: two SQLite libraries in one process must not share a file (closing
        # one's descriptor drops the other's POSIX locks).
        same_path = work / "same-engine.db"
        plain_copy(enc_store, plain_path)
        plain_copy(enc_store, same_path)
        enc_store.close()
        count = sqlite3.connect(plain_path).execute("SELECT COUNT(*) FROM resident").fetchone()[0]
        print(f"device holds {count} residents; {enc_path.stat().st_size / 1e6:.1f} MB on disk")
        print(
            f"{'median':<30} {'encrypted':>11} {'same engine':>11} {'sqlite3':>11} "
            f"{'/same':>7} {'/sqlite3':>7}"
        )
        row(
            "open (key, WAL, migrations)",
            medians(
                [
                    lambda: Store.open(enc_path).close(),
                    lambda: open_plain(same_path, sqlcipher3).close(),
                    lambda: open_plain(plain_path).close(),
                ],
                args.repeat,
            ),
        )

        migrations = []
        for _ in range(max(3, args.repeat // 4)):
            legacy = work / "legacy.db"
            shutil.copyfile(plain_path, legacy)
            started = time.perf_counter()
            Store.open(legacy).close()
            migrations.append((time.perf_counter() - started) * 1000)
            for leftover in [*work.glob("legacy.db*"), *(work / "keys").glob("legacy.db*")]:
                leftover.unlink()
        print(
            f"{'first open of an old plain store':<30} {statistics.median(migrations):8.2f} ms"
            "  (encrypts it in place: once per phone)"
        )

        stores = [Store.open(enc_path), open_plain(same_path, sqlcipher3), open_plain(plain_path)]
        day = Clock().today()

        def searching(store: Store, texts: list[str]) -> Callable[[], None]:
            def run() -> None:
                for text in texts:
                    store.search_residents(text, day=day)

            return run

        for kind, texts in queries(stores[2], random.Random(7)).items():
            row(
                f"search: {kind}",
                medians([searching(s, texts) for s in stores], args.repeat),
                per=len(texts),
            )

        resident_id = stores[0].db.execute("SELECT id FROM resident LIMIT 1").fetchone()[0]
        phones = iter(f"139{n:08d}" for n in range(10**6))

        def editing(store: Store) -> Callable[[], object]:
            return lambda: store.update(
                "resident", resident_id, {"phone": next(phones)}, user_id="bench"
            )

        row(
            "one edit + outbox (fsync)",
            medians([editing(s) for s in stores], args.repeat),
        )
        for store in stores:
            store.close()


if __name__ == "__main__":
    main()
