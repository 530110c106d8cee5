"""The audit trail page: who signed in, changed, settled, reviewed, exported, imported or managed
what, from which device and address, and when; admins see all, supervisors their subtree's."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from sync_server.console.deps import ConsoleSessionDep, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.queries.audit_trail import CHANGE, TrailFilter, linkable, trail
from sync_server.queries.history import ref_labels
from sync_server.services.audit import Action

router = new_router()
PAGE = 50
ACTIONS = (CHANGE, *Action.ALL)


@router.get("/audit")
def audit_page(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    action: Annotated[str, Query(max_length=40)] = "",
    user: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    filters = TrailFilter(
        # An unknown action shows nothing rather than everything.
        action=action or None,
        username=user.strip() or None,
        since=since,
        until=until,
    )
    rows = trail(
        session=session,
        scope=viewer.scope,
        viewer_id=viewer.user.id,
        filters=filters,
        limit=PAGE + 1,  # one more tells whether a next page exists
        offset=(page - 1) * PAGE,
    )
    shown = rows[:PAGE]
    return render(
        request,
        "audit.html",
        viewer=viewer,
        rows=shown,
        refs=ref_labels(session, [r.change for r in shown if r.change is not None]),
        actions=ACTIONS,
        action=action,
        user=user,
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        linkable=linkable,
        page=page,
        has_next=len(rows) > PAGE,
    )
