"""The claim list a unit sees (认领清单) in the console: the units a viewer may look at, and one
unit's orders, i.e. those published to the communities it serves and still claimable, and those
dispatched to it and still open.

Which matters reach a unit is the pull's rule (`services.matter_sync.matter_filter` over the
unit's keys `pub:<community>` and `org:<id>`), so the console shows what its handlers' phones
hold; the viewer's own scope (`matter_board.scope_clause`) narrows it further. A supervisor sees
the units serving any part of their subtree (a unit serving no community in particular serves
every community); admins see every unit. The place is shown as a handler sees it: the resident's
name and masked phone, never an ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, aliased

from shared.schema import Role
from sync_server.models import GridNode, Matter, MatterCategory, Org, User
from sync_server.queries.matter_board import OPEN, overdue_clause, scope_clause
from sync_server.services.matter_sync import COMMUNITY_LEVEL, matter_filter
from sync_server.services.scope import Scope, scope_of

PAGE_SIZE = 50


@dataclass(frozen=True)
class Unit:
    """A unit as the list of units shows it, with how many orders wait on its claim list."""

    org: Org
    community: GridNode | None  # None: it serves every community
    claimable: int
    dispatched: int


@dataclass(frozen=True)
class ClaimFilter:
    """Empty values filter nothing. `community`: one of the communities the unit serves."""

    community: GridNode | None = None
    category: str = ""
    overdue: bool = False


@dataclass(frozen=True)
class ClaimRow:
    id: str
    description: str
    state: str
    urgency: str
    category: str
    time_limit_hours: int
    community: str
    grid: str
    place: str
    resident_name: str | None
    resident_phone_masked: str | None
    reported_at: datetime
    due_at: datetime | None
    overdue: bool
    dispatched: bool  # dispatched to the unit (else: published to its community)
    taken_by: str | None  # the member who took or claimed it


@dataclass
class ClaimList:
    rows: list[ClaimRow]
    total: int


def _overlaps(scope: Scope, path: str) -> bool:
    """Whether a community at `path` and the viewer's subtree share any grid."""
    return scope.everything or any(
        path.startswith(root) or root.startswith(path) for root in scope.root_paths
    )


def served_communities(*, session: Session, user: User, org: Org) -> list[GridNode]:
    """The communities `org` serves that the viewer may see, in tree order."""
    query = select(GridNode).where(GridNode.deleted.is_(False), GridNode.level == COMMUNITY_LEVEL)
    if org.grid_id is not None:
        query = query.where(GridNode.id == org.grid_id)
    scope = scope_of(user)
    return [c for c in session.scalars(query.order_by(GridNode.path)) if _overlaps(scope, c.path)]


def unit_for(*, session: Session, user: User, org_id: str) -> Org | None:
    """The unit, or None when it does not exist or serves nothing of the viewer's."""
    org = session.get(Org, org_id)
    if org is None or org.deleted:
        return None
    if user.role == Role.ADMIN:
        return org
    if org.grid_id is None:
        return org if scope_of(user).root_paths else None
    community = session.get(GridNode, org.grid_id)
    if community is None or not _overlaps(scope_of(user), community.path):
        return None
    return org


def _reaches(session: Session, user: User, org: Org) -> ColumnElement[bool]:
    """The open matters on `org`'s claim list the viewer may see."""
    communities = served_communities(session=session, user=user, org=org)
    keys = [f"pub:{c.id}" for c in communities] + [f"org:{org.id}"]
    return and_(
        scope_clause(session=session, user=user), matter_filter(keys), Matter.state.in_(OPEN)
    )


def units(*, session: Session, user: User) -> list[Unit]:
    """The units the viewer may look at, by name, with their claim lists' sizes."""
    orgs = session.scalars(select(Org).where(Org.deleted.is_(False)).order_by(Org.name, Org.id))
    found: list[Unit] = []
    for org in orgs:
        if unit_for(session=session, user=user, org_id=org.id) is None:
            continue
        total, dispatched = session.execute(
            select(func.count(), func.count(case((Matter.assignee_org_id == org.id, 1)))).where(
                _reaches(session, user, org)
            )
        ).one()
        found.append(
            Unit(
                org=org,
                community=session.get(GridNode, org.grid_id) if org.grid_id else None,
                claimable=int(total) - int(dispatched),
                dispatched=int(dispatched),
            )
        )
    return found


def claim_list(
    *, session: Session, user: User, org: Org, wanted: ClaimFilter, now: datetime, page: int = 1
) -> ClaimList:
    """`org`'s claim list: the most pressing first (the earliest due), then the oldest."""
    grid = aliased(GridNode)
    community = aliased(GridNode)
    clauses = [_reaches(session, user, org)]
    if wanted.community is not None:
        clauses.append(grid.parent_id == wanted.community.id)
    if wanted.category:
        clauses.append(Matter.category_id == wanted.category)
    if wanted.overdue:
        clauses.append(overdue_clause(now))
    query = (
        select(Matter, MatterCategory, grid.name, community.name, User.display_name, User.username)
        .join(MatterCategory, MatterCategory.id == Matter.category_id)
        .join(grid, grid.id == Matter.grid_id)
        .outerjoin(community, community.id == grid.parent_id)
        .outerjoin(User, User.id == Matter.assignee_user_id)
        .where(*clauses)
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ordered = query.order_by(Matter.due_at.is_(None), Matter.due_at, Matter.reported_at, Matter.id)
    rows = [
        ClaimRow(
            id=matter.id,
            description=matter.description,
            state=matter.state,
            urgency=matter.urgency,
            category=category.name,
            time_limit_hours=category.time_limit_hours,
            community=community_name or "",
            grid=grid_name,
            place=matter.place,
            resident_name=matter.resident_name,
            resident_phone_masked=matter.resident_phone_masked,
            reported_at=matter.reported_at,
            due_at=matter.due_at,
            overdue=matter.due_at is not None and matter.due_at < now,
            dispatched=matter.assignee_org_id == org.id,
            taken_by=(display or username) if matter.assignee_user_id else None,
        )
        for matter, category, grid_name, community_name, display, username in session.execute(
            ordered.offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    ]
    return ClaimList(rows=rows, total=total)
