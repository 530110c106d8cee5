"""The grid tree within a scope, with household and resident counts rolled up every level."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from sync_server.models import Binding, GridNode, House, Resident
from sync_server.services.scope import Scope


@dataclass
class TreeNode:
    id: str
    code: str
    name: str
    level: int
    parent_id: str | None
    houses: int = 0
    households: int = 0
    residents: int = 0
    children: list[TreeNode] = field(default_factory=list)


def _leaf_counts(session: Session, scope: Scope) -> dict[str, tuple[int, int, int]]:
    """Per level-5 grid: (houses, occupied houses = households, residents currently bound)."""
    house_counts = dict(
        session.execute(
            select(House.grid_id, func.count(House.id))
            .join(GridNode, GridNode.id == House.grid_id)
            .where(House.deleted.is_(False), scope.path_filter(GridNode.path))
            .group_by(House.grid_id)
        ).all()
    )
    bound = session.execute(
        select(
            House.grid_id, func.count(distinct(Binding.house_id)), func.count(distinct(Resident.id))
        )
        .select_from(Binding)
        .join(House, House.id == Binding.house_id)
        .join(Resident, Resident.id == Binding.resident_id)
        .join(GridNode, GridNode.id == House.grid_id)
        .where(
            Binding.end_date.is_(None),
            Binding.deleted.is_(False),
            Resident.deleted.is_(False),
            House.deleted.is_(False),
            scope.path_filter(GridNode.path),
        )
        .group_by(House.grid_id)
    ).all()
    counts: dict[str, tuple[int, int, int]] = {g: (n, 0, 0) for g, n in house_counts.items()}
    for grid_id, households, residents in bound:
        counts[grid_id] = (house_counts.get(grid_id, 0), households, residents)
    return counts


def grid_tree(*, session: Session, scope: Scope, root_id: str | None = None) -> list[TreeNode]:
    """The nodes in scope as a forest, each with counts summed over its subtree."""
    query = select(GridNode).where(GridNode.deleted.is_(False), scope.path_filter(GridNode.path))
    if root_id is not None:
        root = session.get(GridNode, root_id)
        if root is None:
            return []
        query = query.where(GridNode.path >= root.path, GridNode.path < root.path + "~")
    nodes = session.scalars(query.order_by(GridNode.level, GridNode.code)).all()
    by_id = {
        n.id: TreeNode(id=n.id, code=n.code, name=n.name, level=n.level, parent_id=n.parent_id)
        for n in nodes
    }
    for grid_id, (houses, households, residents) in _leaf_counts(session, scope).items():
        node = by_id.get(grid_id)
        if node is not None:
            node.houses, node.households, node.residents = houses, households, residents
    children: dict[str, list[TreeNode]] = defaultdict(list)
    roots: list[TreeNode] = []
    for n in by_id.values():
        if n.parent_id in by_id:
            children[n.parent_id].append(n)
        else:
            roots.append(n)
    # Deepest first so every child's totals are final before its parent adds them.
    for n in sorted(by_id.values(), key=lambda t: -t.level):
        n.children = children.get(n.id, [])
        for c in n.children:
            n.houses += c.houses
            n.households += c.households
            n.residents += c.residents
    return roots
