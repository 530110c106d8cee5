"""GridSweep sync against its peer, PouchDB replication to a CouchDB-compatible server, in one run.

    make bench-peer                                   # npm ci if needed, then the full run
    uv run python bench/peer/run.py --quick           # small sizes, 1 round: a smoke run
    uv run python bench/peer/run.py --rounds 3 --json out.json --png out.png

Both systems get the same generated records (buildings, units, houses, residents and bindings:
one PouchDB document per GridSweep record, with the same id and the same field values) and the
same edits, and are timed over the same span: from the start of a sync to its end, measured
inside each system's own process, sign-in, record making and process start-up left out.

- GridSweep: `create_app` under uvicorn (bench/sync_bench.py `server_process`) on a fresh
  SQLite file; devices are the real `field_app` Store and SyncClient (bench/sync_bench.py
  `Device`), their store files on tmpfs. A sync is `SyncClient.sync()`: push the outbox, pull.
- Peer: express-pouchdb 4 on pouchdb-node's default leveldb adapter in a temporary directory
  (on disk, like GridSweep's server); devices are PouchDBs on pouchdb-adapter-memory in one Node
  process (bench/peer/peer.mjs). A sync is a one-shot push replication, then a pull one. One
  CouchDB database per grid, the way CouchDB apps scope what a device receives.

Workloads, G then P each round, `--rounds` rounds (medians reported):

- initial push:    one device creates a grid offline (1,000 households, 3,000 residents: 20
                   buildings, 40 units, 1,000 houses, 3,000 residents, 3,000 bindings) and syncs;
- fresh pull:      a new device of the grid syncs;
- push edits:      the first device edits 1,000 residents (phone or note) and syncs;
- pull changes:    the second device syncs and gets them;
- sync, idle:      the second device syncs again with nothing to do (3 samples a round);
- 100 devices:     100 devices of a second grid edit 10 residents each (all different), all sync
                   at once, then all sync again to get the others' changes: the wall time of both;
- conflict round:  100 devices edit the same 10 residents: on each record 4 devices edit four
                   different fields (phone, note, residence status, tags) and the other 6 the same
                   field (the phone on even records, the name on odd ones), then sync as above.
                   Reported too: what is left for a person to settle (GridSweep: open conflicts on
                   the server; PouchDB: documents with `_conflicts` on the server) and whether every
                   device ends with the same records.

Each grid is new each round (its own GridSweep worker and CouchDB database); the 100 devices of
the second grid are set up once (signed in and bootstrapped, not timed) and kept for all rounds.

The raw floor of a workload is its records (the rows as a GridSweep device holds them
afterwards, every column) written once, in one transaction: into a fresh SQLite file with
`executemany` (WAL, synchronous=FULL, as a device's store), and into a scratch PostgreSQL
database with COPY. It is what a sync of those rows cannot beat; "x floor" is GridSweep's median
over the floor's median.

Both systems share the machine with each other's idle server and with the devices, so the
numbers are noisy on a small machine: compare the ratios measured in one run, not across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.sync_bench import (  # noqa: E402
    Device,
    Tables,
    Wire,
    floor_seconds,
    server_process,
    stop,
)
from field_app.sync_client import SyncError, SyncReport  # noqa: E402
from shared.validation import id_check_char  # noqa: E402
from sync_server.config import Settings  # noqa: E402
from sync_server.db import make_engine, make_sessionmaker, transaction  # noqa: E402
from sync_server.migrate import upgrade  # noqa: E402
from sync_server.models import GridNode  # noqa: E402
from sync_server.security import hash_password  # noqa: E402
from sync_server.seed.demo import DEMO_PASSWORD  # noqa: E402
from sync_server.services.grid import create_grid_node  # noqa: E402
from sync_server.services.users import create_user  # noqa: E402

PEER_DIR = Path(__file__).resolve().parent
RESULTS = PEER_DIR / "results"
PG_URL = os.environ.get("GRIDSWEEP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENTITIES = ("building", "unit", "house", "resident", "binding")
IDLE_SYNCS = 3
T = TypeVar("T")

WORKLOADS = (
    ("initial_push", "initial push of a grid"),
    ("fresh_pull", "fresh-device pull"),
    ("push_edits", "push 1,000 edits"),
    ("pull_changes", "pull 1,000 changes"),
    ("sync_idle", "sync, nothing to do"),
    ("fleet", "100 devices x 10 edits"),
    ("conflict_round", "conflict round"),
)


@dataclass(frozen=True)
class Sizes:
    households: int = 1_000
    residents: int = 3_000
    edits: int = 1_000
    devices: int = 100
    device_edits: int = 10
    conflict_records: int = 10
    # The second grid, where the devices work: enough residents for devices x device_edits
    # distinct edits and a new set of conflict records every round.
    fleet_households: int = 360
    fleet_residents: int = 1_080


QUICK = Sizes(
    households=60,
    residents=180,
    edits=60,
    devices=10,
    device_edits=8,
    conflict_records=2,
    fleet_households=31,  # with its building and 2 units, an even number of places
    fleet_residents=93,
)


# --- the records both systems get ------------------------------------------------------------


@dataclass
class Made:
    """Records made on a device, in the order made: (entity, id, values)."""

    records: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def ids(self, entity: str) -> list[str]:
        return [i for e, i, _ in self.records if e == entity]

    def docs(self) -> list[dict[str, Any]]:
        """The same records as PouchDB documents: one per record, the entity in `type`."""
        return [{"_id": i, "type": e, **v} for e, i, v in self.records]


class People:
    """Valid, distinct residents for the whole run (ID numbers are unique among the living)."""

    SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
    GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def next(self) -> dict[str, Any]:
        n = self.count
        self.count += 1
        born = date(1950, 1, 1) + timedelta(days=n // 900)
        first17 = f"350128{born:%Y%m%d}{n % 900 + 100:03d}"
        rng = self.rng
        return {
            "name": rng.choice(self.SURNAMES) + "".join(rng.choices(self.GIVEN, k=2)),
            "id_number": first17 + id_check_char(first17),
            "phone": f"13{rng.randrange(10**9):09d}",
            "residence_status": rng.choice(("permanent", "permanent", "floating")),
            "tags": sorted(rng.sample(("elderly_alone", "hardship"), rng.randrange(2))),
            "note": "",
        }


def make_grid(
    device: Device, grid_id: str, households: int, residents: int, people: People
) -> Made:
    """Create a grid's places and people on `device` offline (one local transaction: set-up).

    50 houses a building in 2 units, residents spread evenly over the houses, each bound to
    theirs; the ids are the ones the device generates, which the peer's documents reuse.
    """
    made = Made()
    # A worker's phone downloads its (still empty) grid before adding to it: the grid node.
    clean(device.client.sync(), "download of the empty grid")
    user = device.user_id
    store = device.store

    def create(entity: str, values: dict[str, Any]) -> str:
        op = store.create(entity, values, user_id=user)
        made.records.append((entity, op.record_id, values))
        return op.record_id

    houses: list[str] = []
    with store.transaction():
        for b in range(-(-households // 50)):
            building = create(
                "building",
                {
                    "grid_id": grid_id,
                    "road": "榕华路",
                    "number": f"{b + 1}号",
                    "name": f"{b + 1}栋",
                },
            )
            units = [
                create("unit", {"building_id": building, "name": f"{u + 1}单元"}) for u in (0, 1)
            ]
            for h in range(min(50, households - len(houses))):
                room = f"{h // 5 + 1}{h % 5 + 1:02d}"
                houses.append(
                    create(
                        "house",
                        {
                            "grid_id": grid_id,
                            "building_id": building,
                            "unit_id": units[h % 2],
                            "room": room,
                            "address": f"榕华路{b + 1}号{h % 2 + 1}单元{room}",
                        },
                    )
                )
        # The sync client cuts the outbox into batches of 1,000 operations, and the server
        # rejects a new resident whose binding is not in the same batch (unbound_resident). With
        # an even number of places before them, no resident-binding pair straddles a cut.
        if len(made.records) % 2:
            raise ValueError(f"{len(made.records)} places: choose sizes that make an even number")
        for r in range(residents):
            resident = create("resident", people.next())
            head = r < households
            create(
                "binding",
                {
                    "resident_id": resident,
                    "house_id": houses[r % households],
                    "relation": "head" if head else "member",
                    "start_date": "2020-01-01",
                },
            )
    return made


Edits = list[tuple[str, dict[str, Any]]]  # (resident id, fields changed)


def door_edits(ids: list[str], round_no: int, tag: int) -> Edits:
    """What a worker changes at the door: a new phone number, or a note (values new each round)."""
    return [
        (rid, {"phone": f"139{round_no % 10}{tag % 100:02d}{i:05d}"})
        if i % 2 == 0
        else (rid, {"note": f"入户核查 第{round_no}轮 {tag}-{i}"})
        for i, rid in enumerate(ids)
    ]


def conflict_edits(
    devices: int, records: list[str], initial: dict[str, dict[str, Any]], round_no: int
) -> list[Edits]:
    """Each device's edit of the conflict round: device d edits record d mod len(records).

    The first four devices on a record edit four different fields (merged by GridSweep); the rest
    all edit the same field: the phone (last writer wins) on even records, the name (an identity
    field: a person must decide) on odd ones.
    """
    out: list[Edits] = []
    for d in range(devices):
        k, slot = d % len(records), d // len(records)
        rid = records[k]
        if slot == 0:
            change: dict[str, Any] = {"phone": f"15{round_no % 10}{d:08d}"}
        elif slot == 1:
            change = {"note": f"冲突轮 {round_no} 设备 {d}"}
        elif slot == 2:
            change = {"residence_status": "away"}
        elif slot == 3:
            change = {"tags": sorted({*initial[rid]["tags"], "left_behind_child"})}
        elif k % 2 == 0:
            change = {"phone": f"15{round_no % 10}{d:08d}"}
        else:
            change = {"name": f"{initial[rid]['name']}{'甲乙丙丁戊己庚辛壬癸'[slot % 10]}"}
        out.append([(rid, change)])
    return out


# --- GridSweep: server set-up and devices ---------------------------------------------------------


def seed_server(path: Path, rounds: int) -> dict[str, str]:
    """A fresh migrated database with a grid tree, one empty level-5 grid a round plus the
    devices' grid, and a worker for each (password DEMO_PASSWORD); grid code -> grid id."""
    settings = Settings(env="development", database_url=f"sqlite:///{path}")
    engine = make_engine(settings)
    grids: dict[str, str] = {}
    try:
        upgrade(settings, engine)
        with transaction(make_sessionmaker(engine)) as session:
            parent: GridNode | None = None
            for level, code in enumerate(("35", "3501", "3501-01", "3501-01-01"), start=1):
                parent = create_grid_node(
                    session=session, code=code, name=f"第{level}级", level=level, parent=parent
                )
            password_hash = hash_password(DEMO_PASSWORD)  # one argon2 hash for every account
            for name in [f"main{r}" for r in range(1, rounds + 1)] + ["fleet"]:
                grid = create_grid_node(
                    session=session, code=f"3501-01-01-{name}", name=name, level=5, parent=parent
                )
                create_user(
                    session=session,
                    username=f"w-{name}",
                    role="worker",
                    grids=[grid],
                    password_hash=password_hash,
                )
                grids[name] = grid.id
    finally:
        engine.dispose()
    return grids


