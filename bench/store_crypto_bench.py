"""Benchmark what protecting the device store costs, in its two modes (`field_app/store/modes.py`):
"sqlcipher" (page encryption + sealed personal columns: desktop and web mode) and "platform" (the
platform's sqlite3 + sealed columns: the phone). Opening the store, listing every resident of a
community with their personal values opened (the heaviest read a screen could make), resident
search (every keystroke) and one edit (every save at a door).

Builds the small demo community on a device in each mode as `app_search_bench.py` does (about
4,500 residents). "rows only" reads the same rows without opening a sealed value: the difference
to "list all residents" is the cost of opening them (AES-GCM, 4 values a resident).

    uv run python bench/store_crypto_bench.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.app_search_bench import device_with_community, queries
from field_app.store import Store
from field_app.store import queries as store_queries
from field_app.store.modes import MODES
from shared.clock import Clock


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
    print(f"{label:<34}" + "".join(f" {t / per:10.2f} ms" for t in times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for mode in MODES:
            work = Path(tmp) / mode
            work.mkdir()
            device_with_community(work, mode).close()
            paths[mode] = work / "device.db"
        stores = [Store.open(paths[mode], mode=mode) for mode in MODES]
        count = stores[0].db.execute("SELECT COUNT(*) FROM resident").fetchone()[0]
        print(f"device holds {count} residents")
        print(f"{'median':<34}" + "".join(f" {m:>13}" for m in MODES))
        row(
            "open (key, WAL, migrations)",
            medians(
                [lambda m=m: Store.open(paths[m], mode=m).close() for m in MODES],  # type: ignore[misc]
                args.repeat,
            ),
        )

        def listing(store: Store) -> Callable[[], object]:
            return lambda: store_queries._records(
                store.db, "resident", "t.deleted = 0", [], "t.name"
            )

        def rows_only(store: Store) -> Callable[[], object]:
            return lambda: store.db.execute(
                "SELECT * FROM resident WHERE deleted = 0 ORDER BY name"
            ).fetchall()

        row(f"list all {count} residents", medians([listing(s) for s in stores], args.repeat))
        row("  rows only (nothing opened)", medians([rows_only(s) for s in stores], args.repeat))

        day = Clock().today()

        def searching(store: Store, texts: list[str]) -> Callable[[], None]:
            def run() -> None:
                for text in texts:
                    store.search_residents(text, day=day)

            return run

        for kind, texts in queries(stores[0], random.Random(7)).items():
            row(
                f"search: {kind}",
                medians([searching(s, texts) for s in stores], args.repeat),
                per=len(texts),
            )

        def editing(store: Store) -> Callable[[], object]:
            resident_id = store.db.execute("SELECT id FROM resident LIMIT 1").fetchone()[0]
            phones = iter(f"139{n:08d}" for n in range(10**6))
            return lambda: store.update(
                "resident", resident_id, {"phone": next(phones)}, user_id="bench"
            )

        row("one edit + outbox (fsync)", medians([editing(s) for s in stores], args.repeat))
        for store in stores:
            store.close()


if __name__ == "__main__":
    main()
