"""Benchmark the field app's resident search over one community, as a phone holds it.

Seeds the small demo community (about 4,000 residents) into a temporary server database, pulls
all of it into a device store through the real sync protocol (signed in as the demo admin), then
times `Store.search_residents` for the queries a worker types at a door: pinyin initials, full
pinyin, a Chinese name, the last four characters of an ID number, a phone's last four digits, an address.
Prints the median and 95th percentile per kind of query; every keystroke runs one such search.

    uv run python bench/app_search_bench.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from field_app.store import Store
from field_app.store.modes import StoreMode
from field_app.store.pinyin import name_keys
from field_app.sync_client import SyncClient
from shared.clock import Clock
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.main import create_app
from sync_server.migrate import upgrade
from sync_server.seed.demo import DEMO_PASSWORD, seed_demo


def device_with_community(workdir: Path, mode: StoreMode | None = None) -> Store:
    settings = Settings(env="development", database_url=f"sqlite:///{workdir / 'server.db'}")
    engine = make_engine(settings)
    upgrade(settings, engine)
    with transaction(make_sessionmaker(engine)) as session:
        seed_demo(session=session, scale="small", now=Clock().now())
    engine.dispose()
    app = create_app(settings)
    store = Store.open(workdir / "device.db", mode=mode)
    http = httpx.Client(transport=TestClient(app)._transport, base_url="http://testserver")
    client = SyncClient(http, store, app_version="bench")
    client.login("admin", DEMO_PASSWORD)
    client.sync()
    app.state.engine.dispose()
    return store


def queries(store: Store, rng: random.Random) -> dict[str, list[str]]:
    ids = [r[0] for r in store.db.execute("SELECT id FROM resident WHERE deleted = 0")]
    # (name, ID number, phone): the numbers are sealed in the table, so they are read opened.
    rows = [(name, number, phone) for name, phone, number in store.contacts_of(ids).values()]
    sample = rng.sample(rows, 20)
    houses = [r[0] for r in store.db.execute("SELECT address FROM house LIMIT 200").fetchall()]
    return {
        "initials (zs)": [name_keys(name)[0].split()[0] for name, _, _ in sample],
        "full pinyin": [name_keys(name)[1].split()[0][:6] for name, _, _ in sample],
        "chinese name": [name[:2] for name, _, _ in sample],
        "ID last four": [number[-4:] for _, number, _ in sample],
        "phone last four": [(phone or "13800000000")[-4:] for _, _, phone in sample],
        "address": [rng.choice(houses)[-8:] for _ in sample],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = device_with_community(Path(tmp))
        residents = store.db.execute("SELECT COUNT(*) FROM resident").fetchone()[0]
        print(
            f"device holds {residents} residents (set up in {time.perf_counter() - started:.1f} s)"
        )
        day = store.clock.today()
        print(f"{'query':<16} {'median ms':>10} {'p95 ms':>8} {'hits':>6}")
        for kind, texts in queries(store, rng).items():
            timings, hits = [], []
            for _ in range(args.repeat):
                for text in texts:
                    t0 = time.perf_counter()
                    found = store.search_residents(text, day=day)
                    timings.append((time.perf_counter() - t0) * 1000)
                    hits.append(len(found))
            timings.sort()
            p95 = timings[int(len(timings) * 0.95) - 1]
            print(
                f"{kind:<16} {statistics.median(timings):>10.2f} {p95:>8.2f} "
                f"{statistics.median(hits):>6.0f}"
            )
        store.close()


if __name__ == "__main__":
    main()