def open_device(url: str, path: Path, username: str) -> Device:
    # 100 devices at once on 2 cores (sign-ins hash passwords): a request may queue for longer
    # than httpx's default 5 s.
    return Device(url, path, username, timeout=300)


def clean(report: SyncReport, what: str, *, conflicts_allowed: bool = False) -> SyncReport:
    if report.errors or report.rejected or (report.conflicts and not conflicts_allowed):
        raise RuntimeError(f"GridSweep {what} did not go cleanly: {report}")
    return report


def timed_sync(device: Device, what: str) -> tuple[float, SyncReport, dict[str, float]]:
    """One sync; its seconds, report, and where the time went: waiting on the push requests,
    on the pull requests (the server and loopback), and the rest (the device's own work)."""
    device.transport.wire = Wire()
    started = time.perf_counter()
    report = device.client.sync()
    seconds = time.perf_counter() - started
    by_path = device.transport.wire.seconds_by_path
    split = {"push_http": by_path.get("push", 0.0), "pull_http": by_path.get("pull", 0.0)}
    split["device"] = seconds - split["push_http"] - split["pull_http"]
    return seconds, clean(report, what), split


def apply_edits(device: Device, edits: Edits) -> None:
    with device.store.transaction():
        for rid, change in edits:
            if device.store.update("resident", rid, change, user_id=device.user_id) is None:
                raise RuntimeError(f"an edit of {rid} changed nothing: {change}")


