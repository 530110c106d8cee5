"""Benchmark the console's matters at district scale: the board, the overdue list, the counts,
a matter's page and the export, through the real console routes, on SQLite and PostgreSQL.

    uv run python bench/matter_bench.py                       # SQLite and PostgreSQL
    uv run python bench/matter_bench.py --database-url none   # SQLite only
    uv run python bench/matter_bench.py --matters 5000 --households 2000 --repeat 3

Each backend gets a scratch database (a temporary SQLite file; a gs_bench_<hex> database on the
PostgreSQL server given, dropped afterwards), migrated, and the district's grid tree seeded
(`seed_shape` with the district's 4 towns, 61 communities, 542 grids) with --households
households: 20,000 by default, not the district's 90,000, as no matter page reads residents
beyond a matter's own and seeding 270,000 of them takes minutes on a busy machine. Then the matter load, written set-based (COPY on
PostgreSQL, executemany on SQLite):

- two organisations per community (a water station, a volunteer team), a handler of each;
- --matters matters (default 50,000) over the level-5 grids, every category and source, reported
  over the last --days days; each one's life is replayed through `shared.matters.decide_step`
  (the rule the server runs at push time), step by step, until a step would lie in the future:
  old matters are mostly closed and rated, recent ones open, some of those past their category's
  time limit (overdue). About 4 steps a matter: ~200,000 `matter_step` rows, all legal;
- --photos photos' metadata (default 20,000), named by the matters' and steps' photos.

The admin signs in to the console (a TestClient on the real app, so routing, the session, the
queries and the templates are all in the time) and each page is fetched: the first fetch is
reported apart (cold caches), then the median of --repeat fetches. The floor is the database's
own `SELECT count(*) FROM matters` over the same rows, timed the same way.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient
from seed_bench import scratch_database
from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.clock import Clock, format_timestamp
from shared.matters import (
    Actor,
    MatterSource,
    StepRefused,
    credits_for,
    decide_step,
    due_at,
)
from shared.schema import Role
from sync_server.db import insert_rows, make_engine, make_sessionmaker, transaction
from sync_server.main import create_app
from sync_server.migrate import upgrade
from sync_server.models import (
    GridNode,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    Photo,
    PointsEntry,
    Resident,
    User,
    UserGrid,
)
from sync_server.seed.demo import DEMO_PASSWORD, SHAPES, DemoShape, seed_shape

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
# Shares of the sources, and of the ways a matter's life goes (see `_life`).
SOURCES = {
    MatterSource.DOOR: 0.45,
    MatterSource.RESIDENT_ORDER: 0.30,
    MatterSource.INSPECTION: 0.20,
    MatterSource.TRANSFER: 0.05,
}
DESCRIPTIONS = {
    "环境卫生": ("楼道堆放杂物，影响通行", "垃圾分类亭缺少分类桶", "绿化带内积存建筑垃圾"),
    "安全隐患": ("电动车在楼道飞线充电", "消防通道被车辆占用", "外墙瓷砖松动有坠落风险"),
    "设施维修": ("小区路灯不亮", "污水井冒水，路面积水", "单元门门禁损坏"),
    "矛盾纠纷": ("邻里因占用车位发生争执", "楼上漏水引发邻里纠纷", "装修噪音扰民"),
    "民生诉求": ("独居老人请求代购药品", "居民咨询医保办理", "残疾人申请上门服务"),
    "商户检查": ("餐馆后厨灭火器过期", "商铺占道经营", "宾馆未落实住宿登记"),
}


@dataclass
class World:
    """What the load is drawn over: the grids by community, the people who act, categories."""

    admin: str
    grids: list[tuple[str, str]]  # (level-5 grid id, its community id)
    orgs: dict[str, list[tuple[str, str]]]  # community id -> [(org id, its handler's id)]
    categories: list[dict[str, Any]]
    workers: dict[str, list[str]]  # grid id -> worker ids (may be empty: the admin reports)
    residents: list[tuple[str, str, str]]  # (id, name, phone)


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _sha(rng: random.Random) -> str:
    return rng.getrandbits(256).to_bytes(32, "big").hex()


def _insert(session: Session, table: Any, rows: list[dict[str, Any]], chunk: int = 20_000) -> None:
    target: Table = table.__table__
    for start in range(0, len(rows), chunk):
        insert_rows(session, target, rows[start : start + chunk])


def seed_grid(factory: Any, households: int, seed: int, now: datetime) -> None:
    district = SHAPES["district"]
    shape = DemoShape(district.level3, grids=district.grids, households=households)
    with transaction(factory) as session:
        seed_shape(session=session, shape=shape, seed=seed, now=now, activity=False)


def load_world(session: Session, rng: random.Random, now: datetime, stamp: dict[str, Any]) -> World:
    """Read the seeded grid and people; add two organisations and their handlers per community."""
    admin = session.scalars(select(User.id).where(User.username == "admin")).one()
    password = session.scalars(select(User.password_hash).where(User.id == admin)).one()
    grids = [
        (g, c)
        for g, c in session.execute(
            select(GridNode.id, GridNode.parent_id)
            .where(GridNode.level == 5)
            .order_by(GridNode.path)
        )
        if c is not None
    ]
    communities = sorted({c for _, c in grids})
    orgs: dict[str, list[tuple[str, str]]] = {}
    org_rows, users, links = [], [], []
    for n, community in enumerate(communities):
        for kind, name in (("water", "水务站"), ("volunteers", "志愿服务队")):
            org, handler = _id(rng), _id(rng)
            org_rows.append(
                {"id": org, "name": f"{name}{n + 1}", "kind": kind, "grid_id": community, **stamp}
            )
            users.append(
                {
                    "id": handler,
                    "username": f"bench-{kind}-{n + 1}",
                    "display_name": f"{name}{n + 1} 办理员",
                    "role": Role.HANDLER.value,
                    "password_hash": password,
                    "active": True,
                    "created_at": now,
                    "org_id": org,
                }
            )
            links.append({"user_id": handler, "grid_id": community})
            orgs.setdefault(community, []).append((org, handler))
    _insert(session, Org, org_rows)
    _insert(session, User, users)
    _insert(session, UserGrid, links)
    workers: dict[str, list[str]] = {}
    for user_id, grid_id in session.execute(
        select(UserGrid.user_id, UserGrid.grid_id)
        .join(User, User.id == UserGrid.user_id)
        .where(User.role == Role.WORKER.value)
    ):
        workers.setdefault(grid_id, []).append(user_id)
    categories = [
        {
            "id": c.id,
            "name": c.name,
            "time_limit_hours": c.time_limit_hours,
            "base_points": c.base_points,
            "bonus_points": c.bonus_points,
        }
        for c in session.scalars(select(MatterCategory).order_by(MatterCategory.name))
    ]
    residents = [
        (rid, name, phone or "")
        for rid, name, phone in session.execute(
            select(Resident.id, Resident.name, Resident.phone).limit(20_000)
        )
    ]
    return World(admin, grids, orgs, categories, workers, residents)


def _life(rng: random.Random, orgs: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """A matter's whole life as (who, action, values): who is "case" (the admin running the
    case), "doer" (the handler), or "reporter". Cut short later by time."""
    roll = rng.random()
    if roll < 0.15:
        return [("case", "decline", {"reason": "属物业管理范围，已告知居民联系物业"})]
    org, handler = rng.choice(orgs)
    if rng.random() < 0.65:
        target = {"org_id": org} if rng.random() < 0.5 else {"user_id": handler}
        steps = [("case", "accept", {}), ("case", "dispatch", target), ("doer", "take", {})]
    else:
        steps = [("case", "accept", {}), ("case", "publish", {}), ("doer", "claim", {})]
    if rng.random() < 0.25:
        steps.append(("doer", "start", {}))
    note = {"reason": "已处理完毕，现场已清理", "photos": ["<photo>"]}
    steps.append(("doer", "apply_close", note))
    if rng.random() < 0.08:
        steps += [("case", "send_back", {"reason": "现场仍有积水，请复查"})]
        steps += [("doer", "apply_close", note)]
    steps.append(("case", "verify_close", {}))
    if rng.random() < 0.4:
        steps.append(
            ("reporter", "rate", {"rating": rng.choices((5, 4, 3, 2, 1), (50, 30, 10, 6, 4))[0]})
        )
    if rng.random() < 0.22:  # stalled: still open, most of these past their time limit
        steps = steps[: rng.randrange(len(steps) - 1)]
    return steps


def make_matters(
    world: World, rng: random.Random, args: argparse.Namespace, now: datetime, stamp: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The matters, their steps (each decided by `decide_step`), points, and the photos named."""
    photos = [_sha(rng) for _ in range(args.photos)]
    used = 0

    def photo() -> str:
        nonlocal used
        used += 1
        return photos[used - 1] if used <= len(photos) else rng.choice(photos)

    matters, steps, points = [], [], []
    span = args.days * 86400
    sources, weights = list(SOURCES), list(SOURCES.values())
    for _ in range(args.matters):
        grid, community = rng.choice(world.grids)
        category = rng.choice(world.categories)
        # More matters lately than long ago; each step comes 1-40 hours after the last.
        moment = now - timedelta(seconds=span * rng.random() ** 1.3)
        reporter_id = rng.choice(world.workers.get(grid) or [world.admin])
        reporter = Actor(reporter_id, Role.WORKER, grids=frozenset({grid}))
        source = rng.choices(sources, weights)[0]
        resident = rng.choice(world.residents) if source == "resident_order" else None
        reported = format_timestamp(moment)
        values: dict[str, Any] = {
            "id": _id(rng),
            "category_id": category["id"],
            "description": rng.choice(DESCRIPTIONS.get(category["name"], ("待处理事项",))),
            "grid_id": grid,
            "building_id": None,
            "house_id": None,
            "resident_id": resident[0] if resident else None,
            "resident_name": resident[1] if resident else None,
            "resident_phone_masked": (resident[2][:3] + "****" + resident[2][-4:])
            if resident and resident[2]
            else None,
            "place": "",
            "source": source,
            "urgency": "urgent" if rng.random() < 0.1 else "normal",
            "on_behalf_of": "",
            "photos": [photo()] if rng.random() < 0.25 else [],
            "reported_at": reported,
            "state": "reported",
            "state_at": reported,
            "state_by": reporter_id,
            "due_at": due_at(reported, category["time_limit_hours"]),
            "assignee_org_id": None,
            "assignee_user_id": None,
            "rating": None,
            "closed_at": None,
        }
        orgs = world.orgs[community]
        handlers = {h: o for o, h in orgs}
        doer: Actor | None = None
        for who, action, extra in _life(rng, orgs):
            moment += timedelta(hours=rng.uniform(1, 40) * (category["time_limit_hours"] / 72))
            if moment >= now:
                break
            if who == "case":
                actor = Actor(world.admin, Role.ADMIN)
            elif who == "reporter":
                actor = reporter if reporter_id != world.admin else Actor(world.admin, Role.ADMIN)
            else:
                if doer is None:
                    user = values["assignee_user_id"] or rng.choice(orgs)[1]
                    if values["assignee_org_id"] and not values["assignee_user_id"]:
                        user = next(h for o, h in orgs if o == values["assignee_org_id"])
                    doer = Actor(
                        user,
                        Role.HANDLER,
                        org_id=handlers[user],
                        grids=frozenset({community, grid}),
                    )
                actor = doer
            step = {
                "id": _id(rng),
                "matter_id": values["id"],
                "action": action,
                "from_state": values["state"],
                "at": format_timestamp(moment),
                **extra,
            }
            if "photos" in step:
                step["photos"] = [photo()]
            decided = decide_step(values, step, actor)
            assert not isinstance(decided, StepRefused), (decided, step)
            for credit in credits_for(
                values, {**values, **decided}, category, now=moment, rating_window_days=7
            ):
                points.append(
                    {
                        "user_id": credit.user_id,
                        "matter_id": values["id"],
                        "kind": credit.kind,
                        "amount": credit.amount,
                        "at": moment,
                    }
                )
            values.update(decided)
            steps.append(
                {
                    "org_id": None,
                    "user_id": None,
                    "rating": None,
                    "reason": "",
                    "comment": "",
                    "photos": [],
                    **step,
                    **stamp,
                    "updated_by_user_id": actor.user_id,
                }
            )
        matters.append({**values, **stamp})
    return [_timed(m) for m in matters], [_timed(s) for s in steps], points, photos


