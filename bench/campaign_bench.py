"""Benchmark campaigns on the server: progress over the district, and completion import speed.

    uv run python bench/campaign_bench.py                    # both parts, SQLite and PostgreSQL
    uv run python bench/campaign_bench.py --only progress    # district progress (SQLite)
    uv run python bench/campaign_bench.py --only import --import-rows 500000 --repeat 3

progress: seeds the district (~270,000 residents, ~35 s) into a temporary SQLite database,
creates a testing campaign over the whole district, imports ~2,100,000 completion rows (repeat
tests: most people several times, about one in ten never) and ~30,000 doorstep outcomes, then
times the progress computation (`sweep_under` + the roll-up to every level, what
GET /campaigns/{id}/progress does) at the district, a town, a community and a grid, and the
missed-list export of one community. The import itself is timed too.

import: seeds the small demo community into a scratch database on each backend and imports the
same generated file (--import-rows rows over its ~4,500 residents), first into an empty
campaign, then again (every row a duplicate). PostgreSQL loads by COPY, SQLite by batched
INSERT OR IGNORE. The PostgreSQL server given by --database-url is only used to create and drop a
scratch database (gs_bench_<hex>).

Medians over --repeat runs are printed, with ratios.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from seed_bench import scratch_database
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.campaigns import NewCampaign
from shared.clock import CHINA_TIME, Clock
from sync_server.db import make_engine, make_sessionmaker, transaction
from sync_server.exports.missed import missed_xlsx
from sync_server.importer.completions import CompletionReport, import_completions
from sync_server.migrate import upgrade
from sync_server.models import Campaign, GridNode, Outcome, Resident, User
from sync_server.queries.campaign_progress import missed_rows, sweep_under
from sync_server.seed.demo import seed_demo
from sync_server.services.campaigns import create_campaign
from sync_server.services.changes import ChangeSet, commit_changes

# A campaign of last month, imported today: dated from the clock like the demo data.
IMPORT_NOW = Clock().now()
START, END = (IMPORT_NOW.astimezone(CHINA_TIME).date() - timedelta(days=d) for d in (60, 30))
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
KINDS = ("done_elsewhere", "not_home", "refused", "exempt", "moved_out", "away")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def median_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        seconds, result = timed(fn)
        times.append(seconds)
    return statistics.median(times), times, result


def write_file(path: Path, id_numbers: list[str], rows: int, seed: int) -> int:
    """About `rows` completions: one in ten people never completes, the rest several times."""
    rng = random.Random(seed)
    people = [n for n in id_numbers if rng.random() >= 0.1]
    per_person = rows / max(len(people), 1)
    first = datetime.combine(START, datetime.min.time())
    span = int((END - START).days * 86400 + 86399)
    written = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["身份证号", "完成时间", "完成地点"])
        for n in people:
            times = max(1, round(rng.expovariate(1 / per_person)))
            if written + times > rows:
                times = rows - written
            for _ in range(times):
                at = first + timedelta(seconds=rng.randrange(span))
                writer.writerow(
                    (n, at.strftime("%Y-%m-%d %H:%M:%S"), f"采样点{rng.randint(1, 40)}")
                )
            written += times
            if written >= rows:
                break
        while written < rows:  # top up with repeat tests of the first people
            at = first + timedelta(seconds=rng.randrange(span))
            writer.writerow((people[written % len(people)], at.strftime("%Y-%m-%d %H:%M:%S"), ""))
            written += 1
    return written


def new_campaign(session: Session, grid: GridNode, name: str) -> Campaign:
    admin = session.scalars(select(User).where(User.username == "admin")).one()
    body = NewCampaign.model_validate(
        {
            "name": name,
            "kind": "testing",
            "start_date": START.isoformat(),
            "end_date": END.isoformat(),
            "rule": {"grid_id": grid.id},
        }
    )
    return create_campaign(session=session, user=admin, body=body, now=IMPORT_NOW)


def run_import(session: Session, campaign: Campaign, path: Path) -> CompletionReport:
    changes = ChangeSet()
    report = import_completions(
        session=session, campaign=campaign, path=path, changes=changes, now=IMPORT_NOW
    )
    commit_changes(session=session, changes=changes)
    return report


# --- progress over the district ----------------------------------------------------------------


def bench_progress(args: argparse.Namespace) -> None:
    print("== progress over the district (SQLite) ==", flush=True)
    with scratch_database(None) as settings, tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(settings)
        upgrade(settings, engine)
        factory = make_sessionmaker(engine)
        seconds, _ = timed(lambda: _seed(factory, "district", args.seed))
        print(f"seeded the district in {seconds:.1f} s", flush=True)
        with factory() as session:
            ids = list(session.scalars(select(Resident.id_number).order_by(Resident.id)))
            root = session.scalars(select(GridNode).where(GridNode.level == 1)).one()
        path = Path(tmp) / "district.csv"
        seconds, written = timed(lambda: write_file(path, ids, args.completions, args.seed))
        size = path.stat().st_size / 1e6
        print(f"wrote {written:,} completion rows ({size:.0f} MB) in {seconds:.1f} s", flush=True)
        with transaction(factory) as session:
            campaign = new_campaign(session, session.merge(root), "第3轮核酸检测")
            campaign_id = campaign.id
            seconds, report = timed(lambda: run_import(session, campaign, path))
        print(
            f"imported {report.rows_read:,} rows in {seconds:.1f} s "
            f"({report.rows_read / seconds:,.0f} rows/s): {report.imported:,} completions, "
            f"{report.residents_completed:,} residents completed, "
            f"{report.rejected_rows} rejected",
            flush=True,
        )
        with transaction(factory) as session:
            _outcomes(session, campaign_id, args.seed)
        with factory() as session:
            campaign = session.get_one(Campaign, campaign_id)
            nodes = {
                level: session.scalars(
                    select(GridNode).where(GridNode.level == level).order_by(GridNode.code)
                ).first()
                for level in (1, 3, 4, 5)
            }
            results: dict[int, float] = {}
            for level, node in nodes.items():
                assert node is not None

                def progress(node: GridNode = node) -> Any:
                    return sweep_under(session=session, campaign=campaign, node=node).tallies()

                median, times, tallies = median_of(args.repeat, progress)
                results[level] = median
                tally = tallies[node.id]
                print(
                    f"progress at level {level} ({node.name}): median {median:.3f} s of "
                    f"{len(times)} [{', '.join(f'{t:.3f}' for t in times)}], "
                    f"{tally.targets:,} targets, {tally.completed:,} completed, "
                    f"{tally.settled:,} settled, {tally.missed:,} missed, "
                    f"{len(tallies):,} nodes rolled up",
                    flush=True,
                )
            district_targets = sweep_under(session=session, campaign=campaign, node=nodes[1])
            rate = len(district_targets.result.statuses) / results[1]
            print(f"district: {rate:,.0f} targets/s; district/grid time ratio ", end="")
            print(f"{results[1] / results[5]:,.0f}x")
            community = nodes[4]
            assert community is not None

            def export() -> int:
                swept = sweep_under(session=session, campaign=campaign, node=community)
                rows = missed_rows(session=session, swept=swept, unmask=False)
                return len(missed_xlsx(rows, title="bench"))

            median, times, size = median_of(args.repeat, export)
            print(
                f"missed list of {community.name} as .xlsx: median {median:.3f} s "
                f"({size / 1024:.0f} KiB)",
                flush=True,
            )
        engine.dispose()


def _seed(factory: Any, scale: str, seed: int) -> None:
    with transaction(factory) as session:
        seed_demo(session=session, scale=scale, seed=seed, now=Clock().now(), activity=False)  # type: ignore[arg-type]


def _outcomes(session: Session, campaign_id: str, seed: int) -> None:
    """Doorstep outcomes for about one in ten residents, as workers would record them."""
    rng = random.Random(seed + 1)
    ids = list(session.scalars(select(Resident.id)))
    moment = datetime(2026, 10, 2, 1, 0, tzinfo=UTC)
    rows = []
    for rid in rng.sample(ids, len(ids) // 10):
        moment += timedelta(seconds=rng.randint(1, 60))
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "campaign_id": campaign_id,
                "resident_id": rid,
                "outcome": rng.choice(KINDS),
                "place": "",
                "reason": "",
                "revisit_date": None,
                "recorded_at": moment,
                "version": 1,
                "updated_at": moment,
                "deleted": False,
                "clocks": {},
            }
        )
    session.execute(insert(Outcome), rows)
    print(f"recorded {len(rows):,} outcomes", flush=True)


# --- import speed on both databases ------------------------------------------------------------


def bench_import(args: argparse.Namespace) -> None:
    backends = [("sqlite", None)]
    if args.database_url != "none":
        backends.append(("postgresql", args.database_url))
    rates: dict[str, tuple[float, float]] = {}
    floor_rate = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "small.csv"
        for name, url in backends:
            print(f"== completion import on {name} ({args.import_rows:,} rows) ==", flush=True)
            first_times: list[float] = []
            again_times: list[float] = []
            for index in range(args.repeat):
                with scratch_database(url) as settings:
                    engine = make_engine(settings)
                    upgrade(settings, engine)
                    factory = make_sessionmaker(engine)
                    _seed(factory, "small", args.seed)
                    with factory() as session:
                        ids = list(session.scalars(select(Resident.id_number)))
                        root = session.scalars(select(GridNode).where(GridNode.level == 1)).one()
                    if not path.exists():
                        write_file(path, ids, args.import_rows, args.seed)
                    with transaction(factory) as session:
                        campaign_id = new_campaign(session, session.merge(root), "疫苗接种").id
                    reports = []
                    for bucket in (first_times, again_times):
                        with transaction(factory) as session:
                            campaign = session.get_one(Campaign, campaign_id)
                            seconds, report = timed(lambda c=campaign: run_import(session, c, path))
                        bucket.append(seconds)
                        reports.append(report)
                    engine.dispose()
                first, again = reports
                print(
                    f"run {index + 1}/{args.repeat}: first {first_times[-1]:.2f} s "
                    f"({first.imported:,} imported, {first.duplicates:,} duplicates), "
                    f"again {again_times[-1]:.2f} s ({again.imported} imported, "
                    f"{again.duplicates:,} duplicates)",
                    flush=True,
                )
            first_rate = args.import_rows / statistics.median(first_times)
            again_rate = args.import_rows / statistics.median(again_times)
            rates[name] = (first_rate, again_rate)
            print(
                f"{name}: median {first_rate:,.0f} rows/s into an empty campaign, "
                f"{again_rate:,.0f} rows/s re-importing the same file",
                flush=True,
            )
        if url is not None:
            floor_rate = _plain_copy(args, path)
    if "postgresql" in rates:
        pg, lite = rates["postgresql"], rates["sqlite"]
        print(
            f"PostgreSQL / SQLite: {pg[0] / lite[0]:.2f}x first import, "
            f"{pg[1] / lite[1]:.2f}x re-import"
        )
        floor = floor_rate
        print(
            f"floor: a plain COPY of the same file into a bare table: {floor:,.0f} rows/s; "
            f"the import reaches {pg[0] / floor:.2f}x of it (first), {pg[1] / floor:.2f}x (again)",
            flush=True,
        )
        before = _main_figure(args)
        if before:
            for name, (first_rate, _) in rates.items():
                if name in before:
                    print(
                        f"{name}: {first_rate:,.0f} rows/s now vs {before[name]:,.0f} rows/s on "
                        f"main ({args.main}, {args.main_rows:,} rows): "
                        f"{first_rate / before[name]:.1f}x",
                        flush=True,
                    )


def _plain_copy(args: argparse.Namespace, path: Path) -> float:
    """Rows per second of PostgreSQL's own CSV COPY of the file into a table with no key."""
    rows = args.import_rows
    times: list[float] = []
    with scratch_database(args.database_url) as settings:
        dsn = make_url(settings.database_url).set(drivername="postgresql")
        with psycopg.connect(dsn.render_as_string(hide_password=False)) as conn:
            for _ in range(args.repeat):
                conn.execute(
                    "CREATE TEMP TABLE plain (id_number varchar(18), "
                    "completed_at timestamptz, place varchar(200))"
                )
                started = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy("COPY plain FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
                    path.open("rb") as f,
                ):
                    while block := f.read(1 << 20):
                        copy.write(block)
                times.append(time.perf_counter() - started)
                conn.execute("DROP TABLE plain")
    return rows / statistics.median(times)


