"""Benchmark a business inspection sweep (排查整治) at the district's scale: the progress pages and
the problem list export, on SQLite and PostgreSQL.

    uv run python bench/inspection_bench.py                 # SQLite and PostgreSQL, 5 runs each
    uv run python bench/inspection_bench.py --only sqlite --repeat 3

Builds the district's grid (4 level-3, 61 level-4, 542 level-5 grids) in a scratch database,
4,451 businesses of three types with five checklist items each, a business_inspection campaign
over the district with every business checked, and 4,432 problems (matters opened by those
checks, `shared.inspection_matters`), most of them struck off after a re-inspection, the rest
open (a share of them overdue). Then times, through the console as an admin's browser asks for
them (`TestClient`, full request: scope, queries, roll-up, HTML or the xlsx file):

- the progress page at the district, a community (level 4) and a grid (level 5);
- the problem list export (xlsx, every problem with its business and timeline) of the district.

Medians over --repeat runs are printed, with ratios (PostgreSQL / SQLite; page / grid page).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from seed_bench import scratch_database
from sqlalchemy import Table

from shared.businesses import default_type_id
from shared.clock import CHINA_TIME, Clock
from shared.inspection_matters import CATEGORY_ID, matter_id_for, step_id_for
from shared.schema import Role
from sync_server.config import Settings
from sync_server.db import insert_rows, make_engine, make_sessionmaker
from sync_server.main import create_app
from sync_server.migrate import upgrade
from sync_server.models import (
    Business,
    BusinessCheck,
    Campaign,
    ChecklistItem,
    GridNode,
    Matter,
    MatterStep,
)
from sync_server.security import hash_password
from sync_server.services.grid import create_grid_node
from sync_server.services.users import create_user

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
BUSINESSES, PROBLEMS = 4_451, 4_432
TOWNS, COMMUNITIES, GRIDS = 4, 61, 542
TYPES = ("catering", "lodging", "retail")
ITEMS_PER_TYPE = 5
CLOSED_SHARE, OVERDUE_SHARE = 0.93, 0.3  # of all problems; of the open ones
PASSWORD = "bench-password-1"
NOW = Clock().now()


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def build(settings: Settings, seed: int) -> dict[str, str]:
    """The district, its businesses, the campaign, checks and problems; the ids to ask for."""
    rng = random.Random(seed)
    engine = make_engine(settings)
    upgrade(settings, engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session, session.begin():
        admin = create_user(
            session=session,
            username="bench-admin",
            password_hash=hash_password(PASSWORD),
            role=Role.ADMIN,
        )
        root = create_grid_node(session=session, code="HT", name="平潭", level=1, parent=None)
        district = create_grid_node(
            session=session, code="HT-1", name="海坛片区", level=2, parent=root
        )
        towns = [
            create_grid_node(
                session=session, code=f"HT-1-{t}", name=f"街道{t}", level=3, parent=district
            )
            for t in range(1, TOWNS + 1)
        ]
        communities = [
            create_grid_node(
                session=session,
                code=f"{towns[c % TOWNS].code}-{c + 1}",
                name=f"社区{c + 1}",
                level=4,
                parent=towns[c % TOWNS],
            )
            for c in range(COMMUNITIES)
        ]
        grids: list[GridNode] = [
            create_grid_node(
                session=session,
                code=f"{communities[g % COMMUNITIES].code}-{g + 1}",
                name=f"第{g + 1}网格",
                level=5,
                parent=communities[g % COMMUNITIES],
            )
            for g in range(GRIDS)
        ]
        items: dict[str, list[str]] = {}
        for code in TYPES:
            items[code] = []
            for n in range(ITEMS_PER_TYPE):
                item = ChecklistItem(
                    business_type_id=default_type_id(code),
                    code=f"i{n}",
                    text=f"检查项{n + 1}",
                    text_en=f"item {n + 1}",
                    sort_order=n,
                )
                session.add(item)
                session.flush()
                items[code].append(item.id)
        campaign = Campaign(
            name="商户排查整治",
            kind="business_inspection",
            start_date=(NOW - timedelta(days=60)).astimezone(CHINA_TIME).date(),
            end_date=(NOW + timedelta(days=30)).astimezone(CHINA_TIME).date(),
            grid_id=district.id,
            business_types=[],
        )
        session.add(campaign)
        session.flush()
        common = {
            "version": 1,
            "deleted": False,
            "clocks": {},
            "updated_at": NOW,
            "updated_by_user_id": admin.id,
        }
        businesses, checks = [], []
        for n in range(BUSINESSES):
            grid = rng.choice(grids)
            type_code = rng.choice(TYPES)
            businesses.append(
                {
                    **common,
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "grid_id": grid.id,
                    "business_type_id": default_type_id(type_code),
                    "name": f"商户{n + 1}",
                    "address": f"西大街{n + 1}号",
                    "status": "open",
                    "contact_name": "",
                }
            )
        insert_rows(session, _table(Business), businesses)
        for shop in businesses:
            checks.append(
                {
                    **common,
                    "id": str(uuid.UUID(int=rng.getrandbits(128))),
                    "campaign_id": campaign.id,
                    "business_id": shop["id"],
                    "results": [],
                    "checked_at": NOW - timedelta(days=rng.randint(20, 55)),
                }
            )
        insert_rows(session, _table(BusinessCheck), checks)
        type_of = {default_type_id(code): code for code in TYPES}
        by_id = {b["id"]: b for b in businesses}
        matters, steps = [], []
        used: set[tuple[str, str]] = set()
        while len(matters) < PROBLEMS:
            check = rng.choice(checks)
            business = by_id[check["business_id"]]
            item = rng.choice(items[type_of[business["business_type_id"]]])
            if (business["id"], item) in used:
                continue
            used.add((business["id"], item))
            reported = check["checked_at"]
            closed = rng.random() < CLOSED_SHARE
            overdue = not closed and rng.random() < OVERDUE_SHARE
            due = reported + timedelta(hours=72)
            if not closed and not overdue:
                reported = NOW - timedelta(hours=rng.randint(1, 48))
                due = reported + timedelta(hours=72)
            closed_at = reported + timedelta(hours=rng.randint(2, 100)) if closed else None
            matter_id = matter_id_for(check["id"], item)
            matters.append(
                {
                    **common,
                    "id": matter_id,
                    "category_id": CATEGORY_ID,
                    "description": f"商户「{business['name']}」检查不合格：检查项",
                    "grid_id": business["grid_id"],
                    "place": business["address"],
                    "source": "inspection",
                    "urgency": "normal",
                    "on_behalf_of": "",
                    "photos": [],
                    "reported_at": reported,
                    "state": "closed" if closed else "reported",
                    "state_at": closed_at or reported,
                    "state_by": admin.id,
                    "due_at": due,
                    "closed_at": closed_at,
                    "business_id": business["id"],
                    "checklist_item_id": item,
                    "business_check_id": check["id"],
                }
            )
            if closed:
                steps.append(
                    {
                        **common,
                        "id": step_id_for(f"re-{check['id']}", item),
                        "matter_id": matter_id,
                        "action": "reinspect_pass",
                        "from_state": "reported",
                        "reason": "已整改",
                        "photos": [],
                        "comment": "",
                        "at": closed_at,
                    }
                )
        insert_rows(session, _table(Matter), matters)
        insert_rows(session, _table(MatterStep), steps)
        community = communities[0]
        return {
            "campaign": campaign.id,
            "district": district.id,
            "community": community.id,
            "grid": next(g.id for g in grids if g.parent_id == community.id),
        }


def _median_ms(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(database_url: str | None, repeat: int, seed: int) -> dict[str, float]:
    with scratch_database(database_url) as settings:
        started = time.perf_counter()
        ids = build(settings, seed)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
        app = create_app(settings)
        with TestClient(app) as client:
            response = client.post(
                "/console/login",
                data={"username": "bench-admin", "password": PASSWORD, "next": "/console"},
                follow_redirects=False,
            )
            assert response.status_code == 303, response.text
            page = f"/console/inspections/{ids['campaign']}"
            out: dict[str, float] = {}
            for level in ("district", "community", "grid"):

                def progress(level: str = level) -> None:
                    answer = client.get(page, params={"node": ids[level]})
                    assert answer.status_code == 200, answer.text

                out[f"progress {level}"] = _median_ms(progress, repeat)

            def export() -> None:
                answer = client.get(f"{page}/problems.xlsx", params={"node": ids["district"]})
                assert answer.status_code == 200, answer.text

            out["export district xlsx"] = _median_ms(export, repeat)
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--database-url", default=PG_DEFAULT, help="PostgreSQL server to use")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    for backend in ("sqlite", "postgresql"):
        if args.only and args.only != backend:
            continue
        print(f"{backend}: {BUSINESSES:,} businesses, {PROBLEMS:,} problems", flush=True)
        url = None if backend == "sqlite" else args.database_url
        results[backend] = run(url, args.repeat, args.seed)
        grid = results[backend]["progress grid"]
        for name, ms in results[backend].items():
            print(f"  {name:<22} median {ms:8.1f} ms   ×{ms / grid:5.1f} of the grid page")
    if len(results) == 2:
        print("PostgreSQL / SQLite:")
        for name, ms in results["postgresql"].items():
            print(f"  {name:<22} {ms / results['sqlite'][name]:5.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
