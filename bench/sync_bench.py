"""Benchmark a sync end to end: a real device against a real sync server over loopback HTTP.

    uv run python bench/sync_bench.py                    # 5 repetitions, under a minute
    uv run python bench/sync_bench.py --repeat 3 --json sync-bench.json

The server is the FastAPI app under uvicorn in its own process, on a free 127.0.0.1 port, with a
temporary SQLite database migrated and seeded with `seed_demo(scale="small")` (one community, 9
level-5 grids, ~4,500 residents). A device is `field_app.store.Store` in a temporary directory with
`SyncClient` over an `httpx.Client` whose transport counts requests and the bytes of request and
response bodies as they cross the socket (compressed: the client gzips its requests and asks for
gzipped answers).

Workloads, each timed as one `SyncClient.sync()` (push the outbox, then pull until done), with
signing in and making the edits left out of the time:

- bootstrap 1 grid:    a new device of worker wg010101 pulls their level-5 grid;
- bootstrap community: a new device of supervisor gl0101 pulls the whole level-4 community;
- push 1,000 edits:    that device edits the phone or note of 1,000 distinct residents offline,
                       then syncs (the pull that follows every push brings the 1,000 back);
- pull 1,000 changes:  a second gl0101 device edits 1,000 other residents and pushes; the
                       measured device then syncs and pulls them;
- sync, nothing to do: the measured device syncs again, three times in a row.

Each repetition uses a new measured device; the server lives for the whole run, so its change log
grows by 2,000 edits a repetition, as a real server's would.

The raw floor of each workload is the same rows (the records as the device holds them afterwards,
all their columns) written with `executemany` in one transaction into a fresh SQLite file with
the device's settings (WAL, synchronous=FULL); for the sync with nothing to do it is an empty
write transaction. "x floor" is the median time over the median floor, both from this run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from field_app.store import Store
from field_app.sync_client import SyncClient, SyncReport
from shared import heap
from shared.clock import Clock
from sync_server.config import Settings
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.migrate import upgrade
from sync_server.seed.demo import DEMO_PASSWORD, seed_demo

WORKER = "wg010101"  # worker of the first level-5 grid of the demo community
SUPERVISOR = "gl0101"  # supervisor of the whole level-4 community
EDITS = 1_000
IDLE_SYNCS = 3  # samples of the sync with nothing to do per repetition
ENTITIES = ("grid_node", "building", "unit", "house", "resident", "binding")
WORKLOADS = (
    ("bootstrap_grid", "bootstrap 1 grid"),
    ("bootstrap_community", "bootstrap community"),
    ("push_edits", f"push {EDITS:,} edits"),
    ("pull_changes", f"pull {EDITS:,} changes"),
    ("sync_idle", "sync, nothing to do"),
)


# --- counting what crosses the wire ----------------------------------------------------------


@dataclass
class Wire:
    """Requests and body bytes on the wire, and the time spent waiting on the server."""

    requests: int = 0
    sent: int = 0
    received: int = 0
    # From sending a request to the last byte of its answer, by the last part of its path.
    seconds_by_path: dict[str, float] = field(default_factory=dict)

    @property
    def http_seconds(self) -> float:
        return sum(self.seconds_by_path.values())


class _CountingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, wire: Wire, path: str, started: float) -> None:
        self._inner, self._wire, self._path, self._started = inner, wire, path, started

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._wire.received += len(chunk)
            yield chunk
        took = time.perf_counter() - self._started
        by_path = self._wire.seconds_by_path
        by_path[self._path] = by_path.get(self._path, 0.0) + took

    def close(self) -> None:
        self._inner.close()


class CountingTransport(httpx.BaseTransport):
    """Counts requests and bodies as sent and received, i.e. before httpx inflates a response."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.wire = Wire()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        self.wire.requests += 1
        self.wire.sent += len(request.read())
        response = self.inner.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        path = request.url.path.rsplit("/", 1)[-1]
        response.stream = _CountingStream(response.stream, self.wire, path, started)
        return response

    def close(self) -> None:
        self.inner.close()