def _main_figure(args: argparse.Namespace) -> dict[str, float]:
    """main's import rate before the change, measured now: its own bench, from its checkout."""
    if args.main == "none" or not Path(args.main, "bench", "campaign_bench.py").exists():
        return {}
    python = Path(args.main, ".venv", "bin", "python")
    command = [
        str(python if python.exists() else sys.executable),
        "bench/campaign_bench.py",
        "--only",
        "import",
        "--repeat",
        "1",
        "--import-rows",
        str(args.main_rows),
        "--database-url",
        args.database_url,
    ]
    print(f"== main's import ({args.main}, {args.main_rows:,} rows) ==", flush=True)
    done = subprocess.run(command, cwd=args.main, capture_output=True, text=True, check=False)
    found: dict[str, float] = {}
    for line in done.stdout.splitlines():
        match = re.match(r"(sqlite|postgresql): median ([\d,]+) rows/s", line)
        if match:
            found[match.group(1)] = float(match.group(2).replace(",", ""))
            print(f"main {line}", flush=True)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", choices=("progress", "import"))
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the median is reported")
    parser.add_argument(
        "--completions", type=int, default=2_100_000, help="rows for the district's campaign"
    )
    parser.add_argument(
        "--import-rows", type=int, default=2_100_000, help="rows for the import part"
    )
    parser.add_argument("--main", default="/work/main", help="main's checkout ('none': skip)")
    parser.add_argument(
        "--main-rows", type=int, default=200_000, help="rows for main's import (it is slow)"
    )
    parser.add_argument(
        "--database-url",
        default=PG_DEFAULT,
        help="PostgreSQL server for the import part ('none' to skip it)",
    )
    args = parser.parse_args(argv)
    if args.database_url != "none":
        make_url(args.database_url)  # fail early on a malformed URL
    if args.only in (None, "progress"):
        bench_progress(args)
    if args.only in (None, "import"):
        bench_import(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