_DATETIMES = ("reported_at", "state_at", "due_at", "closed_at", "at")


def _timed(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: datetime.fromisoformat(v) if k in _DATETIMES and isinstance(v, str) else v
        for k, v in row.items()
    }


def load(factory: Any, args: argparse.Namespace, now: datetime) -> dict[str, int]:
    rng = random.Random(args.seed + 7)
    stamp = {
        "version": 1,
        "updated_at": now,
        "updated_by_device_id": None,
        "deleted": False,
        "clocks": {},
    }
    with transaction(factory) as session:
        world = load_world(session, rng, now, {**stamp, "updated_by_user_id": None})
        started = time.perf_counter()
        matters, steps, points, photos = make_matters(world, rng, args, now, stamp)
        made = time.perf_counter() - started
        started = time.perf_counter()
        _insert(session, Matter, matters)
        _insert(session, MatterStep, steps)
        _insert(session, PointsEntry, points)
        _insert(
            session,
            Photo,
            [
                {
                    "sha256": sha,
                    "size": rng.randint(150_000, 600_000),
                    "content_type": "image/jpeg",
                    "received": 0,
                    "complete": True,
                    "uploader_user_id": world.admin,
                    "uploader_device_id": None,
                    "created_at": now,
                    "completed_at": now,
                }
                for sha in photos
            ],
        )
        written = time.perf_counter() - started
    print(
        f"made {len(matters):,} matters and {len(steps):,} steps through decide_step in "
        f"{made:.1f} s, wrote them with {len(points):,} points and {len(photos):,} photos in "
        f"{written:.1f} s",
        flush=True,
    )
    return {"matters": len(matters), "steps": len(steps)}


