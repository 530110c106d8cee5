"""Units (入网单位) in the console: the list of units a viewer may look at, and one unit's claim
list (认领清单) with filters by community, category and overdue.

Thin: both come from `queries.claim_list`; a unit that serves nothing of the viewer's is "not
found", as any record outside their scope.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from sync_server.api.deps import get_clock
from sync_server.console.deps import ConsoleSessionDep, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.errors import NotFound
from sync_server.models import MatterCategory
from sync_server.queries.claim_list import (
    PAGE_SIZE,
    ClaimFilter,
    claim_list,
    served_communities,
    unit_for,
    units,
)

router = new_router()


@router.get("/units")
def listing(request: Request, viewer: ViewerDep, session: ConsoleSessionDep) -> HTMLResponse:
    return render(
        request, "units.html", viewer=viewer, units=units(session=session, user=viewer.user)
    )


@router.get("/units/{org_id}/claims")
def claims(
    request: Request,
    org_id: str,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    community: str = "",
    category: str = "",
    overdue: str = "",
    page: int = 1,
) -> HTMLResponse:
    org = unit_for(session=session, user=viewer.user, org_id=org_id)
    if org is None:
        raise NotFound(f"unit {org_id} does not exist")
    communities = served_communities(session=session, user=viewer.user, org=org)
    wanted = ClaimFilter(
        community=next((c for c in communities if c.id == community), None),
        category=category,
        overdue=overdue == "1",
    )
    found = claim_list(
        session=session,
        user=viewer.user,
        org=org,
        wanted=wanted,
        now=get_clock(request).now(),
        page=page,
    )
    categories = list(
        session.scalars(
            select(MatterCategory)
            .where(MatterCategory.deleted.is_(False))
            .order_by(MatterCategory.name)
        )
    )
    return render(
        request,
        "claims.html",
        viewer=viewer,
        org=org,
        claims=found,
        wanted=wanted,
        communities=communities,
        categories=categories,
        page=max(page, 1),
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )
