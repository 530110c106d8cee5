"""The console's matters: the board (filtered, paged, counted by state), one matter's page with
its timeline, and which steps the viewer may take on it now.

Scope is the pull's (`services.matter_sync.matter_filter` over the viewer's grids; everything for
an admin), so the console never shows a matter the viewer's phone would not hold. Which steps a
viewer may take is asked of `shared.matters.decide_step` itself, never re-stated here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from shared.matters import (
    OPEN_STATES,
    TRANSITIONS,
    WHO_MAY,
    Actor,
    MatterAction,
    StepRefused,
    decide_step,
)
from shared.schema import Role
from sync_server.models import (
    BusinessCheck,
    GridNode,
    Matter,
    MatterCategory,
    MatterStep,
    Org,
    Photo,
    Resident,
    User,
    UserGrid,
    subtree_bounds,
)
from sync_server.services.matter_sync import matter_filter
from sync_server.services.scope import grid_set, scope_of

PAGE_SIZE = 50
OPEN = sorted(s.value for s in OPEN_STATES)
# The steps run from the console (claim, take, start and apply to close are the doers' own).
CONSOLE_ACTIONS = (
    MatterAction.ACCEPT,
    MatterAction.DECLINE,
    MatterAction.DISPATCH,
    MatterAction.PUBLISH,
    MatterAction.VERIFY_CLOSE,
    MatterAction.SEND_BACK,
)


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows: empty values filter nothing. `node`: a grid node's subtree."""

    state: str = ""
    node: GridNode | None = None
    category: str = ""
    source: str = ""
    overdue: bool = False
    campaign: str = ""  # a business inspection: the matters its checks opened


@dataclass(frozen=True)
class BoardRow:
    id: str
    description: str
    state: str
    source: str
    urgency: str
    category: str
    grid: str
    place: str
    reported_at: datetime
    due_at: datetime | None
    overdue: bool


@dataclass
class Board:
    rows: list[BoardRow]
    total: int
    by_state: dict[str, int] = field(default_factory=dict)


def scope_clause(*, session: Session, user: User) -> ColumnElement[bool]:
    """The live matters `user` may see in the console."""
    if user.role == Role.ADMIN:
        return Matter.deleted.is_(False)
    return and_(
        Matter.deleted.is_(False), matter_filter(grid_set(session=session, user=user).leaves)
    )


def _filtered(
    session: Session, user: User, wanted: BoardFilter, now: datetime, *, with_state: bool
) -> list[ColumnElement[bool]]:
    clauses = [scope_clause(session=session, user=user)]
    if wanted.node is not None:
        subtree = select(GridNode.id).where(
            GridNode.path >= wanted.node.path, GridNode.path < wanted.node.path + "~"
        )
        clauses.append(Matter.grid_id.in_(subtree))
    if wanted.category:
        clauses.append(Matter.category_id == wanted.category)
    if wanted.source:
        clauses.append(Matter.source == wanted.source)
    if wanted.overdue:
        clauses.append(overdue_clause(now))
    if wanted.campaign:
        checks = select(BusinessCheck.id).where(BusinessCheck.campaign_id == wanted.campaign)
        clauses.append(Matter.business_check_id.in_(checks))
    if with_state and wanted.state:
        clauses.append(Matter.state == wanted.state)
    return clauses


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Past its due time and still open (neither closed nor declined)."""
    return and_(Matter.due_at.is_not(None), Matter.due_at < now, Matter.state.in_(OPEN))


def _order(wanted: BoardFilter) -> tuple[ColumnElement[Any] | InstrumentedAttribute[Any], ...]:
    # The overdue list: the longest overdue first; otherwise the newest first. `id` breaks ties,
    # so a page boundary never splits or repeats matters of the same moment.
    if wanted.overdue:
        return (Matter.due_at, Matter.id)
    return (Matter.reported_at.desc(), Matter.id)


def board_ids(*, session: Session, user: User, wanted: BoardFilter, now: datetime) -> Select[str]:
    """The ids of the board's matters in its order. Every column it filters and sorts on is in
    the covering index `ix_matters_board`, so the database picks and orders the ids without
    reading a matter's row; only the rows of a page are read (`board_rows`)."""
    return (
        select(Matter.id)
        .where(*_filtered(session, user, wanted, now, with_state=True))
        .order_by(*_order(wanted))
    )


def board_rows(*, session: Session, ids: list[str]) -> list[tuple[Matter, str, str, str]]:
    """The matters `ids` with their category and grid names and grid code, in the order given."""
    if not ids:
        return []
    found = {
        matter.id: (matter, category, grid, code)
        for matter, category, grid, code in session.execute(
            select(Matter, MatterCategory.name, GridNode.name, GridNode.code)
            .join(MatterCategory, MatterCategory.id == Matter.category_id)
            .join(GridNode, GridNode.id == Matter.grid_id)
            .where(Matter.id.in_(ids))
        )
    }
    return [found[i] for i in ids if i in found]


