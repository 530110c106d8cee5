"""Campaigns: the list with progress, creating one (admins), and importing platform completions.

Everything goes through `console.campaigns.campaign_port()`. Progress over a whole district is
real work (every target's status), so the list page loads each campaign's bar on its own
(`/campaigns/{id}/bar`, fetched by htmx once the page shows; a plain link without JavaScript).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from sync_server.api.deps import client_ip, get_clock
from sync_server.console.access import node_for
from sync_server.console.campaigns import CampaignPort, CampaignRef, campaign_port
from sync_server.console.deps import AdminPostDep, ConsoleSessionDep, Viewer, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import inspections, new_router
from sync_server.errors import Invalid, NotFound
from sync_server.models import GridNode
from sync_server.queries.places import children_of
from sync_server.services.businesses import list_types
from sync_server.services.staff import grids_by_code

router = new_router()
UPLOAD_CHUNK = 1024 * 1024
KINDS = ("testing", "vaccination", "verification", "inspection")


def _port() -> CampaignPort:
    port = campaign_port()
    if port is None:
        raise NotFound("campaigns are not available in this build", code="no_campaigns")
    return port


def viewer_node(session: Session, viewer: Viewer, campaign: CampaignRef) -> GridNode | None:
    """Where a viewer follows a campaign: its grid, or their own part of it."""
    if viewer.scope.covers_path(campaign.grid_path):
        return session.get(GridNode, campaign.grid_id)
    for root in viewer.scope.root_paths:
        if root.startswith(campaign.grid_path):
            node_id = root.strip("/").split("/")[-1]
            return session.get(GridNode, node_id)
    return None


@router.get("/campaigns")
def listing(request: Request, viewer: ViewerDep, session: ConsoleSessionDep) -> HTMLResponse:
    port = campaign_port()
    found = port.campaigns(session=session, user=viewer.user) if port else []
    return render(
        request,
        "campaigns.html",
        viewer=viewer,
        available=port is not None,
        campaigns=found,
        kinds=KINDS,
        business_types=list_types(session=session, active_only=True),
        today=get_clock(request).today(),
    )


@router.get("/campaigns/{campaign_id}/bar")
def bar(
    request: Request, campaign_id: str, viewer: ViewerDep, session: ConsoleSessionDep
) -> HTMLResponse:
    port = _port()
    campaign = port.get(session=session, user=viewer.user, campaign_id=campaign_id)
    node = viewer_node(session, viewer, campaign)
    if campaign.kind == inspections.KIND:
        return inspections.bar(request, session, viewer, campaign.id, node)
    progress = (
        port.progress(
            session=session,
            user=viewer.user,
            campaign_id=campaign.id,
            node=node,
            now=get_clock(request).now(),
        ).get(node.id)
        if node is not None
        else None
    )
    return render(request, "_campaign_bar.html", viewer=viewer, p=progress)


@router.post("/campaigns")
def create(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    kind: Annotated[str, Form(max_length=20)],
    start_date: Annotated[date, Form()],
    end_date: Annotated[date, Form()],
    grid_code: Annotated[str, Form(max_length=64)],
    age_min: Annotated[str, Form(max_length=3)] = "",
    age_max: Annotated[str, Form(max_length=3)] = "",
    business_types: Annotated[list[str] | None, Form(max_length=36)] = None,
) -> Response:
    [grid] = grids_by_code(session=session, codes=[grid_code.strip()])
    created = _port().create(
        session=session,
        user=viewer.user,
        name=name,
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        grid=grid,
        # An empty number field arrives as "": no bound.
        age_min=_age(age_min),
        age_max=_age(age_max),
        now=get_clock(request).now(),
        # A business inspection's types (none ticked: every type); other kinds have none.
        business_types=tuple(business_types or ()),
    )
    return RedirectResponse(f"/console/campaigns/{created.id}?msg=campaign_created", 303)


def _age(text: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise Invalid(f"an age is a whole number, not {text!r}", code="invalid_campaign")
    return int(text)


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    port: CampaignPort,
    campaign: CampaignRef,
    node_id: str | None,
    result: object = None,
) -> HTMLResponse:
    root = (
        node_for(session=session, viewer=viewer, node_id=node_id)
        if node_id
        else viewer_node(session, viewer, campaign)
    )
    if root is None:
        raise NotFound("this campaign does not cover your grids")
    children = [
        c for c in children_of(session=session, node=root) if viewer.scope.covers_path(c.path)
    ]
    progress = port.progress(
        session=session,
        user=viewer.user,
        campaign_id=campaign.id,
        node=root,
        now=get_clock(request).now(),
    )
    return render(
        request,
        "campaign.html",
        viewer=viewer,
        campaign=campaign,
        root=root,
        children=children,
        progress=progress,
        result=result,
    )


@router.get("/campaigns/{campaign_id}")
def show(
    request: Request,
    campaign_id: str,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: str | None = None,
) -> Response:
    port = _port()
    campaign = port.get(session=session, user=viewer.user, campaign_id=campaign_id)
    if campaign.kind == inspections.KIND:  # a business inspection has its own progress page
        where = f"?node={quote(node)}" if node else ""
        return RedirectResponse(f"/console/inspections/{campaign.id}{where}", 303)
    return _page(request, session, viewer, port, campaign, node)


@router.post("/campaigns/{campaign_id}/completions")
def import_completions(
    request: Request,
    campaign_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    """Import the platform's completion file; the page then shows the progress it made."""
    port = _port()
    campaign = port.get(session=session, user=viewer.user, campaign_id=campaign_id)
    name = Path((file.filename or "completions.csv").replace("\\", "/")).name
    if Path(name).suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise Invalid(f"{name}: only .xlsx and .csv files can be imported", code="file_type")
    with tempfile.TemporaryDirectory(prefix="gs-completions-") as folder:
        path = Path(folder) / name
        with path.open("wb") as out:
            while chunk := file.file.read(UPLOAD_CHUNK):
                out.write(chunk)
        result = port.import_completions(
            session=session,
            user=viewer.user,
            campaign_id=campaign.id,
            path=path,
            file_name=name,
            now=get_clock(request).now(),
            ip=client_ip(request),
        )
    return _page(request, session, viewer, port, campaign, None, result)
