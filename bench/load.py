"""Load benchmark: many devices syncing at once against a server of several processes.

    uv run python bench/load.py                          # 600 devices, SQLite then PostgreSQL
    uv run python bench/load.py --devices 120 --backend postgresql --workers 2
    uv run python bench/load.py --json load.json

Not a test: it prints throughput, latency percentiles and errors, and then checks the database.

The server is `create_app` under `uvicorn --workers K` (K processes on one port) on a fresh
database migrated and seeded with `seed_demo(scale="small")` (one community, 9 level-5 grids,
~4,500 residents, one worker account a grid): a temporary SQLite file, or a new database on the
PostgreSQL server named by --pg-url (dropped afterwards). With 9 workers, device d belongs to
worker d mod 9: a worker's several phones.

Each device, in a thread pool of --concurrency threads, does what a phone does on a working day:
signs in, bootstraps its grid (a sync), makes --edits offline edits (a new phone number or a
note on residents of its grid), and syncs (pushes them, then pulls what others pushed meanwhile).
Every (resident, field) is edited by exactly one device, so every edit must apply cleanly.

`--end-of-day` times only the end of a working day: every phone first signs in and downloads its
grid (untimed), then all phones make their edits and sync at once; the time to the last phone
done, request latencies and errors are of that part alone.

At the end the database must hold every operation the devices made exactly once (by op_id,
nothing lost, nothing applied twice) and each edited field's final value. Devices and server
share the machine: on 2 cores the device side (SQLite stores, JSON) takes a good share of the CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import func, select

from shared.clock import Clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_bench import server_process
from field_app.store import Store
from field_app.sync_client import SyncClient
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.migrate import upgrade
from sync_server.models import OperationLog, Resident
from sync_server.seed.demo import DEMO_PASSWORD, seed_demo

SECRET = "load-bench-secret-0123456789-abcdefghij"
FIELDS = ("phone", "note")


# --- timing every request -----------------------------------------------------------------------


@dataclass
class Timings:
    """Seconds of every request by kind (the last part of its path), and failures, all threads."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    device_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    gave_up: list[str] = field(default_factory=list)  # still failing after every retry
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.by_kind[kind].append(seconds)

    def retry(self) -> None:
        with self.lock:
            self.retries += 1

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


class TimingTransport(httpx.BaseTransport):
    def __init__(self, timings: Timings) -> None:
        self.inner = httpx.HTTPTransport()
        self.timings = timings

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = self.inner.handle_request(request)
        response.read()
        kind = request.url.path.rsplit("/", 1)[-1]
        self.timings.add(kind, time.perf_counter() - started)
        if response.status_code >= 500:
            self.timings.error(f"{kind}: HTTP {response.status_code}")
        return response

    def close(self) -> None:
        self.inner.close()


# --- the database -------------------------------------------------------------------------------


