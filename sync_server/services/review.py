"""Reviewing what workers pushed: new residents and move-outs, approved or sent back.

The queue is derived from the operation log, so every new resident (a resident create) and every
move-out (a binding update that sets end_date) that was applied is reviewable with no extra
bookkeeping in push. A decision is one `ReviewDecision` row per operation. Sending back records a
reason; the pull service then delivers it to the device that made the operation as a review note,
on every pull, until the device acknowledges that it has stored the note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session

from shared.protocol import ReviewNote
from shared.schema import Role
from sync_server.errors import Forbidden, Invalid, NotFound
from sync_server.models import Binding, Device, OperationLog, Resident, ReviewDecision, User
from sync_server.queries.labels import record_labels
from sync_server.queries.record_scope import ops_in_scope, record_in_scope
from sync_server.services.scope import Scope, scope_of

ReviewStatus = Literal["pending", "approved", "sent_back"]
REASON_MAX = 500


def reviewable() -> ColumnElement[bool]:
    """Operations that need a reviewer: applied new residents and applied move-outs."""
    move_out = OperationLog.fields["end_date"]["new"].as_string().is_not(None)
    return and_(
        OperationLog.status.in_(("applied", "merged")),
        or_(
            and_(OperationLog.entity == "resident", OperationLog.kind == "create"),
            and_(OperationLog.entity == "binding", OperationLog.kind == "update", move_out),
        ),
    )


def review_kind(op: OperationLog) -> Literal["new_resident", "move_out"]:
    return "new_resident" if op.entity == "resident" else "move_out"


@dataclass(frozen=True)
class ReviewItem:
    op: OperationLog
    kind: Literal["new_resident", "move_out"]
    decision: ReviewDecision | None
    worker: str
    device: str
    label: str
    values: dict[str, Any]  # the operation's new values

    @property
    def status(self) -> ReviewStatus:
        if self.decision is None:
            return "pending"
        return "approved" if self.decision.status == "approved" else "sent_back"


def _require_reviewer(user: User) -> Scope:
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only supervisors and administrators review changes", code="forbidden")
    return scope_of(user)


def _queue_query(scope: Scope, status: ReviewStatus) -> Any:
    query = (
        select(OperationLog, ReviewDecision)
        .outerjoin(ReviewDecision, ReviewDecision.op_id == OperationLog.op_id)
        .where(reviewable(), ops_in_scope(scope))
    )
    if status == "pending":
        return query.where(ReviewDecision.op_id.is_(None))
    return query.where(ReviewDecision.status == status)


def count_queue(*, session: Session, user: User, status: ReviewStatus = "pending") -> int:
    scope = _require_reviewer(user)
    query = _queue_query(scope, status)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def review_queue(
    *,
    session: Session,
    user: User,
    status: ReviewStatus = "pending",
    limit: int = 50,
    offset: int = 0,
) -> list[ReviewItem]:
    """Reviewable operations in the user's subtree, newest first."""
    scope = _require_reviewer(user)
    rows = session.execute(
        _queue_query(scope, status)
        .order_by(OperationLog.received_at.desc(), OperationLog.op_id)
        .limit(limit)
        .offset(offset)
    ).all()
    pairs = list(rows)
    return _items(session, pairs)


def _items(
    session: Session, pairs: Sequence[tuple[OperationLog, ReviewDecision | None]]
) -> list[ReviewItem]:
    user_ids = {op.user_id for op, _ in pairs}
    device_ids = {op.device_id for op, _ in pairs}
    names: dict[str, str] = dict(
        session.execute(
            select(User.id, func.coalesce(func.nullif(User.display_name, ""), User.username)).where(
                User.id.in_(user_ids)
            )
        ).all()
    )
    devices = dict(
        session.execute(select(Device.id, Device.name).where(Device.id.in_(device_ids))).all()
    )
    labels = record_labels(session=session, refs={(op.entity, op.record_id) for op, _ in pairs})
    return [
        ReviewItem(
            op=op,
            kind=review_kind(op),
            decision=decision,
            worker=names.get(op.user_id, op.user_id[:8]),
            device=devices.get(op.device_id) or op.device_id[:8],
            label=labels.get((op.entity, op.record_id), op.record_id[:8]),
            values={k: v.get("new") for k, v in op.fields.items()},
        )
        for op, decision in pairs
    ]