class Fleet:
    """N GridSweep devices, each living on its own thread (a device's SQLite connection belongs
    to the thread that opened it), all syncing at once when asked."""

    # A phone whose sync failed tries again later; so does each of these (counted in the time,
    # and reported: a 100-device burst can exhaust the server's connection pool).
    RETRIES = 10

    def __init__(
        self, url: str, directory: Path, username: str, count: int, limit: int | None = None
    ) -> None:
        # At most `limit` devices syncing at a time (all at once without it).
        self.gate = threading.BoundedSemaphore(limit or count)
        self.threads = [ThreadPoolExecutor(1, thread_name_prefix=f"dev{d}") for d in range(count)]
        # Signed in one at a time (not timed): a sign-in hashes the password inside a write
        # transaction, and 100 at once on SQLite run out of connections and lock waits.
        self.devices: list[Device] = [
            t.submit(open_device, url, directory / f"fleet-{d}.db", username).result()
            for d, t in enumerate(self.threads)
        ]
        self.failed_syncs = 0  # syncs that failed and were tried again (counted in the time)

    def _all(self, work: Callable[[int], T]) -> list[T]:
        futures: list[Future[T]] = [t.submit(work, d) for d, t in enumerate(self.threads)]
        return [f.result() for f in futures]

    def sync_all(self, *, conflicts_allowed: bool = False) -> tuple[float, list[SyncReport]]:
        """Every device syncs at once; the wall time until the last has finished."""
        started = time.perf_counter()
        reports = self._all(self._sync_one)
        seconds = time.perf_counter() - started
        for report in reports:
            clean(report, "device sync", conflicts_allowed=conflicts_allowed)
        return seconds, reports

    def bootstrap(self, wave: int = 10) -> None:
        """The first download of every device (not timed), `wave` devices at a time: 100 at
        once would only measure how the server's 15 pooled connections queue."""
        for start in range(0, len(self.devices), wave):
            chosen = range(start, min(start + wave, len(self.devices)))
            futures = [self.threads[d].submit(self._sync_one, d) for d in chosen]
            for future in futures:
                clean(future.result(), "device bootstrap")
        self.failed_syncs = 0

    def _sync_one(self, d: int) -> SyncReport:
        for attempt in range(1 + self.RETRIES):
            try:
                with self.gate:
                    report = self.devices[d].client.sync()
            except SyncError as exc:  # offline, or the server answered 5xx to a request
                report = SyncReport(errors=[f"{type(exc).__name__}: {exc}"])
            if not report.errors or attempt == self.RETRIES:
                return report
            self.failed_syncs += 1  # one thread per device: the GIL keeps += whole enough
            time.sleep(1 + attempt)
        raise AssertionError("unreachable")

    def edit(self, edits: list[Edits]) -> None:
        self._all(lambda d: apply_edits(self.devices[d], edits[d]))

    def views(self, ids: list[str]) -> list[str]:
        def view(d: int) -> str:
            store = self.devices[d].store
            return json.dumps(
                [store.get("resident", i).values for i in ids],  # type: ignore[union-attr]
                sort_keys=True,
                ensure_ascii=False,
            )

        return self._all(view)

    def rows(self, ids: list[str]) -> tuple[list[str], list[Any]]:
        """The resident rows of `ids` as the first device holds them (read on its thread)."""
        return self.threads[0].submit(self.devices[0].rows, "resident", ids).result()

    def close(self) -> None:
        self._all(lambda d: self.devices[d].close())
        for t in self.threads:
            t.shutdown()