@contextmanager
def database(backend: str, pg_url: str, workdir: Path) -> Iterator[str]:
    """A fresh migrated and seeded database of `backend`; yields its URL."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'load.db'}"
        return
    name = f"gs_load_{uuid.uuid4().hex[:10]}"
    base = pg_url.rpartition("/")[0]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str) -> list[str]:
    """Migrate and seed the small demo community; the worker usernames."""
    settings = Settings(env="development", database_url=url)
    engine = make_engine(settings)
    try:
        upgrade(settings, engine)
        with transaction(make_sessionmaker(engine)) as session:
            report = seed_demo(session=session, scale="small", now=Clock().now())
    finally:
        engine.dispose()
    return sorted(login.username for login in report.logins if login.role == "worker")


# --- one device ---------------------------------------------------------------------------------


@dataclass
class Written:
    """What the devices wrote: op ids and the final value of every (resident, field)."""

    op_ids: list[str] = field(default_factory=list)
    values: dict[tuple[str, str], str] = field(default_factory=dict)
    # Still in a device's outbox at the end (its syncs failed): not lost, it would push them later.
    unsent: set[str] = field(default_factory=set)
    op_of: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Phone:
    """One device of the run: signs in and bootstraps (`start`), then works its day (`day`):
    `edits` offline edits of its share of the grid's (resident, field) pairs and one sync.
    `slot` of `phones_of_worker` picks the share, so no two phones edit the same pair."""

    def __init__(
        self,
        index: int,
        *,
        url: str,
        username: str,
        slot: int,
        phones_of_worker: int,
        edits: int,
        workdir: Path,
        timings: Timings,
        written: Written,
        retries: int,
    ) -> None:
        self.index, self.username, self.slot = index, username, slot
        self.phones_of_worker, self.edits, self.retries = phones_of_worker, edits, retries
        self.timings, self.written = timings, written
        self.path = workdir / f"device-{index}.db"
        self.transport = TimingTransport(timings)
        self.http = httpx.Client(base_url=url, transport=self.transport, timeout=120)
        self.store: Store | None = None
        self.ready = False

    def open(self) -> None:
        """Open the phone's store in the calling thread (SQLite connections stay in theirs)."""
        self.store = Store.open(self.path)
        self.client = SyncClient(self.http, self.store, app_version="load")  # token: in the store

    def measure_with(self, timings: Timings) -> None:
        """Count this phone's requests and failures in `timings` from now on."""
        self.timings = self.transport.timings = timings

    def start(self, *, keep_open: bool = True) -> None:
        self.open()
        try:

            def sign_in() -> bool:
                self.client.login(self.username, DEMO_PASSWORD, device_name=f"load {self.index}")
                return True

            label = f"device {self.index}"
            self.ready = _with_retries(
                sign_in, f"{label} sign-in", self.retries, self.timings
            ) and _with_retries(
                lambda: self._sync("bootstrap"), f"{label} bootstrap", self.retries, self.timings
            )
        except Exception as exc:
            self.timings.error(f"device {self.index}: {type(exc).__name__}: {exc}")
        if not keep_open:
            self.close_store()

    def day(self) -> None:
        if not self.ready:
            return
        try:
            self._edit()
            _with_retries(
                lambda: self._sync("push"), f"device {self.index} push", self.retries, self.timings
            )
            with self.written.lock:
                self.written.unsent.update(op.op_id for op in self.store.pending_ops())
        except Exception as exc:
            self.timings.error(f"device {self.index}: {type(exc).__name__}: {exc}")

    def _edit(self) -> None:
        store, index = self.store, self.index
        user_id = store.meta.user_id or ""
        residents = [
            row[0]
            for row in store.db.execute(
                "SELECT id FROM resident WHERE deleted = 0 ORDER BY id"
            ).fetchall()
        ]
        pairs = [(r, f) for f in FIELDS for r in residents]
        mine = pairs[self.slot :: self.phones_of_worker][: self.edits]
        if len(mine) < self.edits:
            raise RuntimeError(
                f"{self.username}'s grid has too few residents for {self.phones_of_worker} "
                f"phones x {self.edits} edits; lower --edits or --devices"
            )
        ops, values, op_of = [], {}, {}
        for k, (rid, name) in enumerate(mine):
            value = f"139{index % 10_000:04d}{k:04d}" if name == "phone" else f"走访 {index}#{k}"
            op = store.update("resident", rid, {name: value}, user_id=user_id)
            if op is None:
                raise RuntimeError(f"edit {k} of device {index} changed nothing")
            ops.append(op.op_id)
            values[(rid, name)] = value
            op_of[(rid, name)] = op.op_id
        with self.written.lock:
            self.written.op_ids.extend(ops)
            self.written.values.update(values)
            self.written.op_of.update(op_of)

    def _sync(self, step: str) -> bool:
        report = self.client.sync()
        if report.errors or report.rejected or report.conflicts:
            self.timings.error(f"device {self.index} {step}: {report}")
            return False
        return True

    def close_store(self) -> None:
        """Close the store, in the thread that opened it."""
        if self.store is not None:
            self.store.close()
            self.store = None

    def close(self) -> None:
        self.close_store()
        self.http.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def run_device(phone: Phone) -> None:
    """A whole working day from a new phone: sign in, bootstrap, edit offline, sync."""
    started = time.perf_counter()
    try:
        phone.start()
        phone.day()
    finally:
        phone.close()
        with phone.timings.lock:
            phone.timings.device_seconds.append(time.perf_counter() - started)


def end_of_day(phone: Phone) -> None:
    """The timed part of the end-of-day mode: the phone already holds its grid."""
    phone.open()  # the app is open: not part of the time
    started = time.perf_counter()
    try:
        phone.day()
    finally:
        with phone.timings.lock:
            phone.timings.device_seconds.append(time.perf_counter() - started)
        phone.close_store()