@dataclass
class Timing:
    first: float
    median: float
    runs: list[float]


def time_it(repeat: int, fn: Callable[[], Any]) -> Timing:
    runs = []
    for _ in range(repeat + 1):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return Timing(runs[0], statistics.median(runs[1:]), runs[1:])


def pages(session: Session) -> list[tuple[str, str]]:
    """(label, console URL) of each page timed."""
    root = session.scalars(select(GridNode).where(GridNode.level == 1)).one()

    def busiest(level: int) -> GridNode:
        """The node of `level` with the most matters under it (the worst case of its level)."""
        nodes = session.scalars(select(GridNode).where(GridNode.level == level)).all()
        counted = {
            n.id: session.scalar(
                select(func.count())
                .select_from(Matter)
                .join(GridNode, GridNode.id == Matter.grid_id)
                .where(GridNode.path >= n.path, GridNode.path < n.path + "~")
            )
            or 0
            for n in nodes
        }
        return next(n for n in nodes if n.id == max(counted, key=lambda k: counted[k]))

    town, community, grid = busiest(3), busiest(4), busiest(5)
    longest = session.scalar(
        select(MatterStep.matter_id)
        .group_by(MatterStep.matter_id)
        .order_by(func.count().desc(), MatterStep.matter_id)
        .limit(1)
    )
    b = "/console/matters"
    out = [
        ("board, district", f"{b}?node={root.id}"),
        ("board, district, page 200", f"{b}?node={root.id}&page=200"),
        ("board, district, closed", f"{b}?node={root.id}&state=closed"),
        ("board, community", f"{b}?node={community.id}"),
        ("board, grid", f"{b}?node={grid.id}"),
        ("overdue, district", f"{b}?node={root.id}&overdue=1"),
        ("overdue, community", f"{b}?node={community.id}&overdue=1"),
        ("overdue, grid", f"{b}?node={grid.id}&overdue=1"),
        ("counts, district", f"{b}/counts"),
        ("counts, town", f"{b}/counts?node={town.id}"),
        ("counts, community", f"{b}/counts?node={community.id}"),
        ("counts, grid", f"{b}/counts?node={grid.id}"),
        ("matter page", f"{b}/{longest}"),
        ("export xlsx, community", f"{b}/export.xlsx?node={community.id}"),
        ("export xlsx, district overdue", f"{b}/export.xlsx?node={root.id}&overdue=1"),
    ]
    return out