def open_conflicts(database: Path, ids: list[str]) -> int:
    """Conflicts waiting for an admin on these records, read straight from the server's file."""
    with sqlite3.connect(database) as conn:
        marks = ", ".join("?" for _ in ids)
        row = conn.execute(
            f"SELECT count(*) FROM conflicts WHERE status = 'open' AND record_id IN ({marks})", ids
        ).fetchone()
    return int(row[0])


# --- the peer (Node) --------------------------------------------------------------------------------


@contextmanager
def peer_server(directory: Path) -> Iterator[str]:
    """express-pouchdb on leveldb files in `directory`; yields its URL once it listens."""
    process = subprocess.Popen(
        ["node", str(PEER_DIR / "peer.mjs"), "server", "--dir", str(directory)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=directory,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the peer server exited with status {process.wait()}")
        yield f"http://127.0.0.1:{json.loads(line)['port']}"
    finally:
        stop(process)


class Peer:
    """The Node process holding the peer's devices: one JSON command a line, one answer a line."""

    def __init__(self, url: str, batch_size: int | None) -> None:
        self.process = subprocess.Popen(
            ["node", "--max-old-space-size=4096", str(PEER_DIR / "peer.mjs"), "client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            cwd=PEER_DIR,
        )
        self.call("init", url=url, batch_size=batch_size)

    def call(self, cmd: str, **args: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **args}, ensure_ascii=False) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the peer client exited with status {self.process.wait()}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"peer {cmd} failed: {answer['error']}")
        return answer["result"]

    def sync(self, *devices: str, limit: int | None = None) -> float:
        return float(self.call("sync", devices=list(devices), limit=limit)["seconds"])

    def edit(self, device: str, edits: Edits) -> None:
        self.call("edit", device=device, edits=[{"id": i, "fields": f} for i, f in edits])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        stop(self.process, timeout=30, ask=False)  # closing its stdin asks it to end


# --- the raw floor --------------------------------------------------------------------------------


@contextmanager
def scratch_postgres(url: str) -> Iterator[psycopg.Connection[Any] | None]:
    """A scratch database on the PostgreSQL server (dropped at the end); None if unreachable."""
    name = f"gs_peer_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at {url}: {exc}; no PostgreSQL floor", flush=True)
        yield None
        return
    try:
        with psycopg.connect(f"{url.rpartition('/')[0]}/{name}") as conn:
            yield conn
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_floor_seconds(conn: psycopg.Connection[Any], tables: Tables) -> float:
    """COPY `tables` into new tables in one transaction; the seconds of that transaction."""
    for name, (columns, rows) in tables.items():
        types = [
            "bigint"
            if any(isinstance(r[i], int) for r in rows[:50])
            else "double precision"
            if any(isinstance(r[i], float) for r in rows[:50])
            else "text"
            for i in range(len(columns))
        ]
        spec = ", ".join(
            f'"{c}" {t}' + (" PRIMARY KEY" if c == "id" else "")
            for c, t in zip(columns, types, strict=True)
        )
        conn.execute(f'CREATE TABLE "floor_{name}" ({spec})')
    conn.commit()
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            for name, (columns, rows) in tables.items():
                cols = ", ".join(f'"{c}"' for c in columns)
                with cur.copy(f'COPY "floor_{name}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
        conn.commit()  # synchronous_commit is on: the WAL is flushed, as the server's would be
        return time.perf_counter() - started
    finally:
        for name in tables:
            conn.execute(f'DROP TABLE "floor_{name}"')
        conn.commit()


# --- results ---------------------------------------------------------------------------------------


@dataclass
class Results:
    gridsweep: dict[str, list[float]] = field(default_factory=dict)
    peer: dict[str, list[float]] = field(default_factory=dict)
    floor_sqlite: dict[str, list[float]] = field(default_factory=dict)
    floor_postgresql: dict[str, list[float]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, list[Any]] = field(default_factory=dict)
    split: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def timed(self, key: str, timing: tuple[float, SyncReport, dict[str, float]]) -> SyncReport:
        """Keep a GridSweep sync's seconds and where they went; its report for checks."""
        seconds, report, split = timing
        self.add(self.gridsweep, key, seconds)
        self.split.setdefault(key, []).append(split)
        return report

    def add(self, series: dict[str, list[float]], key: str, seconds: float) -> None:
        series.setdefault(key, []).append(seconds)

    def note(self, key: str, value: Any) -> None:
        self.conflicts.setdefault(key, []).append(value)

    def summary(self, sizes: Sizes, rounds: int, labels: dict[str, str]) -> dict[str, Any]:
        def med(series: dict[str, list[float]], key: str) -> float | None:
            return statistics.median(series[key]) if series.get(key) else None

        workloads = {}
        for key, label in labels.items():
            g, p = med(self.gridsweep, key), med(self.peer, key)
            fs, fp = med(self.floor_sqlite, key), med(self.floor_postgresql, key)
            workloads[key] = {
                "label": label,
                "rows": self.rows.get(key),
                "gridsweep_seconds": g,
                "peer_seconds": p,
                "peer_over_gridsweep": p / g if g and p else None,
                "floor_sqlite_seconds": fs,
                "floor_postgresql_seconds": fp,
                "gridsweep_over_floor_sqlite": g / fs if g and fs else None,
                "gridsweep_over_floor_postgresql": g / fp if g and fp else None,
                # Medians of where a single device's sync went (GridSweep only).
                "gridsweep_split": {
                    part: statistics.median(x[part] for x in self.split[key])
                    for part in ("push_http", "pull_http", "device")
                }
                if self.split.get(key)
                else None,
                "samples": {
                    "gridsweep": self.gridsweep.get(key, []),
                    "peer": self.peer.get(key, []),
                    "floor_sqlite": self.floor_sqlite.get(key, []),
                    "floor_postgresql": self.floor_postgresql.get(key, []),
                },
            }
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rounds": rounds,
            "sizes": sizes.__dict__,
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "node": subprocess.run(
                    ["node", "--version"], capture_output=True, text=True, check=False
                ).stdout.strip(),
                "platform": platform.platform(),
            },
            "workloads": workloads,
            "conflict_round": self.conflicts,
        }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"


