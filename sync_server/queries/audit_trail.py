"""The audit page's list: audit events and applied changes in one stream, newest first, scoped.

Two sources make the trail: `audit_events` (sign-ins, settlements, reviews, exports, imports,
user/device/grid management) and the operation log (every change a device pushed, with who,
which device, when and each field's before and after). One UNION ALL of (kind, key, time) pages
both together in the database; only the page's rows are then loaded in full.

Admins see everything. A supervisor sees the changes to records in their subtree, the events on
those records (settlements, reviews, exports of their grids), and what their team did or had done
to it: the sign-ins, exports and imports of every user assigned inside the subtree (themselves
included) and the management of those users and their devices. Nothing else, not even a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, String, and_, literal_column, or_, select, true, union_all
from sqlalchemy.orm import Session

from shared.clock import CHINA_TIME
from sync_server.models import AuditEvent, Device, GridNode, OperationLog, User, UserGrid
from sync_server.queries.history import ChangeEntry, entries
from sync_server.queries.labels import record_labels
from sync_server.queries.record_scope import SCOPED_ENTITIES, ops_in_scope, scoped_ids
from sync_server.services.scope import Scope

CHANGE = "change"  # the action filter's name for pushed changes
# Changes that took effect; conflicts and rejections are attempts (a settlement is an event).
APPLIED = ("applied", "merged")
# Dates in the filter are the dates a Chinese user reads on the page (China Standard Time).


@dataclass(frozen=True)
class TrailFilter:
    action: str | None = None  # an audit action, or CHANGE
    username: str | None = None  # exact username (or display name) of who acted
    since: date | None = None  # inclusive, China dates
    until: date | None = None


@dataclass(frozen=True)
class TrailRow:
    at: datetime
    kind: Literal["event", "change"]
    event: AuditEvent | None = None
    change: ChangeEntry | None = None
    label: str = ""  # the record an event is about, as a person reads it


def _team(scope: Scope, viewer_id: str) -> tuple[Any, Any]:
    """SELECTs of the ids and usernames of the users assigned inside `scope`, and the viewer."""
    inside = (
        select(UserGrid.user_id)
        .join(GridNode, GridNode.id == UserGrid.grid_id)
        .where(scope.path_filter(GridNode.path))
    )
    ids = select(User.id).where(or_(User.id.in_(inside), User.id == viewer_id))
    names = select(User.username).where(User.id.in_(ids))
    return ids, names


def _events_in_scope(scope: Scope, viewer_id: str) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    team_ids, team_names = _team(scope, viewer_id)
    clauses: list[ColumnElement[bool]] = [
        AuditEvent.user_id.in_(team_ids),
        # A failed sign-in names no account, only the username typed.
        and_(AuditEvent.user_id.is_(None), AuditEvent.username.in_(team_names)),
        and_(AuditEvent.entity == "user", AuditEvent.record_id.in_(team_ids)),
        and_(
            AuditEvent.entity == "device",
            AuditEvent.record_id.in_(select(Device.id).where(Device.user_id.in_(team_ids))),
        ),
    ]
    for entity in SCOPED_ENTITIES:
        ids = scoped_ids(entity, scope)
        assert ids is not None
        clauses.append(and_(AuditEvent.entity == entity, AuditEvent.record_id.in_(ids)))
    return or_(*clauses)


def _utc_bounds(filters: TrailFilter) -> tuple[datetime | None, datetime | None]:
    low = datetime.combine(filters.since, time(), CHINA_TIME) if filters.since else None
    high = (
        datetime.combine(filters.until + timedelta(days=1), time(), CHINA_TIME)
        if filters.until
        else None
    )
    return low, high


def _actor_ids(username: str) -> Any:
    return select(User.id).where(or_(User.username == username, User.display_name == username))


def _keys(
    session: Session, scope: Scope, viewer_id: str, filters: TrailFilter, limit: int, offset: int
) -> list[tuple[str, str]]:
    low, high = _utc_bounds(filters)
    parts = []
    if filters.action != CHANGE:
        events = select(
            literal_column("'event'", String).label("kind"),
            AuditEvent.id.cast(String).label("key"),
            AuditEvent.at.label("at"),
        ).where(_events_in_scope(scope, viewer_id))
        if filters.action:
            events = events.where(AuditEvent.action == filters.action)
        if filters.username:
            events = events.where(
                or_(
                    AuditEvent.username == filters.username,
                    AuditEvent.user_id.in_(_actor_ids(filters.username)),
                )
            )
        if low is not None:
            events = events.where(AuditEvent.at >= low)
        if high is not None:
            events = events.where(AuditEvent.at < high)
        parts.append(events)
    if not filters.action or filters.action == CHANGE:
        changes = select(
            literal_column("'change'", String).label("kind"),
            OperationLog.op_id.label("key"),
            OperationLog.received_at.label("at"),
        ).where(OperationLog.status.in_(APPLIED), ops_in_scope(scope))
        if filters.username:
            changes = changes.where(OperationLog.user_id.in_(_actor_ids(filters.username)))
        if low is not None:
            changes = changes.where(OperationLog.received_at >= low)
        if high is not None:
            changes = changes.where(OperationLog.received_at < high)
        parts.append(changes)
    if not parts:
        return []
    both = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    rows = session.execute(
        select(both.c.kind, both.c.key)
        .order_by(both.c.at.desc(), both.c.kind, both.c.key.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r.kind, r.key) for r in rows]


def trail(
    *,
    session: Session,
    scope: Scope,
    viewer_id: str,
    filters: TrailFilter,
    limit: int = 50,
    offset: int = 0,
) -> list[TrailRow]:
    """One page of the trail, newest first."""
    keys = _keys(session, scope, viewer_id, filters, limit, offset)
    event_ids = [int(k) for kind, k in keys if kind == "event"]
    op_ids = [k for kind, k in keys if kind == CHANGE]
    events = (
        {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(event_ids)))}
        if event_ids
        else {}
    )
    ops: Sequence[OperationLog] = (
        session.scalars(select(OperationLog).where(OperationLog.op_id.in_(op_ids))).all()
        if op_ids
        else []
    )
    changes = {c.op_id: c for c in entries(session, ops)}
    labels = record_labels(
        session=session,
        refs={(e.entity, e.record_id) for e in events.values() if e.entity and e.record_id},
    )
    out = []
    for kind, key in keys:
        if kind == "event":
            event = events[int(key)]
            label = labels.get((event.entity or "", event.record_id or ""), "")
            out.append(TrailRow(at=event.at, kind="event", event=event, label=label))
        else:
            change = changes[key]
            out.append(TrailRow(at=change.at, kind="change", change=change, label=change.label))
    return out


def linkable(entity: str | None) -> bool:
    """Whether an event's record has a history page (synced records, not users or devices)."""
    return entity in SCOPED_ENTITIES
