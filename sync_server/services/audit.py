"""The audit trail: who signed in (or failed to), settled a conflict, reviewed a change, exported
or imported data, or managed users, devices and grids; from which device and address, and when.

Events are recorded in the caller's transaction, so an event exists exactly when the action it
describes was committed (exports, which only read, use `record_apart`). Failed sign-ins are
recorded after the failed attempt's savepoint is rolled back (see `services.throttle`). Changes
pushed by devices are not repeated here: the operation log (`OperationLog`) already keeps who,
which device, when and every field's before and after (`queries.history`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.db import transaction
from sync_server.models import AuditEvent, User


class Action:
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_LOCKED = "login_locked"
    CONFLICT_SETTLED = "conflict_settled"
    EXPORT = "export"
    IMPORT = "import"  # detail: kind ("grid" or "completions"), files, counts, via
    REVIEW_APPROVED = "review_approved"
    REVIEW_SENT_BACK = "review_sent_back"
    USER_ADDED = "user_added"
    USER_ACTIVATED = "user_activated"
    USER_DEACTIVATED = "user_deactivated"
    GRIDS_ASSIGNED = "grids_assigned"
    GRID_GIVEN = "grid_given"
    DEVICE_REVOKED = "device_revoked"
    USER_SIGNED_OUT = "user_signed_out"  # detail: ended (how many sign-ins), via

    ALL = (
        LOGIN,
        LOGIN_FAILED,
        LOGIN_LOCKED,
        CONFLICT_SETTLED,
        EXPORT,
        IMPORT,
        REVIEW_APPROVED,
        REVIEW_SENT_BACK,
        USER_ADDED,
        USER_ACTIVATED,
        USER_DEACTIVATED,
        GRIDS_ASSIGNED,
        GRID_GIVEN,
        DEVICE_REVOKED,
        USER_SIGNED_OUT,
    )


def record(
    session: Session,
    action: str,
    *,
    user: User | None = None,
    username: str = "",
    device_id: str | None = None,
    ip: str = "",
    entity: str | None = None,
    record_id: str | None = None,
    **detail: Any,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        user_id=user.id if user else None,
        username=(user.username if user else username)[:64],
        device_id=device_id,
        ip=ip[:64],
        entity=entity,
        record_id=record_id,
        detail=detail,
    )
    session.add(event)
    return event


def record_apart(factory: sessionmaker[Session], action: str, *, user: User, **fields: Any) -> None:
    """Record an event in its own short transaction, for read-only requests (exports).

    A read-only request's transaction is deferred; on SQLite, turning it into a writer after it
    has read can fail when another process wrote in between, so the event is written apart.
    """
    with transaction(factory) as session:
        record(session, action, user=user, **fields)


def events_for_record(session: Session, entity: str, record_id: str) -> Sequence[AuditEvent]:
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.record_id == record_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()


def recent(
    session: Session, *, action: str | None = None, limit: int = 200
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return session.scalars(query).all()
