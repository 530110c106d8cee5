"""Helpers for the campaign tests: campaigns, completion files, and a device's missed list."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from shared.campaigns import OutcomeFact, ResidentFacts, TargetRule, is_target, lives_under, sweep
from tests.days import day
from tests.sync_server.conftest import login
from tests.sync_server.wire_device import WireDevice

# A campaign running today: started two weeks ago, ends in a week (22 days).
START, END = day(-14), day(7)
DAYS = (END - START).days + 1


def create_campaign(client: TestClient, grid: str, **rule: Any) -> dict[str, Any]:
    """A campaign over the grid (id or code), created by the admin through the API."""
    body = {
        "name": rule.pop("name", "第3轮核酸检测"),
        "kind": rule.pop("kind", "testing"),
        "start_date": rule.pop("start_date", START.isoformat()),
        "days": rule.pop("days", DAYS),
        "rule": {"grid_id": grid, **rule},
    }
    response = client.post("/api/v1/campaigns", json=body, headers=login(client, "admin"))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def write_completions(path: Path, rows: list[tuple[str, str, str]], header: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(["身份证号", "完成时间", "完成地点"])
        writer.writerows(rows)
    return path


def upload(client: TestClient, campaign_id: str, path: Path, **params: Any) -> Any:
    with path.open("rb") as f:
        return client.post(
            f"/api/v1/campaigns/{campaign_id}/completions",
            files={"file": (path.name, f, "text/csv")},
            params=params,
            headers=login(client, "admin"),
        )


def device_statuses(device: WireDevice, campaign_id: str) -> dict[str, str]:
    """What a phone computes offline from the records it pulled: every target's status.

    This is the device's side of test 6 (the server's side is sync_server.queries): targets are
    the residents bound to its houses now, decided with shared.campaigns.is_target.
    """
    campaign = device.records[("campaign", campaign_id)]["values"]
    rule = TargetRule.from_values(campaign)
    start = date.fromisoformat(campaign["start_date"])
    parents = {gid: rec["values"]["parent_id"] for gid, rec in device.of("grid_node").items()}
    house_grid = {hid: rec["values"]["grid_id"] for hid, rec in device.of("house").items()}
    homes: dict[str, set[str]] = {}
    for binding in device.of("binding").values():
        values = binding["values"]
        if values["end_date"] is None and values["house_id"] in house_grid:
            homes.setdefault(values["resident_id"], set()).add(house_grid[values["house_id"]])
    targets = []
    for rid, grids in homes.items():
        resident = device.records.get(("resident", rid))
        if resident is None:
            continue
        v = resident["values"]
        facts = ResidentFacts(
            v["id_number"], v["residence_status"], v["tags"], lives_under(grids, parents)
        )
        if is_target(rule, facts, start):
            targets.append(rid)
    completed = {
        rec["values"]["resident_id"]
        for rec in device.of("completion").values()
        if rec["values"]["campaign_id"] == campaign_id
    }
    outcomes = [
        OutcomeFact.from_values(oid, rec["values"])
        for oid, rec in device.of("outcome").items()
        if rec["values"]["campaign_id"] == campaign_id
    ]
    return {rid: s.status for rid, s in sweep(targets, completed, outcomes).statuses.items()}