# --- the server --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def seed_database(path: Path) -> None:
    settings = Settings(env="development", database_url=f"sqlite:///{path}")
    engine = make_engine(settings)
    try:
        upgrade(settings, engine)
        with transaction(make_sessionmaker(engine)) as session:
            seed_demo(session=session, scale="small", now=Clock().now())
    finally:
        engine.dispose()


@contextmanager
def sync_server(database: Path) -> Iterator[str]:
    """uvicorn serving `create_app` on a free loopback port, in its own process; yields its URL."""
    # cwd: the database directory, so no stray .env file is read.
    with server_process(f"sqlite:///{database}", cwd=database.parent) as url:
        yield url


@contextmanager
def server_process(
    database_url: str,
    *,
    cwd: Path,
    workers: int = 1,
    env: dict[str, str] | None = None,
    startup_seconds: float = 30,
    log_level: str = "warning",
) -> Iterator[str]:
    """uvicorn serving `create_app` on `database_url` on a free loopback port, in its own process
    (with `workers` worker processes); yields its URL once the health check answers."""
    port = _free_port()
    env = {
        **os.environ,
        "GRIDSWEEP_ENV": "development",
        **(env or {}),
        "DATABASE_URL": database_url,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "sync_server.main:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        log_level,
        "--no-access-log",
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the sync server exited with status {process.returncode}")
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1, trust_env=False).is_success:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the sync server did not answer its health check in {startup_seconds:.0f} s"
                )
            time.sleep(0.1)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen[Any], *, timeout: float = 10, ask: bool = True) -> None:
    """End a child process: ask it to stop (SIGTERM unless `ask` is False, when the caller has
    asked another way), then kill it if it has not gone within `timeout` seconds."""
    if ask:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- devices -------------------------------------------------------------------------------------


class Device:
    """A phone: its own store file and a sync client whose HTTP is counted."""

    def __init__(self, url: str, path: Path, username: str, *, timeout: float = 5.0) -> None:
        self.path = path
        self.transport = CountingTransport(httpx.HTTPTransport())
        self.http = httpx.Client(
            base_url=url, transport=self.transport, trust_env=False, timeout=timeout
        )
        self.store = Store.open(path)
        self.client = SyncClient(self.http, self.store, app_version="bench")
        self.client.login(username, DEMO_PASSWORD, device_name=f"bench {path.stem}")
        self.user_id = self.store.meta.user_id or ""
        heap.settle()  # as the app does once it has started (field_app.main.Device)

    def timed_sync(self) -> tuple[float, SyncReport, Wire]:
        self.transport.wire = Wire()
        started = time.perf_counter()
        report = self.client.sync()
        elapsed = time.perf_counter() - started
        if report.errors or report.rejected or report.conflicts:
            raise RuntimeError(f"the sync did not go cleanly: {report}")
        return elapsed, report, self.transport.wire

    def resident_ids(self, offset: int, count: int) -> list[str]:
        rows = self.store.db.execute(
            "SELECT id FROM resident WHERE deleted = 0 ORDER BY id LIMIT ? OFFSET ?",
            [count, offset],
        ).fetchall()
        if len(rows) < count:
            raise RuntimeError(f"the device holds fewer than {offset + count} residents")
        return [row[0] for row in rows]

    def edit_residents(self, ids: list[str], run: int) -> None:
        """Offline edits a worker would make at the door: a new phone, or a note.

        The values depend on `run`, so editing the same residents in a later run changes them.
        """
        for i, record_id in enumerate(ids):
            change = (
                {"phone": f"139{run % 100:02d}{i:06d}"}
                if i % 2 == 0
                else {"note": f"入户核查 第{run}轮 #{i}"}
            )
            op = self.store.update("resident", record_id, change, user_id=self.user_id)
            if op is None:
                raise RuntimeError(f"edit {i} of run {run} changed nothing")

    def rows(self, entity: str, ids: list[str] | None = None) -> tuple[list[str], list[Any]]:
        """The view rows of `entity` (of `ids` only, when given) with their column names."""
        sql = f"SELECT * FROM [{entity}]"
        params: list[Any] = []
        if ids is not None:
            sql += " WHERE id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps(ids))
        cursor = self.store.db.execute(sql, params)
        return [d[0] for d in cursor.description], cursor.fetchall()

    def close(self) -> None:
        self.store.close()
        self.http.close()