def get_item(*, session: Session, user: User, op_id: str) -> ReviewItem:
    scope = _require_reviewer(user)
    op = session.get(OperationLog, op_id)
    # Out of scope looks exactly like absent: errors never reveal records outside the scope.
    if (
        op is None
        or not session.scalar(select(func.count()).where(OperationLog.op_id == op_id, reviewable()))
        or not record_in_scope(
            session=session, scope=scope, entity=op.entity, record_id=op.record_id
        )
    ):
        raise NotFound(f"no reviewable change {op_id}")
    return _items(session, [(op, session.get(ReviewDecision, op_id))])[0]


def decide(
    *,
    session: Session,
    user: User,
    op_id: str,
    approve: bool,
    now: datetime,
    reason: str = "",
) -> ReviewItem:
    """Approve an operation, or send it back with a reason that reaches the worker's device."""
    item = get_item(session=session, user=user, op_id=op_id)
    reason = reason.strip()
    if not approve and not reason:
        raise Invalid("say why the change is sent back", code="reason_required", field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(f"the reason is longer than {REASON_MAX} characters", field="reason")
    decision = item.decision or ReviewDecision(
        op_id=item.op.op_id,
        kind=item.kind,
        entity=item.op.entity,
        record_id=item.op.record_id,
        user_id=item.op.user_id,
        device_id=item.op.device_id,
    )
    decision.status = "approved" if approve else "sent_back"
    decision.reason = "" if approve else reason
    decision.reviewed_by = user.id
    decision.reviewed_at = now
    # A new send-back is a new message: the device must acknowledge it again.
    decision.acknowledged_at = None
    session.add(decision)
    session.flush()
    return _items(session, [(item.op, decision)])[0]


def acknowledge_notes(
    *, session: Session, device_id: str, op_ids: Sequence[str], now: datetime
) -> None:
    """Record the notes the device says it has stored: they are not sent to it again."""
    if not op_ids:
        return
    session.execute(
        update(ReviewDecision)
        .where(
            ReviewDecision.device_id == device_id,
            ReviewDecision.op_id.in_(list(op_ids)),
            ReviewDecision.status == "sent_back",
            ReviewDecision.acknowledged_at.is_(None),
        )
        .values(acknowledged_at=now)
    )


def pending_notes(
    *, session: Session, device_id: str, excluding: Sequence[str] = ()
) -> list[ReviewNote]:
    """The sent-back notes the device has not acknowledged (nor is acknowledging: `excluding`)."""
    rows = session.execute(
        select(ReviewDecision, User)
        .join(User, User.id == ReviewDecision.reviewed_by)
        .where(
            ReviewDecision.device_id == device_id,
            ReviewDecision.status == "sent_back",
            ReviewDecision.acknowledged_at.is_(None),
            ReviewDecision.op_id.not_in(list(excluding)),
        )
        .order_by(ReviewDecision.reviewed_at, ReviewDecision.op_id)
    ).all()
    people = _people_of(session, [decision for decision, _ in rows])
    return [
        ReviewNote(
            op_id=decision.op_id,
            entity=decision.entity,
            record_id=decision.record_id,
            kind=decision.kind,
            reason=decision.reason,
            sent_back_at=decision.reviewed_at,
            sent_back_by=reviewer.display_name or reviewer.username,
            resident_id=people.get(decision.record_id, (None, ""))[0],
            name=people.get(decision.record_id, (None, ""))[1],
        )
        for decision, reviewer in rows
    ]


def _people_of(session: Session, decisions: Sequence[ReviewDecision]) -> dict[str, tuple[str, str]]:
    """record id -> (resident id, name) of the person each sent-back change was about: the new
    resident, or the person a move-out's binding bound."""
    resident_of = {d.record_id: d.record_id for d in decisions if d.entity == "resident"}
    bindings = [d.record_id for d in decisions if d.entity == "binding"]
    if bindings:
        resident_of |= dict(
            session.execute(
                select(Binding.id, Binding.resident_id).where(Binding.id.in_(bindings))
            ).all()
        )
    names: dict[str, str] = dict(
        session.execute(
            select(Resident.id, Resident.name).where(Resident.id.in_(set(resident_of.values())))
        ).all()
    )
    return {
        record_id: (resident_id, names.get(resident_id, ""))
        for record_id, resident_id in resident_of.items()
    }
