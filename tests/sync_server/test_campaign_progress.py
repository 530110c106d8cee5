"""Progress at every level equals a brute-force count; the missed list export matches it."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.campaigns import NewCampaign, natural_key
from sync_server.importer.completions import import_completions
from sync_server.models import (
    Binding,
    Campaign,
    CompletionMark,
    GridNode,
    House,
    Outcome,
    Resident,
    User,
)
from sync_server.queries.campaign_progress import sweep_under
from sync_server.seed.demo import DEMO_PASSWORD, DemoShape, seed_shape
from sync_server.services.campaigns import create_campaign
from sync_server.services.changes import ChangeSet, commit_changes
from tests.days import RUN_CLOCK, at, day, iso
from tests.sync_server.campaign_helpers import device_statuses, write_completions
from tests.sync_server.conftest import login
from tests.sync_server.wire_device import WireDevice

SHAPE = DemoShape((("潭城镇", 2, 1), ("北厝镇", 1, 1)), grids=10, households=300)
START = day(-8)
SETTLING = {"done_elsewhere", "exempt", "moved_out", "away"}
KINDS = ["done_elsewhere", "not_home", "refused", "exempt", "moved_out", "away"]


def add_years(birth: date, years: int) -> date:
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def naive_age(birth: date, day: date) -> int:
    return max(k for k in range(200) if add_years(birth, k) <= day)


@pytest.fixture
def district(session_factory: sessionmaker[Session], tmp_path: Path) -> dict[str, Any]:
    """A small five-level district with a campaign, completions, outcomes, and some people
    bound in two grids at once."""
    rng = random.Random(20261128)
    with session_factory() as session, session.begin():
        seed_shape(session=session, shape=SHAPE, seed=7, now=RUN_CLOCK.now(), activity=False)
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        level2 = session.scalars(select(GridNode).where(GridNode.level == 2)).one()
        body = NewCampaign.model_validate(
            {
                "name": "加强针接种",
                "kind": "vaccination",
                "start_date": START.isoformat(),
                "end_date": iso(2),
                "rule": {"grid_id": level2.code, "age_min": 3, "age_max": 70},
            }
        )
        campaign = create_campaign(session=session, user=admin, body=body, now=RUN_CLOCK.now())
        residents = session.scalars(select(Resident).order_by(Resident.id)).all()
        houses = session.scalars(select(House).order_by(House.id)).all()
        for resident in rng.sample(list(residents), 15):  # bound in a second grid as well
            session.add(
                Binding(
                    resident_id=resident.id,
                    house_id=rng.choice(houses).id,
                    relation="tenant",
                    start_date=day(-331),
                )
            )
        for resident in rng.sample(list(residents), 30):
            resident.residence_status = rng.choice(["away", "floating", "moved_out"])
        completed = rng.sample(list(residents), len(residents) * 2 // 5)
        rows = [(r.id_number, f"{iso(-7)} 08:00:00", "接种点") for r in completed]
        rows += [(r.id_number, f"{iso(-5)} 15:30:00", "") for r in completed[:50]]
        path = write_completions(tmp_path / "done.csv", rows)
        changes = ChangeSet()
        report = import_completions(
            session=session, campaign=campaign, path=path, changes=changes, now=RUN_CLOCK.now()
        )
        assert report.rejected_rows == 0
        commit_changes(session=session, changes=changes)
        moment = at(-4, 9)
        for resident in rng.sample(list(residents), 250):
            for _ in range(rng.choice([1, 1, 2, 3])):
                moment += timedelta(seconds=rng.choice([0, 7, 60]))  # some ties: id decides
                session.add(
                    Outcome(
                        id=str(uuid.uuid4()),
                        campaign_id=campaign.id,
                        resident_id=resident.id,
                        outcome=rng.choice(KINDS),
                        place="别处",
                        reason="",
                        revisit_date=None,
                        recorded_at=moment,
                        version=1,
                        clocks={},
                    )
                )
        return {"campaign_id": campaign.id, "root": level2.id}


def brute_force(session: Session, campaign: Campaign) -> dict[str, dict[str, Any]]:
    """Counts per grid node, computed the slow and obvious way."""
    nodes = {n.id: n for n in session.scalars(select(GridNode))}
    root_path = nodes[campaign.grid_id].path
    under: dict[str, set[str]] = defaultdict(set)  # node -> residents living under it
    for binding in session.scalars(select(Binding)):
        if binding.end_date is not None or binding.deleted:
            continue
        house = session.get_one(House, binding.house_id)
        path = nodes[house.grid_id].path
        for node_id in path.strip("/").split("/"):
            under[node_id].add(binding.resident_id)
    marks = set(session.scalars(select(CompletionMark.resident_id)))
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in session.scalars(select(Outcome)):
        outcomes[outcome.resident_id].append(outcome)
    statuses: dict[str, tuple[str, str | None]] = {}
    for resident in session.scalars(select(Resident)):
        lives_here = any(
            nodes[h].path.startswith(root_path)
            for h in session.scalars(
                select(House.grid_id)
                .join(Binding, Binding.house_id == House.id)
                .where(Binding.resident_id == resident.id, Binding.end_date.is_(None))
            )
        )
        age = naive_age(resident.birth_date, campaign.start_date)
        if not lives_here or not 3 <= age <= 70:
            continue
        if resident.residence_status not in ("permanent", "floating"):
            continue
        if resident.id in marks:
            statuses[resident.id] = ("completed", None)
            continue
        mine = outcomes.get(resident.id, [])
        settling = [o for o in mine if o.outcome in SETTLING]
        pool = settling or mine
        decided = max(pool, key=lambda o: (o.recorded_at, o.id)) if pool else None
        status = "settled" if settling else "missed"
        statuses[resident.id] = (status, decided.outcome if decided else None)
    counts: dict[str, dict[str, Any]] = {}
    for node_id in nodes:
        here = [statuses[r] for r in under.get(node_id, set()) if r in statuses]
        counts[node_id] = {
            "targets": len(here),
            "completed": sum(s == "completed" for s, _ in here),
            "settled": sum(s == "settled" for s, _ in here),
            "missed": sum(s == "missed" for s, _ in here),
            "unvisited": sum(s == "missed" and o is None for s, o in here),
            "by_outcome": {k: sum(s != "completed" and o == k for s, o in here) for k in KINDS},
        }
    return counts


def test_progress_at_every_level_equals_a_brute_force_count(
    client: TestClient, district: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    admin = login(client, "admin", DEMO_PASSWORD, device=True)
    response = client.get(
        f"/api/v1/campaigns/{district['campaign_id']}/progress",
        params={"node": district["root"], "depth": 4},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    with session_factory() as session:
        expected = brute_force(session, session.get_one(Campaign, district["campaign_id"]))
    seen_levels = set()

    def walk(node: dict[str, Any]) -> None:
        seen_levels.add(node["level"])
        assert node["counts"] == expected[node["id"]], (node["code"], node["level"])
        for child in node["children"]:
            walk(child)

    walk(response.json()["node"])
    assert seen_levels == {2, 3, 4, 5}
    top = response.json()["node"]["counts"]
    assert top["targets"] > 300 and top["completed"] and top["settled"] and top["unvisited"]
    assert sum(1 for k in KINDS if top["by_outcome"][k]) == 6
    assert top["targets"] == top["completed"] + sum(top["by_outcome"].values()) + top["unvisited"]
    # Counting is over distinct people: children may add up to more than their parent.
    root = response.json()["node"]
    assert sum(c["counts"]["targets"] for c in root["children"]) >= top["targets"]

    above = client.get(
        f"/api/v1/campaigns/{district['campaign_id']}/progress",
        params={"depth": 0},
        headers=admin,
    ).json()["node"]
    assert above["counts"] == top and above["children"] == []


def test_missed_list_export_in_walking_order_with_masked_id_numbers(
    client: TestClient, district: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        community = session.scalars(
            select(GridNode).where(GridNode.level == 4).order_by(GridNode.code)
        ).first()
        assert community is not None
        supervisor = session.scalars(
            select(User).where(User.role == "supervisor").order_by(User.username)
        ).first()
        assert supervisor is not None
        expected = brute_force(session, session.get_one(Campaign, district["campaign_id"]))
    url = f"/api/v1/campaigns/{district['campaign_id']}/missed"
    as_supervisor = login(client, supervisor.username, DEMO_PASSWORD, device=True)
    response = client.get(f"{url}.csv", params={"node": community.code}, headers=as_supervisor)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == expected[community.id]["missed"]
    assert all(r["身份证号"].startswith("*" * 14) for r in rows)
    assert all(r["网格编码"].startswith(community.code) for r in rows)
    order = [(r["网格编码"], r["楼栋"], r["单元"], r["房号"]) for r in rows]
    assert order == sorted(
        order, key=lambda k: (k[0], natural_key(k[1]), natural_key(k[2]), natural_key(k[3]))
    )
    assert {r["最近情况"] for r in rows} <= {"", "不在家", "拒绝"}

    admin = login(client, "admin", DEMO_PASSWORD, device=True)
    excel = client.get(f"{url}.xlsx", params={"node": community.code}, headers=admin)
    assert excel.status_code == 200
    sheet = load_workbook(io.BytesIO(excel.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert "漏检名单" in str(values[0][0]) and values[1][7] == "身份证号"
    assert len(values) - 2 == len(rows)
    assert all(len(str(v[7])) == 18 and "*" not in str(v[7]) for v in values[2:])


def test_each_workers_phone_computes_the_servers_statuses(
    client: TestClient, district: dict[str, Any], session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        campaign = session.get_one(Campaign, district["campaign_id"])
        workers = session.scalars(
            select(User).where(User.role == "worker").order_by(User.username)
        ).all()
        for worker in workers[:4]:
            [grid] = worker.grids
            device = WireDevice(client, worker.username, DEMO_PASSWORD)
            device.pull(limit=500, campaigns=True)
            swept = sweep_under(session=session, campaign=campaign, node=grid.grid)
            server = {rid: s.status for rid, s in swept.result.statuses.items()}
            assert server and device_statuses(device, campaign.id) == server, worker.username