def board(
    *, session: Session, user: User, wanted: BoardFilter, now: datetime, page: int = 1
) -> Board:
    ids = list(
        session.scalars(
            board_ids(session=session, user=user, wanted=wanted, now=now)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    rows = [
        _row(matter, category, grid, now)
        for matter, category, grid, _ in board_rows(session=session, ids=ids)
    ]
    by_state = {
        str(state): int(n)
        for state, n in session.execute(
            select(Matter.state, func.count())
            .where(*_filtered(session, user, wanted, now, with_state=False))
            .group_by(Matter.state)
        )
    }
    # The total is the chosen state's tab (or all tabs): one grouped count, not a second pass.
    total = by_state.get(wanted.state, 0) if wanted.state else sum(by_state.values())
    return Board(rows=rows, total=total, by_state=by_state)


def _row(matter: Matter, category: str, grid: str, now: datetime) -> BoardRow:
    return BoardRow(
        id=matter.id,
        description=matter.description,
        state=matter.state,
        source=matter.source,
        urgency=matter.urgency,
        category=category,
        grid=grid,
        place=matter.place,
        reported_at=matter.reported_at,
        due_at=matter.due_at,
        overdue=matter.due_at is not None and matter.due_at < now and matter.state in OPEN,
    )


@dataclass(frozen=True)
class TimelineStep:
    action: str
    from_state: str
    at: datetime
    by: str
    reason: str
    org: str | None
    user: str | None
    photos: list[str]
    rating: int | None
    comment: str


@dataclass
class MatterPage:
    matter: Matter
    category: str
    grid: GridNode
    assignee_org: str | None
    assignee_user: str | None
    state_by: str | None
    steps: list[TimelineStep]
    before: list[str]  # the matter's own photos
    after: list[str]  # the photos its applications to close carried
    actions: list[str]
    held: set[str] = field(default_factory=set)  # the photos the server holds (uploaded)


def matter_page(*, session: Session, user: User, matter_id: str) -> MatterPage | None:
    """One matter as the console shows it, or None when `user` may not see it."""
    matter = session.scalar(
        select(Matter).where(Matter.id == matter_id, scope_clause(session=session, user=user))
    )
    if matter is None:
        return None
    grid = session.get_one(GridNode, matter.grid_id)
    category = session.get_one(MatterCategory, matter.category_id).name
    steps = list(
        session.scalars(
            select(MatterStep)
            .where(MatterStep.matter_id == matter.id, MatterStep.deleted.is_(False))
            .order_by(MatterStep.at, MatterStep.updated_at, MatterStep.id)
        )
    )
    user_ids = {s.updated_by_user_id for s in steps} | {s.user_id for s in steps}
    user_ids |= {matter.assignee_user_id, matter.state_by}
    names = _user_names(session, {u for u in user_ids if u})
    orgs = _org_names(
        session, {o for o in [matter.assignee_org_id, *(s.org_id for s in steps)] if o}
    )
    timeline = [_timeline_step(s, names, orgs) for s in steps]
    after = [p for s in steps if s.action == MatterAction.APPLY_CLOSE for p in s.photos or []]
    named = {*(matter.photos or []), *(p for s in steps for p in s.photos or [])}
    # A phone uploads its photos after the records: a step may name one not here yet.
    held = set(
        session.scalars(
            select(Photo.sha256).where(Photo.sha256.in_(sorted(named)), Photo.complete.is_(True))
        )
    )
    return MatterPage(
        matter=matter,
        category=category,
        grid=grid,
        assignee_org=orgs.get(matter.assignee_org_id) if matter.assignee_org_id else None,
        assignee_user=names.get(matter.assignee_user_id) if matter.assignee_user_id else None,
        state_by=names.get(matter.state_by) if matter.state_by else None,
        steps=timeline,
        before=list(matter.photos or []),
        after=list(dict.fromkeys(after)),
        actions=actions_for(session=session, user=user, matter=matter),
        held=held,
    )


def actions_for(*, session: Session, user: User, matter: Matter) -> list[str]:
    """The console steps `user` may take on `matter` now, as `decide_step` answers them (each
    asked with what the step would carry: a reason, a target)."""
    grids = frozenset() if user.role == Role.ADMIN else grid_set(session=session, user=user).nodes
    actor = Actor(user_id=user.id, role=user.role, org_id=user.org_id, grids=grids)
    values = {
        "state": matter.state,
        "grid_id": matter.grid_id,
        "assignee_org_id": matter.assignee_org_id,
        "assignee_user_id": matter.assignee_user_id,
        "rating": matter.rating,
    }
    allowed: list[str] = []
    for action in CONSOLE_ACTIONS:
        if str(user.role) not in WHO_MAY[action] or matter.state not in TRANSITIONS[action][0]:
            continue
        probe = {
            "action": action.value,
            "from_state": matter.state,
            "at": None,
            "reason": "-",
            "org_id": "-",
        }
        if not isinstance(decide_step(values, probe, actor), StepRefused):
            allowed.append(action.value)
    return allowed


def dispatch_targets(*, session: Session, matter: Matter) -> tuple[list[Org], list[User]]:
    """Whom a matter may be dispatched to: the organisations serving its community or none in
    particular, and the people of its community (workers of its grids, handlers serving it or
    of those organisations). Nobody from another community is named on the page."""
    grid = session.get_one(GridNode, matter.grid_id)
    community = session.get(GridNode, grid.parent_id) if grid.parent_id else None
    return community_targets(session=session, community=community, area=community or grid)


def community_targets(
    *, session: Session, community: GridNode | None, area: GridNode
) -> tuple[list[Org], list[User]]:
    """Whom a matter of `community` may be dispatched to (see `dispatch_targets`); `area`: the
    subtree whose workers serve it (the community itself, or the grid when it has none)."""
    serving = or_(Org.grid_id.is_(None), Org.grid_id == (community.id if community else None))
    orgs = list(
        session.scalars(select(Org).where(Org.deleted.is_(False), serving).order_by(Org.name))
    )
    low, high = subtree_bounds(area.path)
    assigned = select(UserGrid.user_id).join(GridNode, GridNode.id == UserGrid.grid_id)
    assigned = assigned.where(GridNode.path >= low, GridNode.path < high)
    people = list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(true()),
                or_(
                    and_(User.role == Role.WORKER.value, User.id.in_(assigned)),
                    and_(
                        User.role == Role.HANDLER.value,
                        or_(User.id.in_(assigned), User.org_id.in_([o.id for o in orgs])),
                    ),
                ),
            )
            .order_by(User.username)
        )
    )
    return orgs, people


