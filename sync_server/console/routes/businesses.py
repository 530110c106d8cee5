"""Businesses (商户) in the console: the list per grid subtree for supervisors and admins, and
for admins the business types with each type's checklist editor and the business import.

Thin: the list comes from `queries.business_list`, writes go through `services.businesses`
(which record the change rows phones pull), the import through `services.imports`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from shared.businesses import BusinessStatus
from sync_server.console.access import node_for
from sync_server.console.deps import ConsoleSessionDep, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.queries.business_list import business_page
from sync_server.services.businesses import list_types

router = new_router()
PAGE = 100


@router.get("/businesses")
def listing(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: Annotated[str, Query(max_length=36)] = "",
    type: Annotated[str, Query(max_length=36)] = "",
    status: Annotated[str, Query(pattern="^(open|suspended|closed)?$")] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    """The businesses of `node`'s subtree (else of the viewer's grids), a page at a time."""
    chosen = node_for(session=session, viewer=viewer, node_id=node) if node else None
    rows = business_page(
        session=session,
        scope=viewer.scope,
        under=chosen,
        type_id=type,
        status=status,
        limit=PAGE + 1,  # one more tells whether a next page exists
        offset=(page - 1) * PAGE,
    )
    return render(
        request,
        "businesses.html",
        viewer=viewer,
        rows=rows[:PAGE],
        chosen=chosen,
        types=list_types(session=session),
        statuses=[s.value for s in BusinessStatus],
        type=type,
        status=status,
        page=page,
        has_next=len(rows) > PAGE,
    )