# --- the raw floor -------------------------------------------------------------------------------

Tables = dict[str, tuple[list[str], list[Any]]]


def floor_seconds(path: Path, tables: Tables) -> float:
    """Write `tables` with executemany in one transaction into a fresh file; the seconds taken."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        for name, (columns, _) in tables.items():
            spec = ", ".join(f"[{c}]" + (" PRIMARY KEY" if c == "id" else "") for c in columns)
            conn.execute(f"CREATE TABLE [{name}] ({spec})")
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        for name, (columns, rows) in tables.items():
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO [{name}] VALUES ({marks})", rows)
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- results ----------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rows: int  # operations pushed, else records pulled
    pulled: int
    requests: int
    sent: int
    received: int
    http_seconds: float
    floor_seconds: float
    seconds_by_path: dict[str, float]


@dataclass
class Series:
    key: str
    label: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, get: Callable[[Sample], float]) -> float:
        return statistics.median(get(s) for s in self.samples)

    def summary(self) -> dict[str, Any]:
        seconds = [s.seconds for s in self.samples]
        median = statistics.median(seconds)
        floor = self.median(lambda s: s.floor_seconds)
        rows = int(self.median(lambda s: s.rows))
        return {
            "label": self.label,
            "rows": rows,
            "seconds": {"median": median, "min": min(seconds), "max": max(seconds)},
            "rows_per_second": rows / median if rows and median > 0 else None,
            "requests": self.median(lambda s: s.requests),
            "bytes_sent": self.median(lambda s: s.sent),
            "bytes_received": self.median(lambda s: s.received),
            "http_seconds": self.median(lambda s: s.http_seconds),
            "http_seconds_by_path": {
                path: statistics.median(s.seconds_by_path.get(path, 0.0) for s in self.samples)
                for path in sorted({p for s in self.samples for p in s.seconds_by_path})
            },
            "records_pulled": self.median(lambda s: s.pulled),
            "floor_seconds": floor,
            "ratio_to_floor": median / floor if floor > 0 else None,
            "samples": [asdict(s) for s in self.samples],
        }


def _size(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n:.0f} B"


def _duration(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def print_table(series: list[Series], repeat: int) -> None:
    header = (
        f"{'workload':<21}{'rows':>7}{'median':>11}{'min':>11}{'max':>11}{'rows/s':>9}"
        f"{'req':>5}{'sent':>11}{'received':>11}{'in HTTP':>9}{'floor':>10}{'x floor':>9}"
    )
    runs = f"{repeat} run{'s' if repeat != 1 else ''}"
    print(
        f"\nmedian, min and max of {runs} ({IDLE_SYNCS} samples a run for the sync with nothing "
        "to do); sent and received: body bytes on the wire (gzip)"
    )
    print(header)
    print("-" * len(header))
    for s in series:
        d = s.summary()
        rate = f"{d['rows_per_second']:,.0f}" if d["rows_per_second"] else "-"
        http_share = d["http_seconds"] / d["seconds"]["median"]
        ratio = d["ratio_to_floor"]
        print(
            f"{d['label']:<21}{d['rows']:>7,}{_duration(d['seconds']['median']):>11}"
            f"{_duration(d['seconds']['min']):>11}{_duration(d['seconds']['max']):>11}"
            f"{rate:>9}{d['requests']:>5.0f}{_size(d['bytes_sent']):>11}"
            f"{_size(d['bytes_received']):>11}{http_share:>9.0%}"
            f"{_duration(d['floor_seconds']):>10}"
            f"{(f'{ratio:,.0f}x' if ratio is not None else '-'):>9}"
        )
    print(
        "rows      records pulled, or for the push the operations pushed\n"
        "in HTTP   share of the time spent waiting on requests (server and loopback); "
        "the rest is the device\n"
        "floor     the same rows by executemany in one transaction into a fresh SQLite file\n"
        "x floor   median time / median floor"
    )
    for s in series:
        d = s.summary()
        if s.key == "push_edits":
            by_path = d["http_seconds_by_path"]
            device = d["seconds"]["median"] - d["http_seconds"]
            print(
                f"{d['label']}: push requests {_duration(by_path.get('push', 0.0))}, "
                f"the pull that follows (bringing {d['records_pulled']:,.0f} records back) "
                f"{_duration(by_path.get('pull', 0.0))}, device {_duration(device)}"
            )


# --- the run ------------------------------------------------------------------------------------


class Bench:
    """One run: the server, the helper device, and the samples of every workload."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        self.series = {key: Series(key, label) for key, label in WORKLOADS}
        self.edit_seconds: list[float] = []
        # The other phone of the pull workload: gl0101 on a second device, kept up to date.
        self.other = Device(url, directory / "other.db", SUPERVISOR)
        self.other.client.sync()

    def measure(self, key: str, device: Device, tables: Callable[[], Tables]) -> None:
        seconds, report, wire = device.timed_sync()
        floor = floor_seconds(self.directory / "floor.db", tables())
        self.series[key].samples.append(
            Sample(
                seconds=seconds,
                rows=report.sent or report.received,
                pulled=report.received,
                requests=wire.requests,
                sent=wire.sent,
                received=wire.received,
                http_seconds=wire.http_seconds,
                floor_seconds=floor,
                seconds_by_path=dict(wire.seconds_by_path),
            )
        )

    def edit(self, device: Device, ids: list[str], run: int) -> None:
        started = time.perf_counter()
        device.edit_residents(ids, run)
        self.edit_seconds.append(time.perf_counter() - started)

    def repetition(self, index: int) -> None:
        def everything(device: Device) -> Tables:
            return {e: device.rows(e) for e in ENTITIES}

        worker = Device(self.url, self.directory / f"worker-{index}.db", WORKER)
        self.measure("bootstrap_grid", worker, lambda: everything(worker))
        worker.close()

        # A new supervisor device: bootstrapped here, then the device of the other workloads.
        device = Device(self.url, self.directory / f"supervisor-{index}.db", SUPERVISOR)
        self.measure("bootstrap_community", device, lambda: everything(device))

        pushed = device.resident_ids(0, EDITS)
        self.edit(device, pushed, index)
        self.measure("push_edits", device, lambda: {"resident": device.rows("resident", pushed)})

        self.other.client.sync()  # catch up (brings the edits just pushed), so no merges
        pulled = self.other.resident_ids(EDITS, EDITS)  # 1,000 other residents
        self.other.edit_residents(pulled, index)
        self.other.client.sync()
        self.measure("pull_changes", device, lambda: {"resident": device.rows("resident", pulled)})

        for _ in range(IDLE_SYNCS):  # cheap, so a few in a row: the first may pay a checkpoint
            self.measure("sync_idle", device, dict)
        device.close()
        for path in self.directory.glob(f"*-{index}.db*"):
            path.unlink()

    def close(self) -> None:
        self.other.close()