def _user_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(sorted(ids)))
    )
    return {uid: display or username for uid, display, username in rows}


def _org_names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(sorted(ids)))).all())


def scope_nodes(*, session: Session, user: User) -> list[GridNode]:
    """The grid nodes a viewer may filter the board by, in tree order."""
    return list(
        session.scalars(
            select(GridNode)
            .where(GridNode.deleted.is_(False), scope_of(user).path_filter(GridNode.path))
            .order_by(GridNode.path)
        )
    )


@dataclass(frozen=True)
class ExportRow:
    """A board matter as the export writes it: the matter, its names, steps and resident's phone."""

    matter: Matter
    category: str
    grid_code: str
    grid_name: str
    assignee: str
    resident_phone: str | None
    steps: list[TimelineStep]


_EXPORT_CHUNK = 500


def export_rows(
    *, session: Session, user: User, wanted: BoardFilter, now: datetime
) -> Iterator[ExportRow]:
    """Every matter of the filtered board in its order, with its timeline, a chunk at a time.

    The ordered ids come first in one pass over the covering index (36 bytes a matter), then
    each chunk's rows by id: no OFFSET re-walks the matters already written."""
    ordered = list(session.scalars(board_ids(session=session, user=user, wanted=wanted, now=now)))
    for start in range(0, len(ordered), _EXPORT_CHUNK):
        chunk = board_rows(session=session, ids=ordered[start : start + _EXPORT_CHUNK])
        ids = [m.id for m, *_ in chunk]
        steps: dict[str, list[MatterStep]] = {}
        for s in session.scalars(
            select(MatterStep)
            .where(MatterStep.matter_id.in_(ids), MatterStep.deleted.is_(False))
            .order_by(MatterStep.at, MatterStep.updated_at, MatterStep.id)
        ):
            steps.setdefault(s.matter_id, []).append(s)
        people = {s.updated_by_user_id for ss in steps.values() for s in ss}
        people |= {s.user_id for ss in steps.values() for s in ss}
        people |= {m.assignee_user_id for m, *_ in chunk}
        names = _user_names(session, {p for p in people if p})
        org_ids = {m.assignee_org_id for m, *_ in chunk}
        org_ids |= {s.org_id for ss in steps.values() for s in ss}
        orgs = _org_names(session, {o for o in org_ids if o})
        resident_ids = sorted({m.resident_id for m, *_ in chunk if m.resident_id})
        phones = dict(
            session.execute(
                select(Resident.id, Resident.phone).where(Resident.id.in_(resident_ids))
            ).all()
        )
        for matter, category, grid, code in chunk:
            assignee = " ".join(
                n
                for n in (
                    orgs.get(matter.assignee_org_id or ""),
                    names.get(matter.assignee_user_id or ""),
                )
                if n
            )
            yield ExportRow(
                matter=matter,
                category=category,
                grid_code=code,
                grid_name=grid,
                assignee=assignee,
                resident_phone=phones.get(matter.resident_id or ""),
                steps=[_timeline_step(s, names, orgs) for s in steps.get(matter.id, [])],
            )


def _timeline_step(s: MatterStep, names: dict[str, str], orgs: dict[str, str]) -> TimelineStep:
    return TimelineStep(
        action=s.action,
        from_state=s.from_state,
        at=s.at,
        by=names.get(s.updated_by_user_id or "", s.updated_by_user_id or "—"),
        reason=s.reason,
        org=orgs.get(s.org_id) if s.org_id else None,
        user=names.get(s.user_id) if s.user_id else None,
        photos=list(s.photos or []),
        rating=s.rating,
        comment=s.comment,
    )
