"""Benchmark `seed_demo`: seed a scale into a fresh, migrated database and report rows per second.

    uv run python bench/seed_bench.py                      # district into a temporary SQLite file
    uv run python bench/seed_bench.py --repeat 3 --scale small
    uv run python bench/seed_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test

With --database-url the server is only used to create a scratch database (gs_bench_<hex>), which
is dropped afterwards; nothing in the named database is touched. Each run times the whole seed
including the commit, and, per table, the time spent inside INSERT statements, so the generator's
own cost is the difference. With --repeat N the run with the median time is reported in full.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from shared.clock import Clock
from sync_server.config import Settings
from sync_server.db import insert_rows, make_engine, make_sessionmaker, transaction
from sync_server.migrate import upgrade
from sync_server.seed import demo as demo_module
from sync_server.seed.demo import seed_demo

_INSERT = re.compile(r"^\s*INSERT INTO (\w+)", re.IGNORECASE)


@dataclass
class Run:
    elapsed: float
    rows: dict[str, int] = field(default_factory=dict)
    insert_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@contextmanager
def scratch_database(database_url: str | None) -> Iterator[Settings]:
    """A new empty database: a temporary SQLite file, or a scratch PostgreSQL database."""
    if database_url is None:
        with tempfile.TemporaryDirectory(prefix="gs-bench-") as directory:
            yield Settings(env="development", database_url=f"sqlite:///{directory}/bench.db")
        return
    name = f"gs_bench_{secrets.token_hex(4)}"
    server = make_url(database_url)
    admin_dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        yield Settings(env="development", database_url=url)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _time_inserts(engine: Engine, run: Run) -> None:
    """Attribute time spent in INSERT statements to their table, and count the rows."""
    started: dict[int, float] = {}
    seconds: defaultdict[str, float] = defaultdict(float)
    rows: defaultdict[str, int] = defaultdict(int)

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool
    ) -> None:
        match = _INSERT.match(statement)
        if match:
            table = match.group(1).strip('"')
            seconds[table] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            rows[table] += len(params) if executemany else 1

    run.insert_seconds, run.rows = seconds, rows

    # On PostgreSQL the seed COPYs its rows on the raw connection, which no event sees.
    if engine.dialect.name == "postgresql":

        def timed(session: Any, table: Any, batch: list[dict[str, Any]]) -> None:
            began = time.perf_counter()
            insert_rows(session, table, batch)
            seconds[table.name] += time.perf_counter() - began
            rows[table.name] += len(batch)

        demo_module.insert_rows = timed  # type: ignore[assignment]


def bench_once(database_url: str | None, scale: str, seed: int) -> Run:
    with scratch_database(database_url) as settings:
        engine = make_engine(settings)
        try:
            upgrade(settings, engine)
            run = Run(elapsed=0.0)
            _time_inserts(engine, run)
            start = time.perf_counter()
            with transaction(make_sessionmaker(engine)) as session:
                seed_demo(session=session, scale=scale, seed=seed, now=Clock().now())  # type: ignore[arg-type]
            run.elapsed = time.perf_counter() - start
            return run
        finally:
            engine.dispose()


def print_run(run: Run, label: str) -> None:
    print(f"\n{label}: {run.elapsed:.1f} s, {run.total_rows:,} rows, ", end="")
    print(f"{run.total_rows / run.elapsed:,.0f} rows/s overall")
    print(f"{'table':<12}{'rows':>10}{'insert s':>10}{'rows/s in INSERT':>18}")
    for table, count in sorted(run.rows.items(), key=lambda kv: -kv[1]):
        seconds = run.insert_seconds.get(table, 0.0)
        rate = f"{count / seconds:,.0f}" if seconds > 0 else "-"
        print(f"{table:<12}{count:>10,}{seconds:>10.2f}{rate:>18}")
    inserting = sum(run.insert_seconds.values())
    print(f"{'(inserts)':<12}{run.total_rows:>10,}{inserting:>10.2f}")
    print(
        f"outside INSERTs/COPY (generating rows, binding parameters, commit): {run.elapsed - inserting:.1f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scale", choices=("small", "district"), default="district")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--repeat", type=int, default=1, help="runs; the median is reported")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server to create a scratch database on (default: temporary SQLite)",
    )
    args = parser.parse_args(argv)
    backend = make_url(args.database_url).get_backend_name() if args.database_url else "sqlite"
    runs: list[Run] = []
    for index in range(1, args.repeat + 1):
        run = bench_once(args.database_url, args.scale, args.seed)
        runs.append(run)
        print(
            f"run {index}/{args.repeat}: {run.elapsed:.1f} s, "
            f"{run.total_rows / run.elapsed:,.0f} rows/s",
            flush=True,
        )
    median = statistics.median(r.elapsed for r in runs)
    middle = min(runs, key=lambda r: abs(r.elapsed - median))
    print_run(middle, f"{args.scale} on {backend}, median of {len(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
