"""Businesses (商户) in the console: the list per grid subtree for supervisors and admins, and
for admins the business types with each type's checklist editor and the business import.

Thin: the list comes from `queries.business_list`, writes go through `services.businesses`
(which record the change rows phones pull), the import through `services.imports`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.businesses import BusinessStatus
from sync_server.api.deps import client_ip, get_clock
from sync_server.console.access import node_for
from sync_server.console.deps import AdminDep, AdminPostDep, ConsoleSessionDep, Viewer, ViewerDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.console.routes.manage import save_uploads
from sync_server.importer.businesses import BUSINESSES, BusinessImportReport
from sync_server.importer.report import RowError
from sync_server.queries.business_list import business_page
from sync_server.services.businesses import (
    checklist,
    find_type,
    list_types,
    move_item,
    save_item,
    save_type,
)
from sync_server.services.imports import Actor, import_business_file

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


# --- business types and their checklists (admins) -------------------------------------------

TYPES = "/console/manage/business-types"


@router.get("/manage/business-types")
def types_page(request: Request, viewer: AdminDep, session: ConsoleSessionDep) -> HTMLResponse:
    kinds = list_types(session=session)
    counts = {k.id: len(checklist(session=session, business_type_id=k.id)) for k in kinds}
    return render(request, "business_types.html", viewer=viewer, types=kinds, counts=counts)


@router.post("/manage/business-types")
def add_type(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    code: Annotated[str, Form(max_length=40)],
    name: Annotated[str, Form(max_length=50)],
    name_en: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    row = save_type(
        session=session,
        user=viewer.user,
        code=code,
        name=name,
        name_en=name_en,
        sort_order=(len(list_types(session=session)) + 1) * 10,
        now=get_clock(request).now(),
    )
    return RedirectResponse(f"{TYPES}/{row.id}?msg=business_type_saved", status_code=303)


@router.get("/manage/business-types/{type_id}")
def checklist_page(
    request: Request, type_id: str, viewer: AdminDep, session: ConsoleSessionDep
) -> HTMLResponse:
    kind = find_type(session, type_id)
    return render(
        request,
        "checklist.html",
        viewer=viewer,
        kind=kind,
        items=checklist(session=session, business_type_id=kind.id),
    )


@router.post("/manage/business-types/{type_id}")
def edit_type(
    request: Request,
    type_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    code: Annotated[str, Form(max_length=40)],
    name: Annotated[str, Form(max_length=50)],
    name_en: Annotated[str, Form(max_length=100)] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    kind = find_type(session, type_id)
    save_type(
        session=session,
        user=viewer.user,
        code=code,
        name=name,
        name_en=name_en,
        sort_order=kind.sort_order,
        active=active,
        type_id=kind.id,
        now=get_clock(request).now(),
    )
    return RedirectResponse(f"{TYPES}/{kind.id}?msg=business_type_saved", status_code=303)


@router.post("/manage/business-types/{type_id}/items")
def add_item(
    request: Request,
    type_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    code: Annotated[str, Form(max_length=40)],
    text: Annotated[str, Form(max_length=300)],
    text_en: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    item = save_item(
        session=session,
        user=viewer.user,
        business_type_id=type_id,
        code=code,
        text=text,
        text_en=text_en,
        now=get_clock(request).now(),
    )
    return RedirectResponse(
        f"{TYPES}/{item.business_type_id}?msg=checklist_item_saved", status_code=303
    )


@router.post("/manage/business-types/{type_id}/items/{item_id}")
def edit_item(
    request: Request,
    type_id: str,
    item_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    code: Annotated[str, Form(max_length=40)],
    text: Annotated[str, Form(max_length=300)],
    text_en: Annotated[str, Form(max_length=300)] = "",
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Change an item's wording, or retire it (unticked `active`): items are never deleted,
    since checks already made name them."""
    item = save_item(
        session=session,
        user=viewer.user,
        business_type_id=type_id,
        item_id=item_id,
        code=code,
        text=text,
        text_en=text_en,
        active=active,
        now=get_clock(request).now(),
    )
    return RedirectResponse(
        f"{TYPES}/{item.business_type_id}?msg=checklist_item_saved", status_code=303
    )


@router.post("/manage/business-types/{type_id}/items/{item_id}/move")
def move(
    request: Request,
    type_id: str,
    item_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    direction: Annotated[str, Form(pattern="^(up|down)$")],
) -> Response:
    move_item(
        session=session,
        user=viewer.user,
        business_type_id=type_id,
        item_id=item_id,
        up=direction == "up",
        now=get_clock(request).now(),
    )
    return RedirectResponse(f"{TYPES}/{type_id}?msg=checklist_item_moved", status_code=303)


# --- the business import (admins) ------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """A business import's report in the shape the import page shows (import.html)."""

    rows_read: int
    rejected_rows: int
    counts: dict[str, dict[str, int]]
    errors: list[RowError]
    warnings: list[RowError]
    notes: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


def _shown(report: BusinessImportReport) -> _Shown:
    return _Shown(
        rows_read=report.rows_read,
        rejected_rows=report.rejected,
        counts={
            "business": {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
            }
        },
        errors=[e for e in report.errors if e.level != "warning"],
        warnings=[e for e in report.errors if e.level == "warning"],
        notes=report.notes,
        ignored_columns=report.ignored_columns,
    )


def _import_page(
    request: Request,
    viewer: Viewer,
    report: BusinessImportReport | None,
    dry_run: bool,
    files: list[str],
) -> HTMLResponse:
    return render(
        request,
        "import.html",
        viewer=viewer,
        report=_shown(report) if report is not None else None,
        dry_run=dry_run,
        files=files,
        action="/console/manage/businesses/import",
        title_key="import.business_title",
        columns=BUSINESSES.columns,
    )


@router.get("/manage/businesses/import")
def import_form(request: Request, viewer: AdminDep) -> HTMLResponse:
    return _import_page(request, viewer, None, False, [])


@router.post("/manage/businesses/import")
def run_import(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    files: Annotated[list[UploadFile], File()],
    dry_run: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    """Import businesses; rows with errors are left out and listed with their row and reason."""
    with tempfile.TemporaryDirectory(prefix="gs-import-") as folder:
        paths = save_uploads(files, Path(folder))
        report = import_business_file(
            session=session,
            paths=paths,
            actor=Actor(via="console", user=viewer.user, ip=client_ip(request)),
            now=get_clock(request).now(),
            dry_run=dry_run,
        )
    return _import_page(request, viewer, report, dry_run, [p.name for p in paths])