def bench_backend(name: str, url: str | None, args: argparse.Namespace) -> dict[str, Timing]:
    print(f"\n== {name} ==", flush=True)
    now = Clock().now().astimezone(UTC).replace(microsecond=0)
    with scratch_database(url) as settings:
        engine = make_engine(settings)
        upgrade(settings, engine)
        factory = make_sessionmaker(engine)
        started = time.perf_counter()
        seed_grid(factory, args.households, args.seed, now)
        print(f"seeded the district's grid in {time.perf_counter() - started:.1f} s", flush=True)
        counts = load(factory, args, now)
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))  # as autovacuum would have by the time it is used
        results: dict[str, Timing] = {}
        with engine.connect() as conn:
            results["floor: SELECT count(*) FROM matters"] = time_it(
                args.repeat, lambda: conn.execute(text("SELECT count(*) FROM matters")).scalar()
            )
        with factory() as session:
            urls = pages(session)
        engine.dispose()
        app = create_app(settings)
        with TestClient(app) as client:
            login = client.post(
                "/console/login",
                data={"username": "admin", "password": DEMO_PASSWORD, "next": "/console"},
                follow_redirects=False,
            )
            assert login.status_code == 303, login.text
            for label, page in urls:
                repeat = 1 if label.startswith("export") and args.repeat > 1 else args.repeat

                def fetch(page: str = page) -> None:
                    response = client.get(page)
                    assert response.status_code == 200, (page, response.status_code)

                results[label] = time_it(max(repeat, 1), fetch)
                t = results[label]
                print(
                    f"{label:<32} first {t.first * 1000:8.1f} ms  median {t.median * 1000:8.1f} ms",
                    flush=True,
                )
        app.state.engine.dispose()
    floor = results["floor: SELECT count(*) FROM matters"].median
    print(f"{counts['matters']:,} matters, {counts['steps']:,} steps; floor {floor * 1000:.1f} ms")
    return results