def _with_retries(action: Callable[[], bool], label: str, retries: int, timings: Timings) -> bool:
    """A phone whose sign-in or sync failed tries again a little later; so does this one."""
    for attempt in range(1 + retries):
        try:
            if action():
                return True
        except Exception as exc:  # the sync client raises on sign-in and HTTP failures
            timings.error(f"{label}: {type(exc).__name__}: {exc}")
        if attempt < retries:
            timings.retry()
            time.sleep(1 + attempt)
    with timings.lock:
        timings.gave_up.append(label)
    return False


# --- checking the end state ---------------------------------------------------------------------


def check(url: str, written: Written) -> list[str]:
    """Every op id exactly once in `operations`, every edited field's final value present."""
    problems = []
    chunk = 5_000
    engine = make_engine(Settings(env="development", database_url=url))
    try:
        with make_sessionmaker(engine)() as session:
            counts: dict[str, int] = {}
            statuses: dict[str, int] = defaultdict(int)
            for i in range(0, len(written.op_ids), chunk):
                rows = session.execute(
                    select(OperationLog.op_id, OperationLog.status, func.count())
                    .where(OperationLog.op_id.in_(written.op_ids[i : i + chunk]))
                    .group_by(OperationLog.op_id, OperationLog.status)
                ).all()
                for op_id, status, n in rows:
                    counts[op_id] = counts.get(op_id, 0) + n
                    statuses[status] += n
            missing = [op for op in written.op_ids if op not in counts and op not in written.unsent]
            twice = [op for op, n in counts.items() if n != 1]
            if missing:
                problems.append(f"{len(missing)} operations lost (e.g. {missing[0]})")
            if twice:
                problems.append(f"{len(twice)} operations recorded more than once")
            if len(set(written.op_ids)) != len(written.op_ids):
                problems.append("devices generated a duplicate op id")
            print(f"  operations by status: {dict(statuses)}")
            by_id: dict[str, Resident] = {}
            ids = sorted({rid for rid, _ in written.values})
            for i in range(0, len(ids), chunk):
                query = select(Resident).where(Resident.id.in_(ids[i : i + chunk]))
                by_id.update((row.id, row) for row in session.scalars(query))
            wrong = [
                (rid, name)
                for (rid, name), value in written.values.items()
                if written.op_of[(rid, name)] not in written.unsent
                and (rid not in by_id or getattr(by_id[rid], name) != value)
            ]
            if wrong:
                problems.append(
                    f"{len(wrong)} edited fields lack their final value (e.g. {wrong[0]})"
                )
    finally:
        engine.dispose()
    return problems


