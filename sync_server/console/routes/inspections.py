"""Business inspection sweeps (排查整治): progress at every grid level with drill-down, and the
problem list per business with each matter's timeline as a spreadsheet.

The page has the campaign progress page's shape (the node's bar, a row per child node linking one
level down); its counts come from `queries.inspection_progress`, the list from
`queries.inspection_problems`, whose matter cells are the matters export's (`matter_cells`).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from sync_server.api.deps import client_ip, get_clock
from sync_server.console import matter_cells
from sync_server.console.access import node_for
from sync_server.console.deps import ConsoleSessionDep, Viewer, ViewerDep
from sync_server.console.render import formatter_for, render
from sync_server.console.routes import new_router
from sync_server.console.tables import MEDIA_TYPES, Format, write_table
from sync_server.errors import NotFound
from sync_server.models import Campaign, GridNode
from sync_server.queries.inspection_problems import problem_rows
from sync_server.queries.inspection_progress import inspection_under
from sync_server.queries.places import children_of
from sync_server.services import audit
from sync_server.services.campaigns import get_campaign

router = new_router()
KIND = "business_inspection"
BUSINESS_COLUMNS = (
    "inspection.business",
    "inspection.business_type",
    "inspection.licence_number",
    "inspection.address",
    "inspection.item",
)


def _inspection(session: Session, viewer: Viewer, campaign_id: str) -> Campaign:
    campaign = get_campaign(session=session, user=viewer.user, campaign_id=campaign_id)
    if campaign.kind != KIND:
        raise NotFound("there is no such business inspection", code="no_such_campaign")
    return campaign


def _root(session: Session, viewer: Viewer, campaign: Campaign, node_id: str) -> GridNode:
    """The node asked for, or where the viewer follows the campaign: its grid, or their part."""
    if node_id:
        return node_for(session=session, viewer=viewer, node_id=node_id)
    if viewer.scope.covers_path(campaign.grid.path):
        return campaign.grid
    for root in viewer.scope.root_paths:
        if root.startswith(campaign.grid.path):
            return node_for(session=session, viewer=viewer, node_id=root.strip("/").split("/")[-1])
    raise NotFound("this campaign does not cover your grids")


@router.get("/inspections/{campaign_id}")
def show(
    request: Request,
    campaign_id: str,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: str = "",
) -> HTMLResponse:
    campaign = _inspection(session, viewer, campaign_id)
    root = _root(session, viewer, campaign, node)
    children = [
        c for c in children_of(session=session, node=root) if viewer.scope.covers_path(c.path)
    ]
    parent = session.get(GridNode, root.parent_id) if root.parent_id else None
    swept = inspection_under(
        session=session, campaign=campaign, node=root, now=get_clock(request).now()
    )
    return render(
        request,
        "inspection.html",
        viewer=viewer,
        campaign=campaign,
        root=root,
        up=parent if parent is not None and viewer.scope.covers_path(parent.path) else None,
        children=children,
        tallies=swept.tallies,
    )


def bar(
    request: Request, session: Session, viewer: Viewer, campaign_id: str, node: GridNode | None
) -> HTMLResponse:
    """The campaign list's bar for a business inspection: checked of to check, and problems."""
    campaign = _inspection(session, viewer, campaign_id)
    tally = None
    if node is not None:
        now = get_clock(request).now()
        swept = inspection_under(session=session, campaign=campaign, node=node, now=now)
        tally = swept.tallies.get(node.id)
    return render(request, "_inspection_bar.html", viewer=viewer, p=tally)


@router.get("/inspections/{campaign_id}/problems.{format}")
def problems(
    request: Request,
    campaign_id: str,
    format: Format,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: str = "",
) -> FileResponse:
    """The problems the campaign's checks found under the node, business by business, each
    matter with its timeline; personal data masked by role as in the matters export."""
    campaign = _inspection(session, viewer, campaign_id)
    root = _root(session, viewer, campaign, node)
    now = get_clock(request).now()
    fmt = formatter_for(viewer, now)
    rows = (
        [
            p.business_name,
            p.business_type,
            p.licence_number,
            p.address,
            p.item,
            *matter_cells.cells(fmt, p.matter, now),
        ]
        for p in problem_rows(
            session=session, user=viewer.user, campaign=campaign, node=root, now=now
        )
    )
    headers = [fmt.t(c) for c in (*BUSINESS_COLUMNS, *matter_cells.COLUMNS)]
    title = fmt.t("inspection.problems_title")
    path = write_table(format, title, headers, rows)
    audit.record_apart(
        request.app.state.sessionmaker,
        audit.Action.EXPORT,
        user=viewer.user,
        ip=client_ip(request),
        entity="grid_node",
        record_id=root.id,
        export="inspection_problems",
        via="console",
        format=format,
    )
    return FileResponse(
        path,
        filename=f"problems-{root.code}-{get_clock(request).today():%Y%m%d}.{format}",
        media_type=MEDIA_TYPES[format],
        headers={"Cache-Control": "no-store"},  # personal data: no copies in caches
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
