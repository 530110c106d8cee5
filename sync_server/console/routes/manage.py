"""Management (admins): users and their devices, grid assignment, and the grid base-data import.

Every change made here is written to the audit trail in the same transaction as the change.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from starlette.background import BackgroundTask

from shared.schema import Role
from sync_server.api.deps import client_ip, get_clock
from sync_server.console.access import node_for
from sync_server.console.deps import AdminDep, AdminPostDep, ConsoleSessionDep, Viewer
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.errors import Invalid, NotFound
from sync_server.importer import write_template
from sync_server.models import Device, User
from sync_server.queries.fleet import device_row
from sync_server.services import audit, staff
from sync_server.services import devices as device_service
from sync_server.services.imports import Actor, import_base_data
from sync_server.services.matters import org_by_name
from sync_server.services.users import assign_grids, create_user

router = new_router()
MAX_UPLOAD_FILES = 10
UPLOAD_CHUNK = 1024 * 1024


def _audit(
    session: ConsoleSessionDep, request: Request, viewer: Viewer, action: str, **fields: Any
) -> None:
    audit.record(session, action, user=viewer.user, ip=client_ip(request), **fields)


@router.get("/manage/users")
def users(
    request: Request,
    viewer: AdminDep,
    session: ConsoleSessionDep,
    role: Annotated[str, Query(pattern="^(worker|supervisor|admin|handler)?$")] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    inactive: bool = False,
) -> HTMLResponse:
    query = select(User).order_by(User.role, User.username)
    if role:
        query = query.where(User.role == role)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(User.username.like(like), User.display_name.like(like)))
    if not inactive:
        query = query.where(User.active.is_(True))
    found = session.scalars(query.limit(501)).all()
    return render(
        request,
        "users.html",
        viewer=viewer,
        users=found[:500],
        truncated=len(found) > 500,
        role=role,
        q=q,
        inactive=inactive,
        roles=[r.value for r in Role],
    )


@router.post("/manage/users")
def add_user(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    role: Annotated[str, Form(pattern="^(worker|supervisor|admin|handler)$")],
    display_name: Annotated[str, Form(max_length=100)] = "",
    grids: Annotated[str, Form(max_length=4000)] = "",
    org: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    found = org_by_name(session=session, name=org) if org.strip() else None
    if org.strip() and found is None:
        raise Invalid(f"no organisation is named {org.strip()!r}", field="org")
    user = create_user(
        session=session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        grids=staff.grids_by_code(session=session, codes=grids),
        org=found,
    )
    _audit(
        session,
        request,
        viewer,
        audit.Action.USER_ADDED,
        entity="user",
        record_id=user.id,
        of=user.username,
        role=user.role,
        grids=[ug.grid.code for ug in user.grids],
    )
    return RedirectResponse(f"/console/manage/users/{user.id}?msg=user_added", status_code=303)


@router.get("/manage/users/{user_id}")
def user_page(
    request: Request, user_id: str, viewer: AdminDep, session: ConsoleSessionDep
) -> HTMLResponse:
    user = staff.get_user(session=session, user_id=user_id)
    devices = session.scalars(
        select(Device).where(Device.user_id == user.id).order_by(Device.created_at)
    ).all()
    return render(
        request,
        "user.html",
        viewer=viewer,
        person=user,
        grids=sorted((ug.grid for ug in user.grids), key=lambda g: g.code),
        devices=[device_row(d) for d in devices],
    )


@router.post("/manage/users/{user_id}/active")
def set_active(
    request: Request,
    user_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    active: Annotated[bool, Form()],
) -> Response:
    staff.set_active(
        session=session,
        actor=viewer.user,
        user_id=user_id,
        active=active,
        now=get_clock(request).now(),
        via="console",
        ip=client_ip(request),
    )
    message = "user_activated" if active else "user_deactivated"
    return RedirectResponse(f"/console/manage/users/{user_id}?msg={message}", status_code=303)


@router.post("/manage/users/{user_id}/sign-out")
def sign_out_everywhere(
    request: Request, user_id: str, viewer: AdminPostDep, session: ConsoleSessionDep
) -> Response:
    """End every sign-in of the user, the account staying active."""
    staff.sign_out_everywhere(
        session=session,
        actor=viewer.user,
        user_id=user_id,
        now=get_clock(request).now(),
        via="console",
        ip=client_ip(request),
    )
    if user_id == viewer.user.id:  # their own console session ended too
        return RedirectResponse("/console/login", status_code=303)
    return RedirectResponse(f"/console/manage/users/{user_id}?msg=user_signed_out", status_code=303)


@router.post("/manage/users/{user_id}/grids")
def set_grids(
    request: Request,
    user_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    grids: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    user = staff.get_user(session=session, user_id=user_id)
    before = sorted(ug.grid.code for ug in user.grids)
    assign_grids(
        session=session, user=user, grids=staff.grids_by_code(session=session, codes=grids)
    )
    _audit(
        session,
        request,
        viewer,
        audit.Action.GRIDS_ASSIGNED,
        entity="user",
        record_id=user.id,
        of=user.username,
        before=before,
        after=sorted(ug.grid.code for ug in user.grids),
    )
    return RedirectResponse(f"/console/manage/users/{user_id}?msg=grids_saved", status_code=303)


@router.post("/manage/devices/{device_id}/revoke")
def revoke_device(
    request: Request, device_id: str, viewer: AdminPostDep, session: ConsoleSessionDep
) -> Response:
    device = device_service.revoke_device(
        session=session, actor=viewer.user, device_id=device_id, now=get_clock(request).now()
    )
    owner = session.get(User, device.user_id)
    _audit(
        session,
        request,
        viewer,
        audit.Action.DEVICE_REVOKED,
        entity="device",
        record_id=device.id,
        of=owner.username if owner else "",
        device_name=device.name,
    )
    return RedirectResponse(
        f"/console/manage/users/{device.user_id}?msg=device_revoked", status_code=303
    )


@router.post("/manage/grids/{grid_id}/give")
def give_grid(
    request: Request,
    grid_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    username: Annotated[str, Form(max_length=64)],
) -> Response:
    grid = node_for(session=session, viewer=viewer, node_id=grid_id)
    to_user = session.scalar(select(User).where(User.username == username.strip()))
    if to_user is None:
        raise NotFound(f"no user {username!r}", code="unknown_user")
    before = staff.give_grid(session=session, actor=viewer.user, grid=grid, to_user=to_user)
    _audit(
        session,
        request,
        viewer,
        audit.Action.GRID_GIVEN,
        entity="grid_node",
        record_id=grid.id,
        grid=grid.code,
        to=to_user.username,
        before=sorted(u.username for u in before),
    )
    return RedirectResponse(f"/console/grid/{grid.id}?msg=grid_given", status_code=303)


# --- grid base-data import -----------------------------------------------------------------


@router.get("/manage/import")
def import_form(request: Request, viewer: AdminDep) -> HTMLResponse:
    return render(request, "import.html", viewer=viewer, report=None, dry_run=False, files=[])


@router.get("/manage/import/template.xlsx")
def import_template(viewer: AdminDep) -> FileResponse:
    folder = tempfile.mkdtemp(prefix="gs-template-")
    path = Path(folder) / "gridsweep-import-template.xlsx"
    write_template(path)
    return FileResponse(
        path,
        filename=path.name,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        background=BackgroundTask(_remove_tree, Path(folder)),
    )


def _remove_tree(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink(missing_ok=True)
    folder.rmdir()


def _upload_name(upload: UploadFile) -> str:
    # The report names CSV sheets by file name, so keep the user's name, minus any path.
    name = Path((upload.filename or "upload").replace("\\", "/")).name
    if Path(name).suffix.lower() not in (".xlsx", ".csv"):
        raise Invalid(f"{name}: only .xlsx and .csv files can be imported", code="file_type")
    return name


def save_uploads(files: list[UploadFile], folder: Path) -> list[Path]:
    """The uploaded files written into `folder` under the user's names (1 to 10 .xlsx/.csv)."""
    if not files or len(files) > MAX_UPLOAD_FILES:
        raise Invalid(f"choose 1 to {MAX_UPLOAD_FILES} files", code="file_count")
    paths = []
    for upload in files:
        path = folder / _upload_name(upload)
        with path.open("wb") as out:
            while chunk := upload.file.read(UPLOAD_CHUNK):
                out.write(chunk)
        paths.append(path)
    return paths


@router.post("/manage/import")
def run_import(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    files: Annotated[list[UploadFile], File()],
    dry_run: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    with tempfile.TemporaryDirectory(prefix="gs-import-") as folder:
        paths = save_uploads(files, Path(folder))
        report = import_base_data(
            session=session,
            paths=paths,
            actor=Actor(via="console", user=viewer.user, ip=client_ip(request)),
            now=get_clock(request).now(),
            dry_run=dry_run,
        )
    return render(
        request,
        "import.html",
        viewer=viewer,
        report=report,
        dry_run=dry_run,
        files=[p.name for p in paths],
    )
