"""Review: recent changes, the full history of a record, and the new-resident/move-out queue.

A decision row keeps only the latest decision on an operation; every decision also goes to the
audit trail, on the operation's record, so a send-back later approved keeps both in its history.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from sync_server.api.deps import client_ip, get_clock
from sync_server.console.deps import ConsoleSessionDep, PostDep, Viewer, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.errors import NotFound
from sync_server.queries.history import recent_changes, record_history, ref_labels
from sync_server.queries.record_scope import SCOPED_ENTITIES, record_in_scope
from sync_server.services import audit, review

router = new_router()
PAGE = 50


@router.get("/changes")
def changes(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    entity: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(pattern="^(applied|merged|conflict|rejected)?$")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    found = recent_changes(
        session=session,
        scope=viewer.scope,
        limit=PAGE + 1,  # one more tells whether a next page exists
        offset=(page - 1) * PAGE,
        entity=entity or None,
        status=status or None,
    )
    shown = found[:PAGE]
    return render(
        request,
        "changes.html",
        viewer=viewer,
        changes=shown,
        refs=ref_labels(session, shown),
        entities=SCOPED_ENTITIES,
        entity=entity or "",
        status=status or "",
        page=page,
        has_next=len(found) > PAGE,
    )


@router.get("/history/{entity}/{record_id}")
def history(
    request: Request, entity: str, record_id: str, viewer: ViewerDep, session: ConsoleSessionDep
) -> HTMLResponse:
    if not record_in_scope(session=session, scope=viewer.scope, entity=entity, record_id=record_id):
        raise NotFound(f"no {entity} {record_id}")
    found = record_history(session=session, entity=entity, record_id=record_id)
    if not found.exists and not found.events:
        raise NotFound(f"no {entity} {record_id}")
    trail = audit.events_for_record(session, entity, record_id)
    return render(request, "history.html", viewer=viewer, history=found, audit_events=trail)


@router.get("/review")
def queue(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    status: Annotated[review.ReviewStatus, Query()] = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    items = review.review_queue(
        session=session, user=viewer.user, status=status, limit=PAGE + 1, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "review.html",
        viewer=viewer,
        items=items[:PAGE],
        status=status,
        page=page,
        has_next=len(items) > PAGE,
        counts={
            s: review.count_queue(session=session, user=viewer.user, status=s)
            for s in ("pending", "sent_back", "approved")
        },
    )


def _decide(
    request: Request,
    viewer: Viewer,
    session: ConsoleSessionDep,
    op_id: str,
    *,
    approve: bool,
    reason: str = "",
) -> review.ReviewItem:
    item = review.decide(
        session=session,
        user=viewer.user,
        op_id=op_id,
        approve=approve,
        reason=reason,
        now=get_clock(request).now(),
    )
    audit.record(
        session,
        audit.Action.REVIEW_APPROVED if approve else audit.Action.REVIEW_SENT_BACK,
        user=viewer.user,
        ip=client_ip(request),
        entity=item.op.entity,
        record_id=item.op.record_id,
        op_id=item.op.op_id,
        kind=item.kind,
        **({} if approve else {"reason": reason.strip()}),
    )
    return item


def _done(request: Request, viewer: PostDep, item: review.ReviewItem, message: str) -> Response:
    if request.headers.get("HX-Request"):
        # htmx swaps the decided row in place; without JavaScript the form reloads the queue.
        return render(request, "_review_row.html", viewer=viewer, item=item, done=message)
    return RedirectResponse(f"/console/review?msg={message}", status_code=303)


@router.post("/review/approve")
def approve_many(
    request: Request,
    viewer: PostDep,
    session: ConsoleSessionDep,
    op_ids: Annotated[list[str], Form(max_length=500)],
) -> Response:
    for op_id in op_ids:
        _decide(request, viewer, session, op_id, approve=True)
    return RedirectResponse("/console/review?msg=approved", status_code=303)


@router.post("/review/{op_id}/approve")
def approve(request: Request, op_id: str, viewer: PostDep, session: ConsoleSessionDep) -> Response:
    item = _decide(request, viewer, session, op_id, approve=True)
    return _done(request, viewer, item, "approved")


@router.post("/review/{op_id}/send-back")
def send_back(
    request: Request,
    op_id: str,
    viewer: PostDep,
    session: ConsoleSessionDep,
    reason: Annotated[str, Form(max_length=review.REASON_MAX)] = "",
) -> Response:
    item = _decide(request, viewer, session, op_id, approve=False, reason=reason)
    return _done(request, viewer, item, "sent_back")
