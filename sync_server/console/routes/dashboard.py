"""The dashboard: the grid drilled down level by level to a house, and the fleet of devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from sync_server.api.deps import get_clock
from sync_server.console.access import house_for, node_for
from sync_server.console.campaigns import Progress, campaign_port
from sync_server.console.deps import ConsoleSessionDep, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.queries.fleet import fleet, summarize
from sync_server.queries.grid import TreeNode, grid_tree
from sync_server.queries.history import count_open_conflicts
from sync_server.queries.places import (
    ancestors,
    grid_houses_page,
    grid_workers,
    worker_candidates,
)
from sync_server.services.review import count_queue
from sync_server.services.scope import Scope

router = new_router()


@router.get("")
def home(request: Request, viewer: ViewerDep, session: ConsoleSessionDep) -> HTMLResponse:
    roots = grid_tree(session=session, scope=viewer.scope)
    port = campaign_port()
    clock = get_clock(request)
    today = clock.today()
    running = (
        [c for c in port.campaigns(session=session, user=viewer.user) if c.running_on(today)]
        if port
        else []
    )
    return render(
        request,
        "home.html",
        viewer=viewer,
        roots=roots,
        totals=_totals(roots),
        pending_reviews=count_queue(session=session, user=viewer.user),
        open_conflicts=count_open_conflicts(session=session) if viewer.is_admin else None,
        devices=summarize(fleet(session=session, scope=viewer.scope), clock.now()),
        running=running,
    )


def _totals(roots: list[TreeNode]) -> dict[str, int]:
    return {
        "houses": sum(r.houses for r in roots),
        "households": sum(r.households for r in roots),
        "residents": sum(r.residents for r in roots),
    }


@router.get("/grid/{node_id}")
def grid_node(
    request: Request,
    node_id: str,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    campaign: str | None = None,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """A grid with its children's counts; a level-5 grid also lists its houses, a page at a
    time, searched by room, address or the name of someone living there (`q`)."""
    node = node_for(session=session, viewer=viewer, node_id=node_id)
    # Counting only this subtree keeps a level-5 page as fast in the district as in a village.
    [tree] = grid_tree(
        session=session, scope=Scope(everything=False, root_paths=(node.path,)), root_id=node.id
    )
    crumbs = ancestors(session=session, node=node)
    port = campaign_port()
    campaigns = (
        [c for c in port.campaigns(session=session, user=viewer.user) if c.covers(node)]
        if port
        else []
    )
    # The one asked for; otherwise a campaign running today, so a sweep day opens on its bars.
    today = get_clock(request).today()
    chosen = next((c for c in campaigns if c.id == campaign), None) if campaign else None
    if chosen is None and campaign is None:
        chosen = next((c for c in campaigns if c.running_on(today)), None)
    progress: dict[str, Progress] = {}
    if port is not None and chosen is not None:
        progress = port.progress(
            session=session,
            user=viewer.user,
            campaign_id=chosen.id,
            node=node,
            now=get_clock(request).now(),
        )
    leaf = node.level == 5
    workers = grid_workers(session=session, grid_id=node.id) if leaf else []
    return render(
        request,
        "grid.html",
        viewer=viewer,
        node=node,
        tree=tree,
        crumbs=[(c, viewer.scope.covers_path(c.path)) for c in crumbs],
        houses=grid_houses_page(session=session, grid_id=node.id, q=q, page=page) if leaf else None,
        workers=workers,
        candidates=worker_candidates(session=session, near=node)
        if leaf and viewer.is_admin
        else [],
        campaigns=campaigns,
        campaign=chosen,
        progress=progress,
    )


@router.get("/house/{house_id}")
def house(
    request: Request, house_id: str, viewer: ViewerDep, session: ConsoleSessionDep
) -> HTMLResponse:
    detail = house_for(session=session, viewer=viewer, house_id=house_id)
    crumbs = ancestors(session=session, node=detail.grid)
    return render(
        request,
        "house.html",
        viewer=viewer,
        detail=detail,
        crumbs=[(c, viewer.scope.covers_path(c.path)) for c in [*crumbs, detail.grid]],
    )


@router.get("/fleet")
def fleet_page(request: Request, viewer: ViewerDep, session: ConsoleSessionDep) -> Response:
    return render(
        request, "fleet.html", viewer=viewer, workers=fleet(session=session, scope=viewer.scope)
    )
