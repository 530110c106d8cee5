"""Conflicts (admins): a filterable queue, the three values side by side, settling one or many.

Settling goes through `services.conflicts.resolve`, exactly as the API does: a settlement is an
ordinary change that every device in scope pulls. A field conflict may be settled field by field
(server's value, device's value, or a typed one); that becomes one "values" resolution.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.protocol import Resolution
from sync_server.api.deps import client_ip
from sync_server.console.deps import AdminDep, AdminPostDep, ConsoleSessionDep, FormDep
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.errors import DomainError, Invalid
from sync_server.models import ConflictRecord
from sync_server.queries.conflict_details import conflict_detail, conflict_rows
from sync_server.services import conflicts

router = new_router()
PAGE = 100
KINDS = ("field", "delete", "duplicate")
BULK_CHOICES = ("server", "device", "merge", "discard")


@router.get("/conflicts")
def listing(
    request: Request,
    viewer: AdminDep,
    session: ConsoleSessionDep,
    status: Annotated[str, Query(pattern="^(open|resolved)$")] = "open",
    kind: Annotated[str, Query(pattern="^(field|delete|duplicate)?$")] = "",
    entity: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> HTMLResponse:
    found = conflicts.list_conflicts(
        session=session,
        user=viewer.user,
        status=status,
        kind=kind or None,
        entity=entity or None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    return render(
        request,
        "conflicts.html",
        viewer=viewer,
        rows=conflict_rows(session=session, views=found.items),
        total=found.total,
        status=status,
        kind=kind,
        entity=entity,
        kinds=KINDS,
        page=page,
        has_next=page * PAGE < found.total,
        bulk_choices=BULK_CHOICES,
    )


@router.get("/conflicts/{conflict_id}")
def show(
    request: Request, conflict_id: str, viewer: AdminDep, session: ConsoleSessionDep
) -> HTMLResponse:
    record = conflicts.get_conflict(session=session, user=viewer.user, conflict_id=conflict_id)
    detail = conflict_detail(
        session=session, view=conflicts.view(record), held_ops=record.held_ops or []
    )
    return render(request, "conflict.html", viewer=viewer, detail=detail, c=detail.row.view)


def _resolution(record: ConflictRecord, form: FormDep) -> Resolution:
    """The form's choice as a service Resolution; per-field picks become "values" when mixed."""
    choice = str(form.get("choice", ""))
    if record.kind == "duplicate":
        if choice == "device":
            return Resolution(choice="device", values={"id_number": str(form.get("id_number", ""))})
        if choice in ("merge", "discard"):
            return Resolution(choice=choice)
        raise Invalid("choose merge, discard or keep both", code="choice_missing")
    if record.kind == "delete":
        if choice in ("server", "device"):
            return Resolution(choice=choice)
        raise Invalid("choose keep or delete", code="choice_missing")
    picks = {f["field"]: str(form.get(f"pick.{f['field']}", "")) for f in record.fields}
    if any(p not in ("server", "device", "other") for p in picks.values()):
        raise Invalid("choose a value for every field", code="choice_missing")
    if all(p == "server" for p in picks.values()):
        return Resolution(choice="server")
    if all(p == "device" for p in picks.values()):
        return Resolution(choice="device")
    values: dict[str, Any] = {}
    for f in record.fields:
        pick = picks[f["field"]]
        if pick == "other":
            typed = str(form.get(f"value.{f['field']}", "")).strip()
            values[f["field"]] = typed or None
        else:
            values[f["field"]] = f[pick]
    return Resolution(choice="values", values=values)


@router.post("/conflicts/{conflict_id}/settle")
def settle(
    request: Request,
    conflict_id: str,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    form: FormDep,
) -> Response:
    record = conflicts.get_conflict(session=session, user=viewer.user, conflict_id=conflict_id)
    conflicts.resolve(
        session=session,
        user=viewer.user,
        conflict_id=conflict_id,
        resolution=_resolution(record, form),
        clock=request.app.state.hlc,
        now=request.app.state.clock.now(),
        ip=client_ip(request),
    )
    return RedirectResponse("/console/conflicts?msg=settled", status_code=303)


@router.post("/conflicts/settle")
def settle_many(
    request: Request,
    viewer: AdminPostDep,
    session: ConsoleSessionDep,
    choice: Annotated[str, Form(pattern="^(server|device|merge|discard)$")],
    ids: Annotated[list[str], Form(max_length=500)],
) -> HTMLResponse:
    """Each conflict settles alone in a savepoint; those that cannot be settled so are listed."""
    resolution = Resolution(choice=choice)
    settled: list[str] = []
    failed: list[tuple[str, str, str]] = []
    for conflict_id in ids:
        try:
            with session.begin_nested():
                conflicts.resolve(
                    session=session,
                    user=viewer.user,
                    conflict_id=conflict_id,
                    resolution=resolution,
                    clock=request.app.state.hlc,
                    now=request.app.state.clock.now(),
                    ip=client_ip(request),
                )
            settled.append(conflict_id)
        except DomainError as exc:
            failed.append((conflict_id, exc.code, exc.detail))
    return render(
        request, "conflicts_bulk.html", viewer=viewer, settled=settled, failed=failed, choice=choice
    )