# --- a run ----------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gs-load-") as tmp:
        workdir = Path(tmp)
        with database(backend, args.pg_url, workdir) as url:
            seeded = time.perf_counter()
            workers = seed(url)
            print(
                f"\n{backend}: seeded {len(workers)} worker grids in {time.perf_counter() - seeded:.1f} s"
            )
            phones_of_worker = -(-args.devices // len(workers))
            timings, written = Timings(), Written()
            env = {"GRIDSWEEP_ENV": "production", "GRIDSWEEP_SECRET_KEY": SECRET}
            with server_process(
                url,
                cwd=workdir,
                workers=args.workers,
                env=env,
                startup_seconds=60,
                log_level="critical",  # failures are counted on the device side
            ) as server_url:
                phones = [
                    Phone(
                        d,
                        url=server_url,
                        username=workers[d % len(workers)],
                        slot=d // len(workers),
                        phones_of_worker=phones_of_worker,
                        edits=args.edits,
                        workdir=workdir,
                        timings=timings,
                        written=written,
                        retries=args.retries,
                    )
                    for d in range(args.devices)
                ]
                if args.end_of_day:
                    # Not timed: every phone signs in and downloads its grid in the morning.
                    setup = time.perf_counter()
                    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                        list(pool.map(lambda p: p.start(keep_open=False), phones))
                    print(
                        f"  morning: {len(phones)} phones hold their grids after "
                        f"{time.perf_counter() - setup:.1f} s (not timed)"
                    )
                    morning, morning_errors = timings, len(timings.errors)
                    timings = Timings()
                    for phone in phones:
                        phone.measure_with(timings)
                    if morning_errors:
                        print(f"  morning errors: {morning_errors}, e.g. {morning.errors[0]}")
                        timings.error(f"{morning_errors} errors in the morning bootstrap")
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
                    list(pool.map(end_of_day if args.end_of_day else run_device, phones))
                elapsed = time.perf_counter() - started
                for phone in phones:
                    if args.end_of_day:
                        phone.close()
            problems = check(url, written)
    requests = sum(len(v) for v in timings.by_kind.values())
    summary: dict[str, Any] = {
        "mode": "end of day" if args.end_of_day else "whole day",
        "backend": backend,
        "devices": args.devices,
        "workers": args.workers,
        "concurrency": args.concurrency,
        "edits_per_device": args.edits,
        "seconds": elapsed,
        "requests": requests,
        "requests_per_second": requests / elapsed,
        "operations": len(written.op_ids),
        "operations_per_second": len(written.op_ids) / elapsed,
        "devices_per_second": args.devices / elapsed,
        "latency": {
            kind: {
                "count": len(v),
                "p50": percentile(v, 50),
                "p95": percentile(v, 95),
                "p99": percentile(v, 99),
                "max": max(v),
            }
            for kind, v in sorted(timings.by_kind.items())
        },
        "device_seconds": {
            "p50": percentile(timings.device_seconds, 50),
            "p95": percentile(timings.device_seconds, 95),
            "p99": percentile(timings.device_seconds, 99),
        },
        "errors": len(timings.errors),
        "retries": timings.retries,
        "gave_up": len(timings.gave_up),
        "retries_allowed": args.retries,
        "unsent_operations": len(written.unsent),
        "error_examples": timings.errors[:5],
        "problems": problems,
    }
    print_summary(summary)
    return summary


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def print_summary(s: dict[str, Any]) -> None:
    print(
        f"{s['backend']}: {s['devices']} devices ({s['concurrency']} at a time), "
        f"{s['workers']} server processes, {s['edits_per_device']} edits each: "
        f"{s['seconds']:.1f} s"
    )
    print(
        f"  throughput: {s['requests_per_second']:.1f} requests/s, "
        f"{s['operations_per_second']:.1f} operations pushed/s, "
        f"{s['devices_per_second']:.2f} devices/s"
    )
    print(f"  {'request':<10}{'count':>7}{'p50':>10}{'p95':>10}{'p99':>10}{'max':>10}")
    for kind, lat in s["latency"].items():
        print(
            f"  {kind:<10}{lat['count']:>7}{_ms(lat['p50']):>10}{_ms(lat['p95']):>10}"
            f"{_ms(lat['p99']):>10}{_ms(lat['max']):>10}"
        )
    d = s["device_seconds"]
    what = (
        "a phone's day (edit, sync)"
        if s["mode"] == "end of day"
        else "a whole device (sign in, bootstrap, edit, sync)"
    )
    print(f"  {what}: p50 {_ms(d['p50'])}, p95 {_ms(d['p95'])}, p99 {_ms(d['p99'])}")
    print(
        f"  errors: {s['errors']} (failed sign-ins, syncs or 5xx answers; {s['retries']} retried, "
        f"{s['gave_up']} still failing after {s['retries_allowed']} retries, "
        f"{s['unsent_operations']} operations still in an outbox at the end)"
        + (f", e.g. {s['error_examples'][0]}" if s["errors"] else "")
    )
    if s["problems"]:
        print("  CHECK FAILED: " + "; ".join(s["problems"]))
    else:
        print(
            f"  check: all {s['operations']:,} operations recorded exactly once, every edited "
            "field holds its final value"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=600)
    parser.add_argument("--edits", type=int, default=10, help="offline edits a device makes")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--concurrency", type=int, default=48, help="devices syncing at once")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/test",
        help="a PostgreSQL database to connect to for creating the bench database",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="times a device retries a failed sync"
    )
    parser.add_argument(
        "--end-of-day",
        action="store_true",
        help="time only the day's edits and one sync of each phone; the morning's sign-in and "
        "bootstrap of every phone happens first, untimed",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = [run(b, args) for b in backends]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 1 if any(r["problems"] or r["gave_up"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
