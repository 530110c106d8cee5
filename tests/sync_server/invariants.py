"""What must hold of the server's data after every batch, whoever sent it: checked by the
hostile-phone tests after each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from shared.clock import china_date
from shared.moves import RECENTLY_MOVED_DAYS
from sync_server.models import Binding, Building, GridNode, House, Resident, Unit
from tests.days import RUN_CLOCK


def broken_invariants(session: Session) -> list[str]:
    """Every way the stored grid is not whole; empty when all holds."""
    problems: list[str] = []
    resident, house = aliased(Resident), aliased(House)
    orphans = session.execute(
        select(Binding.id)
        .join(resident, resident.id == Binding.resident_id)
        .join(house, house.id == Binding.house_id)
        .where(Binding.deleted.is_(False), resident.deleted.is_(True) | house.deleted.is_(True))
    ).all()
    problems += [f"live binding {b} points to a deleted resident or house" for (b,) in orphans]
    nodes = {n.id: n for n in session.scalars(select(GridNode))}
    for node in nodes.values():
        if node.deleted:
            problems.append(f"grid node {node.code} is deleted")
        parent = nodes.get(node.parent_id) if node.parent_id else None
        if node.parent_id and (parent is None or parent.level != node.level - 1):
            problems.append(f"grid node {node.code} has no parent one level up")
    for model in (Building, House):
        for record_id, grid_id in session.execute(
            select(model.id, model.grid_id).where(model.deleted.is_(False))
        ):
            grid = nodes.get(grid_id)
            if grid is None or grid.deleted or grid.level != 5:
                problems.append(f"{model.__name__} {record_id} is in no live level-5 grid")
    dead_buildings = set(session.scalars(select(Building.id).where(Building.deleted.is_(True))))
    for unit_id, building_id in session.execute(
        select(Unit.id, Unit.building_id).where(Unit.deleted.is_(False))
    ):
        if building_id in dead_buildings:
            problems.append(f"live unit {unit_id} is in a deleted building")
    for house_id, building_id in session.execute(
        select(House.id, House.building_id).where(House.deleted.is_(False))
    ):
        if building_id in dead_buildings:
            problems.append(f"live house {house_id} is in a deleted building")
    return problems


def residents_a_worker_may_hold(session: Session, grid_ids: set[str]) -> set[str]:
    """Residents with an open binding to a live house in the grids, or who left one of them
    within the recently-moved window."""
    since = china_date(RUN_CLOCK.now() - timedelta(days=RECENTLY_MOVED_DAYS + 1))
    rows = session.execute(
        select(Binding.resident_id, Binding.end_date)
        .join(House, House.id == Binding.house_id)
        .where(House.grid_id.in_(grid_ids), House.deleted.is_(False), Binding.deleted.is_(False))
    ).all()
    return {rid for rid, end in rows if end is None or end >= since}


def scope_snapshot(session: Session, grid_ids: set[str]) -> dict[str, Any]:
    """Everything stored about the grids (places, bindings, residents), to compare before and
    after a step that must not touch them."""
    from tests.integration.harness import server_scope

    snapshot: dict[str, Any] = dict(server_scope(session, grid_ids))
    snapshot["grid_node"] = {
        n.id: (n.version, n.deleted, n.name, n.parent_id)
        for n in session.scalars(select(GridNode).where(GridNode.id.in_(grid_ids)))
    }
    return snapshot
