"""Matter counts at every grid level (五级穿透), as the campaign progress pages drill down: for a
node and each of its children, how many matters were reported under it, how many are open, how
many of those are overdue, how many were closed on time, and their average rating.

One grouped query: each counted node is joined to the matters of every level-5 grid in its
subtree (materialised paths), limited to the viewer's scope (`matter_board.scope_clause`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from shared.matters import MatterState
from sync_server.models import GridNode, Matter, User
from sync_server.queries.matter_board import OPEN, overdue_clause, scope_clause
from sync_server.services.scope import scope_of


@dataclass(frozen=True)
class MatterCounts:
    reported: int = 0
    open: int = 0
    overdue: int = 0
    closed_on_time: int = 0
    average_rating: float | None = None


def matter_counts(
    *, session: Session, user: User, nodes: list[GridNode], now: datetime
) -> dict[str, MatterCounts]:
    """Counts for each of `nodes` (each over its whole subtree); a node with none is absent."""
    if not nodes:
        return {}
    counted, leaf = aliased(GridNode), aliased(GridNode)
    on_time = and_(
        Matter.state == MatterState.CLOSED.value,
        or_(Matter.due_at.is_(None), Matter.closed_at <= Matter.due_at),
    )
    rows = session.execute(
        select(
            counted.id,
            func.count(Matter.id),
            func.sum(case((Matter.state.in_(OPEN), 1), else_=0)),
            func.sum(case((overdue_clause(now), 1), else_=0)),
            func.sum(case((on_time, 1), else_=0)),
            func.avg(Matter.rating),
        )
        .select_from(counted)
        .join(leaf, and_(leaf.path >= counted.path, leaf.path < counted.path + "~"))
        .join(Matter, Matter.grid_id == leaf.id)
        .where(counted.id.in_([n.id for n in nodes]), scope_clause(session=session, user=user))
        .group_by(counted.id)
    )
    return {
        node_id: MatterCounts(
            reported=int(reported or 0),
            open=int(open_ or 0),
            overdue=int(overdue or 0),
            closed_on_time=int(on_time_ or 0),
            average_rating=round(float(rating), 1) if rating is not None else None,
        )
        for node_id, reported, open_, overdue, on_time_, rating in rows
    }


def top_nodes(*, session: Session, user: User) -> list[GridNode]:
    """Where a viewer's drill-down starts: the roots of their scope (the district for admins)."""
    scope = scope_of(user)
    if scope.everything:
        query = select(GridNode).where(GridNode.parent_id.is_(None))
    else:
        ids = [p.strip("/").split("/")[-1] for p in scope.root_paths]
        query = select(GridNode).where(GridNode.id.in_(ids))
    return list(session.scalars(query.where(GridNode.deleted.is_(False)).order_by(GridNode.code)))