def run(repeat: int, directory: Path) -> tuple[list[Series], list[float]]:
    database = directory / "server.db"
    started = time.perf_counter()
    seed_database(database)
    print(f"seeded the small demo grid in {time.perf_counter() - started:.1f} s", flush=True)
    with sync_server(database) as url:
        bench = Bench(url, directory)
        try:
            for index in range(1, repeat + 1):
                lap = time.perf_counter()
                bench.repetition(index)
                print(
                    f"run {index}/{repeat}: {time.perf_counter() - lap:.1f} s "
                    + ", ".join(
                        f"{s.key} {_duration(s.samples[-1].seconds)}" for s in bench.series.values()
                    ),
                    flush=True,
                )
        finally:
            bench.close()
    return list(bench.series.values()), bench.edit_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each workload (median)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    with tempfile.TemporaryDirectory(prefix="gs-sync-bench-") as directory:
        series, edit_seconds = run(args.repeat, Path(directory))
    print_table(series, args.repeat)
    edits = statistics.median(edit_seconds)
    print(
        f"not timed above: making {EDITS:,} offline edits on a device took {_duration(edits)} "
        f"(median), {EDITS / edits:,.0f} edits/s"
    )
    if args.json:
        results = {
            "repeat": args.repeat,
            "scale": "small",
            "workloads": {s.key: s.summary() for s in series},
            "offline_edits_seconds": edit_seconds,
        }
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