def table_lines(summary: dict[str, Any]) -> list[str]:
    """The results as a Markdown table (printed, and pasted into the README)."""
    lines = [
        "| workload | rows | GridSweep | PouchDB | PouchDB / GridSweep "
        "| floor SQLite | floor PostgreSQL | GridSweep x floor (SQLite / PG) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for w in summary["workloads"].values():
        lines.append(
            f"| {w['label']} | {w['rows'] or 0:,} | {_duration(w['gridsweep_seconds'])} "
            f"| {_duration(w['peer_seconds'])} | **{_ratio(w['peer_over_gridsweep'])}** "
            f"| {_duration(w['floor_sqlite_seconds'])} | {_duration(w['floor_postgresql_seconds'])} "
            f"| {_ratio(w['gridsweep_over_floor_sqlite'])} / "
            f"{_ratio(w['gridsweep_over_floor_postgresql'])} |"
        )
    splits = [w for w in summary["workloads"].values() if w.get("gridsweep_split")]
    if splits:
        lines += [
            "",
            "| where a GridSweep sync's time goes (medians) | push requests | pull requests "
            "| device |",
            "| --- | ---: | ---: | ---: |",
        ]
        for w in splits:
            x = w["gridsweep_split"]
            lines.append(
                f"| {w['label']} | {_duration(x['push_http'])} | {_duration(x['pull_http'])} "
                f"| {_duration(x['device'])} |"
            )
    c = summary["conflict_round"]
    if c:
        lines += [
            "",
            "| conflict round (medians over rounds) | GridSweep | PouchDB |",
            "| --- | ---: | ---: |",
            f"| left for a person to settle | {statistics.median(c['gridsweep_open']):.0f} open "
            f"conflicts | {statistics.median(c['peer_documents']):.0f} documents with "
            f"`_conflicts` ({statistics.median(c['peer_revisions']):.0f} losing revisions) |",
            f"| all devices identical afterwards | {_yes(c['gridsweep_identical'])} "
            f"| {_yes(c['peer_identical'])} |",
        ]
    return lines


def _yes(values: list[bool]) -> str:
    return "yes, every round" if all(values) else f"no ({values.count(False)} rounds differ)"


def draw_chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the PNG
    import matplotlib.pyplot as plt

    work = list(summary["workloads"].values())
    series = [
        ("GridSweep", "gridsweep_seconds", "#2b7bba"),
        ("PouchDB + express-pouchdb", "peer_seconds", "#e07b39"),
        ("floor: SQLite executemany", "floor_sqlite_seconds", "#8c8c8c"),
        ("floor: PostgreSQL COPY", "floor_postgresql_seconds", "#cfcfcf"),
    ]
    fig, ax = plt.subplots(figsize=(12, 7), dpi=110)
    width = 0.2
    for s, (name, key, colour) in enumerate(series):
        xs = [i + (s - 1.5) * width for i in range(len(work))]
        # A floor of zero rows (the idle sync's empty transaction) still gets a visible bar.
        ys = [max(w[key] or 0, 1e-4) for w in work]
        ax.bar(xs, ys, width, label=name, color=colour)
    for i, w in enumerate(work):
        ratio = w["peer_over_gridsweep"]
        if ratio:
            # Say who is faster in words: "0.4x" alone is easy to misread.
            text = (
                f"GridSweep\n{ratio:.1f}x faster"
                if ratio >= 1
                else f"PouchDB\n{1 / ratio:.1f}x faster"
            )
            top = max(w["gridsweep_seconds"], w["peer_seconds"])
            ax.annotate(
                text,
                (i - 0.2, top),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=9,
                fontweight="bold",
                color="#2b7bba" if ratio >= 1 else "#c0561c",
            )
    ax.set_yscale("log")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)  # room for the labels above the tallest bars
    ax.set_ylabel("seconds (median, log scale)")
    ax.set_xticks(range(len(work)))
    ax.set_xticklabels([w["label"] for w in work], rotation=12, ha="right")
    rounds = summary["rounds"]
    ax.set_title(
        f"GridSweep sync vs PouchDB replication: medians of {rounds} "
        f"round{'s' if rounds != 1 else ''}, {summary['generated_at'][:10]}, "
        f"{summary['machine']['cpus']} CPUs"
    )
    c = summary["conflict_round"]
    if c:
        ax.text(
            0.01,
            0.98,
            "conflict round, left for a person to settle: GridSweep "
            f"{statistics.median(c['gridsweep_open']):.0f} open conflicts, PouchDB "
            f"{statistics.median(c['peer_documents']):.0f} documents with _conflicts\n"
            "all devices identical afterwards: GridSweep "
            f"{'yes' if all(c['gridsweep_identical']) else 'no'}, PouchDB "
            f"{'yes' if all(c['peer_identical']) else 'no'}",
            transform=ax.transAxes,
            va="top",
            fontsize=9,
        )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=4, fontsize=9)
    ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- the run ---------------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        *,
        sizes: Sizes,
        rounds: int,
        workdir: Path,
        devdir: Path,
        gs_url: str,
        gs_db: Path,
        grids: dict[str, str],
        peer: Peer,
        pg: psycopg.Connection[Any] | None,
        fleet_limit: int | None = None,
    ) -> None:
        self.fleet_limit = fleet_limit
        self.sizes, self.rounds = sizes, rounds
        self.workdir, self.devdir = workdir, devdir
        self.gs_url, self.gs_db, self.grids = gs_url, gs_db, grids
        self.peer, self.pg = peer, pg
        self.people = People(seed=20261128)
        self.results = Results()
        self.labels = dict(WORKLOADS)
        self.labels["push_edits"] = f"push {sizes.edits:,} edits"
        self.labels["pull_changes"] = f"pull {sizes.edits:,} changes"
        self.labels["fleet"] = f"{sizes.devices} devices x {sizes.device_edits} edits"

    def floors(self, key: str, tables: Tables) -> None:
        r = self.results
        r.rows[key] = sum(len(rows) for _, rows in tables.values())
        r.add(r.floor_sqlite, key, floor_seconds(self.workdir / "floor.db", tables))
        if self.pg is not None:
            r.add(r.floor_postgresql, key, pg_floor_seconds(self.pg, tables))

    # The devices' grid, on both systems: made once, bootstrapped by every device (not timed).
    def setup_fleet(self) -> None:
        s = self.sizes
        started = time.perf_counter()
        helper = open_device(self.gs_url, self.devdir / "fleet-maker.db", "w-fleet")
        self.fleet_made = make_grid(
            helper, self.grids["fleet"], s.fleet_households, s.fleet_residents, self.people
        )
        clean(helper.client.sync(), "fleet grid push")
        helper.close()
        self.fleet = Fleet(self.gs_url, self.devdir, "w-fleet", s.devices, self.fleet_limit)
        self.fleet.bootstrap()
        self.peer.call("create_db", db="fleet")
        self.peer.call("new_device", device="fleet-maker", db="fleet")
        self.peer.call("load", device="fleet-maker", docs=self.fleet_made.docs())
        self.peer.sync("fleet-maker")
        self.peer.call("close_device", device="fleet-maker")
        names = [f"f{d}" for d in range(s.devices)]
        for name in names:
            self.peer.call("new_device", device=name, db="fleet")
        self.peer.sync(*names)
        # The first push of a device that has only pulled walks everything it pulled (PouchDB
        # replicates its local changes feed); done here so a round times only its own work.
        self.peer.sync(*names)
        print(
            f"set up {s.devices} devices on both systems in {time.perf_counter() - started:.0f} s",
            flush=True,
        )

    def gridsweep_round(self, r: int) -> None:
        s, res = self.sizes, self.results
        grid = self.grids[f"main{r}"]
        a = open_device(self.gs_url, self.devdir / f"a{r}.db", f"w-main{r}")
        made = make_grid(a, grid, s.households, s.residents, self.people)
        self.made = made
        res.timed("initial_push", timed_sync(a, "initial push"))

        b = open_device(self.gs_url, self.devdir / f"b{r}.db", f"w-main{r}")
        report = res.timed("fresh_pull", timed_sync(b, "fresh pull"))
        if report.received < len(made.records):
            raise RuntimeError(f"the fresh device got {report.received} of {len(made.records)}")
        everything = {e: b.rows(e) for e in ENTITIES}
        self.floors("initial_push", everything)
        self.floors("fresh_pull", everything)

        self.edited = made.ids("resident")[: s.edits]
        self.edits = door_edits(self.edited, r, 0)
        apply_edits(a, self.edits)
        res.timed("push_edits", timed_sync(a, "push edits"))
        report = res.timed("pull_changes", timed_sync(b, "pull changes"))
        if report.received < s.edits:
            raise RuntimeError(f"the pull brought {report.received} of {s.edits} changes")
        edited_rows = {"resident": b.rows("resident", self.edited)}
        self.floors("push_edits", edited_rows)
        self.floors("pull_changes", edited_rows)
        for _ in range(IDLE_SYNCS):
            res.timed("sync_idle", timed_sync(b, "idle sync"))
        self.floors("sync_idle", {})
        for device in (a, b):
            device.close()
            for path in self.devdir.glob(f"{Path(device.path).name}*"):
                path.unlink()

        # The devices of the second grid: 10 different residents each, then all sync twice.
        residents = self.fleet_made.ids("resident")
        self.fleet_edits = [
            door_edits(residents[d * s.device_edits : (d + 1) * s.device_edits], r, d)
            for d in range(s.devices)
        ]
        self.fleet.edit(self.fleet_edits)
        failed = self.fleet.failed_syncs
        first, _ = self.fleet.sync_all()
        second, _ = self.fleet.sync_all()
        res.add(res.gridsweep, "fleet", first + second)
        res.note("gridsweep_fleet_retried_syncs", self.fleet.failed_syncs - failed)
        fleet_ids = residents[: s.devices * s.device_edits]
        self.floors("fleet", {"resident": self.fleet.rows(fleet_ids)})

        # The conflict round: every device edits one of the same few residents.
        initial = {i: v for e, i, v in self.fleet_made.records if e == "resident"}
        k = s.conflict_records
        self.conflict_ids = residents[(r - 1) * k : r * k]
        self.conflict_plan = conflict_edits(s.devices, self.conflict_ids, initial, r)
        self.fleet.edit(self.conflict_plan)
        failed = self.fleet.failed_syncs
        first, reports = self.fleet.sync_all(conflicts_allowed=True)
        second, _ = self.fleet.sync_all(conflicts_allowed=True)
        res.add(res.gridsweep, "conflict_round", first + second)
        res.note("gridsweep_conflict_retried_syncs", self.fleet.failed_syncs - failed)
        res.note("gridsweep_open", open_conflicts(self.gs_db, self.conflict_ids))
        res.note("gridsweep_conflict_results", sum(rep.conflicts for rep in reports))
        res.note("gridsweep_merged_results", sum(rep.merged for rep in reports))
        res.note("gridsweep_identical", len(set(self.fleet.views(self.conflict_ids))) == 1)
        self.floors(
            "conflict_round",
            {"resident": self.fleet.rows(self.conflict_ids)},
        )

    def peer_round(self, r: int) -> None:
        s, res, peer = self.sizes, self.results, self.peer
        db = f"main{r}"
        peer.call("create_db", db=db)
        a, b = f"a{r}", f"b{r}"
        peer.call("new_device", device=a, db=db)
        peer.call("load", device=a, docs=self.made.docs())
        res.add(res.peer, "initial_push", peer.sync(a))
        peer.call("new_device", device=b, db=db)
        res.add(res.peer, "fresh_pull", peer.sync(b))
        # As for the fleet: b's first push walks what it just pulled; a phone does that once.
        peer.sync(b)
        peer.edit(a, self.edits)
        res.add(res.peer, "push_edits", peer.sync(a))
        res.add(res.peer, "pull_changes", peer.sync(b))
        for _ in range(IDLE_SYNCS):
            res.add(res.peer, "sync_idle", peer.sync(b))
        peer.call("close_device", device=a)
        peer.call("close_device", device=b)

        names = [f"f{d}" for d in range(s.devices)]
        for name, edits in zip(names, self.fleet_edits, strict=True):
            peer.edit(name, edits)
        lim = self.fleet_limit
        res.add(res.peer, "fleet", peer.sync(*names, limit=lim) + peer.sync(*names, limit=lim))

        for name, edits in zip(names, self.conflict_plan, strict=True):
            peer.edit(name, edits)
        res.add(
            res.peer,
            "conflict_round",
            peer.sync(*names, limit=lim) + peer.sync(*names, limit=lim),
        )
        found = peer.call("conflicts", db="fleet", ids=self.conflict_ids)
        res.note("peer_documents", found["documents"])
        res.note("peer_revisions", found["revisions"])
        same = peer.call("snapshot", db="fleet", devices=names, ids=self.conflict_ids)
        res.note("peer_identical", same["distinct"] == 1 and same["equal_to_server"])

    def run(self, after_round: Callable[[int], None]) -> None:
        self.setup_fleet()
        for r in range(1, self.rounds + 1):
            lap = time.perf_counter()
            self.gridsweep_round(r)
            self.peer_round(r)
            res = self.results
            retried = res.conflicts["gridsweep_fleet_retried_syncs"][-1]
            retried += res.conflicts["gridsweep_conflict_retried_syncs"][-1]
            print(
                f"round {r}/{self.rounds} ({time.perf_counter() - lap:.0f} s, "
                f"{retried} GridSweep device syncs retried): "
                + ", ".join(
                    f"{key} G {_duration(res.gridsweep[key][-1])} P {_duration(res.peer[key][-1])}"
                    for key in self.labels
                ),
                flush=True,
            )
            after_round(r)

    def close(self) -> None:
        if hasattr(self, "fleet"):
            self.fleet.close()