def report(results: dict[str, dict[str, Timing]]) -> None:
    names = list(results)
    labels = list(next(iter(results.values())))
    print("\n| page | " + " | ".join(f"{n} first | {n} median | {n} ×floor" for n in names) + " |")
    print("|---|" + "---:|" * (3 * len(names)))
    for label in labels:
        cells = []
        for n in names:
            t = results[n][label]
            floor = results[n]["floor: SELECT count(*) FROM matters"].median
            cells += [f"{t.first * 1000:.0f} ms", f"{t.median * 1000:.0f} ms"]
            cells.append(f"{t.median / floor:,.0f}×" if floor > 0 else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")
    if len(names) == 2:
        a, b = names
        print(f"\n{b} / {a} medians:")
        for label in labels:
            print(f"  {label:<32} {results[b][label].median / results[a][label].median:6.2f}×")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--repeat", type=int, default=5, help="fetches after the first; median")
    parser.add_argument("--matters", type=int, default=50_000)
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365, help="matters reported over this span")
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument(
        "--database-url", default=PG_DEFAULT, help="PostgreSQL server ('none' to skip it)"
    )
    args = parser.parse_args(argv)
    backends: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.database_url != "none":
        make_url(args.database_url)  # fail early on a malformed URL
        backends.append(("PostgreSQL", args.database_url))
    results = {name: bench_backend(name, url, args) for name, url in backends}
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
