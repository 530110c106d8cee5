"""Matters (事项): the board, one matter's page with its timeline and photos, the steps a
supervisor or admin takes on it, and its photos for a console session.

Thin: the board and page come from `queries.matter_board`; a step goes through
`services.matter_console.take_step`, i.e. the push pipeline. A refused step (someone moved the
matter meanwhile: `stale_transition`) shows the matter's page again with the refusal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from shared.matters import MATTER_SOURCE_EN, MATTER_STATE_EN
from sync_server.api.deps import BlobsDep, client_ip, get_clock, get_hlc
from sync_server.config import Settings
from sync_server.console import matter_cells
from sync_server.console.access import node_for
from sync_server.console.deps import ConsoleSessionDep, PostDep, Viewer, ViewerDep
from sync_server.console.render import formatter_for, render
from sync_server.console.routes import new_router
from sync_server.console.tables import MEDIA_TYPES, Format, write_table
from sync_server.errors import NotFound
from sync_server.models import GridNode, MatterCategory
from sync_server.queries.matter_board import (
    PAGE_SIZE,
    BoardFilter,
    board,
    dispatch_targets,
    export_rows,
    matter_page,
    scope_nodes,
)
from sync_server.queries.matter_counts import matter_counts, top_nodes
from sync_server.queries.places import children_of
from sync_server.services import audit, photos
from sync_server.services.auth import Caller
from sync_server.services.matter_console import StepOutcome, take_step

router = new_router()
STATES = tuple(MATTER_STATE_EN)
SOURCES = tuple(MATTER_SOURCE_EN)


def board_filter(
    session: Session,
    viewer: Viewer,
    state: str,
    node: str,
    category: str,
    source: str,
    overdue: str,
) -> BoardFilter:
    return BoardFilter(
        state=state if state in STATES else "",
        node=node_for(session=session, viewer=viewer, node_id=node) if node else None,
        category=category,
        source=source if source in SOURCES else "",
        overdue=overdue == "1",
    )


@router.get("/matters")
def listing(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    state: str = "",
    node: str = "",
    category: str = "",
    source: str = "",
    overdue: str = "",
    page: int = 1,
) -> HTMLResponse:
    wanted = board_filter(session, viewer, state, node, category, source, overdue)
    found = board(
        session=session, user=viewer.user, wanted=wanted, now=get_clock(request).now(), page=page
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
        "matters.html",
        viewer=viewer,
        board=found,
        wanted=wanted,
        states=STATES,
        sources=SOURCES,
        categories=categories,
        nodes=scope_nodes(session=session, user=viewer.user),
        page=max(page, 1),
        pages=max(1, -(-found.total // PAGE_SIZE)),
    )


@router.get("/matters/counts")
def counts(
    request: Request, viewer: ViewerDep, session: ConsoleSessionDep, node: str = ""
) -> HTMLResponse:
    """Counts for a node and its children (or the viewer's top nodes), each a drill-down link."""
    root = node_for(session=session, viewer=viewer, node_id=node) if node else None
    tops = [root] if root is not None else top_nodes(session=session, user=viewer.user)
    children = [
        c
        for top in tops
        for c in children_of(session=session, node=top)
        if viewer.scope.covers_path(c.path)
    ]
    parent = session.get(GridNode, root.parent_id) if root is not None and root.parent_id else None
    return render(
        request,
        "matter_counts.html",
        viewer=viewer,
        tops=tops,
        children=children,
        up=parent if parent is not None and viewer.scope.covers_path(parent.path) else None,
        counts=matter_counts(
            session=session, user=viewer.user, nodes=tops + children, now=get_clock(request).now()
        ),
    )


@router.get("/matters/export.{format}")
def export(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    format: Format,
    state: str = "",
    node: str = "",
    category: str = "",
    source: str = "",
    overdue: str = "",
) -> FileResponse:
    """The filtered board with each matter's timeline; personal data masked by role (the
    resident's phone whole for admins only, ID numbers in free text masked for supervisors)."""
    wanted = board_filter(session, viewer, state, node, category, source, overdue)
    now = get_clock(request).now()
    fmt = formatter_for(viewer, now)
    rows = (
        matter_cells.cells(fmt, r, now)
        for r in export_rows(session=session, user=viewer.user, wanted=wanted, now=now)
    )
    title = fmt.t("matters.title")
    path = write_table(format, title, [fmt.t(c) for c in matter_cells.COLUMNS], rows)
    audit.record_apart(
        request.app.state.sessionmaker,
        audit.Action.EXPORT,
        user=viewer.user,
        ip=client_ip(request),
        entity="grid_node" if wanted.node is not None else None,
        record_id=wanted.node.id if wanted.node is not None else None,
        export="matters",
        via="console",
        format=format,
    )
    return FileResponse(
        path,
        filename=f"matters-{get_clock(request).today():%Y%m%d}.{format}",
        media_type=MEDIA_TYPES[format],
        headers={"Cache-Control": "no-store"},  # personal data: no copies in caches
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _page(
    request: Request,
    session: Session,
    viewer: Viewer,
    matter_id: str,
    outcome: StepOutcome | None = None,
) -> HTMLResponse:
    found = matter_page(session=session, user=viewer.user, matter_id=matter_id)
    if found is None:
        raise NotFound(f"matter {matter_id} does not exist")
    orgs, people = dispatch_targets(session=session, matter=found.matter)
    refusal = None
    if outcome is not None:
        # Worded from the matter as it now is: its state, who moved it (by name), when.
        by = found.matter.state_by
        names = {by: found.state_by} if by and found.state_by else {}
        language = "en" if viewer.lang == "en" else "zh-CN"
        refusal = outcome.words(matter=found.matter, names=names, language=language)
    return render(
        request,
        "matter.html",
        viewer=viewer,
        mp=found,
        orgs=orgs,
        people=people,
        refusal=outcome,
        refusal_words=refusal,
        status_code=409 if outcome is not None else 200,
    )


@router.get("/matters/{matter_id}")
def show(
    request: Request, matter_id: str, viewer: ViewerDep, session: ConsoleSessionDep
) -> HTMLResponse:
    return _page(request, session, viewer, matter_id)


@router.post("/matters/{matter_id}/steps")
def step(
    request: Request,
    matter_id: str,
    viewer: PostDep,
    session: ConsoleSessionDep,
    action: Annotated[str, Form(max_length=20)],
    from_state: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    target: Annotated[str, Form(max_length=80)] = "",
) -> Response:
    if matter_page(session=session, user=viewer.user, matter_id=matter_id) is None:
        raise NotFound(f"matter {matter_id} does not exist")
    kind, _, target_id = target.partition(":")
    settings: Settings = request.app.state.settings
    outcome = take_step(
        session=session,
        user=viewer.user,
        matter_id=matter_id,
        action=action,
        from_state=from_state,
        reason=reason,
        org_id=target_id if kind == "org" else None,
        user_id=target_id if kind == "user" else None,
        clock=get_hlc(request),
        now=get_clock(request).now(),
        rating_window_days=settings.matter_rating_window_days,
    )
    if outcome.applied:
        return RedirectResponse(f"/console/matters/{matter_id}?msg=matter_step_done", 303)
    return _page(request, session, viewer, matter_id, outcome)


def _photo(session: Session, viewer: Viewer, blobs: BlobsDep, sha256: str, thumb: bool) -> Response:
    # The same rule as the phones' photo API (`services.photos.photo_bytes`), for this sign-in.
    data, content_type = photos.photo_bytes(
        session=session,
        blobs=blobs,
        caller=Caller(user=viewer.user, device=None),
        sha256=sha256,
        thumb=thumb,
    )
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/photos/{sha256}")
def photo(sha256: str, viewer: ViewerDep, session: ConsoleSessionDep, blobs: BlobsDep) -> Response:
    return _photo(session, viewer, blobs, sha256, thumb=False)


@router.get("/photos/{sha256}/thumb")
def thumb(sha256: str, viewer: ViewerDep, session: ConsoleSessionDep, blobs: BlobsDep) -> Response:
    return _photo(session, viewer, blobs, sha256, thumb=True)