def tmpfs_dir() -> str | None:
    """/dev/shm when there is one: the device stores live in memory, like the peer's devices."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 round: a smoke run")
    parser.add_argument("--rounds", type=int, help="rounds of G then P (default 5, quick 1)")
    parser.add_argument(
        "--peer-batch-size",
        type=int,
        default=None,
        help="PouchDB replication batch_size (default: PouchDB's own, 100)",
    )
    parser.add_argument(
        "--fleet-concurrency",
        type=int,
        default=None,
        help="at most this many of the devices syncing at a time, on both systems (default: all)",
    )
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json")
    parser.add_argument("--png", type=Path, default=RESULTS / "latest.png")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server for the COPY floor")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    rounds = args.rounds or (1 if args.quick else 5)
    if sizes.fleet_residents < max(
        sizes.devices * sizes.device_edits, rounds * sizes.conflict_records
    ):
        parser.error("the devices' grid has too few residents for these sizes")
    if not (PEER_DIR / "node_modules").is_dir():
        parser.error("run `npm ci` in bench/peer first (make bench-peer does)")
    started = time.perf_counter()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gs-peer-")))
        devdir = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="gs-peer-dev-", dir=tmpfs_dir()))
        )
        gs_db = workdir / "server.db"
        grids = seed_server(gs_db, rounds)
        gs_url = stack.enter_context(
            # A busy machine (other jobs on 2 cores) can take long to import and migrate.
            server_process(f"sqlite:///{gs_db}", cwd=workdir, startup_seconds=180)
        )
        couch = workdir / "couch"
        couch.mkdir()
        peer_url = stack.enter_context(peer_server(couch))
        peer = Peer(peer_url, args.peer_batch_size)
        stack.callback(peer.close)
        pg = stack.enter_context(scratch_postgres(args.pg_url))
        bench = Bench(
            sizes=sizes,
            rounds=rounds,
            workdir=workdir,
            devdir=devdir,
            gs_url=gs_url,
            gs_db=gs_db,
            grids=grids,
            peer=peer,
            pg=pg,
            fleet_limit=args.fleet_concurrency,
        )
        stack.callback(bench.close)

        def save(done: int) -> None:
            # After every round, so a run cut short still leaves the rounds it finished.
            summary = bench.results.summary(sizes, done, bench.labels)
            summary.update(
                quick=args.quick,
                rounds_planned=rounds,
                fleet_concurrency=args.fleet_concurrency or sizes.devices,
                peer_batch_size=args.peer_batch_size,
                seconds_total=time.perf_counter() - started,
            )
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
            draw_chart(summary, args.png)

        bench.run(save)
    summary = json.loads(args.json.read_text())
    print()
    print("\n".join(table_lines(summary)))
    print(
        f"\nmedians of {rounds} round{'s' if rounds != 1 else ''}, measured in this one run on "
        f"{os.cpu_count()} CPUs; floors: the workload's rows written once in one transaction"
    )
    print(f"wrote {args.json} and {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
