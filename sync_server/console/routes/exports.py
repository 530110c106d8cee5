"""Exports of resident lists and missed lists to Excel and CSV, personal data masked by role.

Resident lists: admins get full ID numbers and phones; supervisors get both masked (the same
`Formatter` rule as every console page), written to disk row by row, then streamed and deleted.
Missed lists are the campaign services' own file (as the API serves it): ID numbers masked
except for admins, phones whole because the list exists to call the missed.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from sync_server.api.deps import client_ip, get_clock
from sync_server.console.access import node_for
from sync_server.console.campaigns import campaign_port
from sync_server.console.deps import ConsoleSessionDep, Viewer, ViewerDep
from sync_server.console.render import Formatter, formatter_for
from sync_server.console.routes import new_router
from sync_server.console.tables import MEDIA_TYPES, Format, write_table
from sync_server.errors import NotFound
from sync_server.models import GridNode
from sync_server.queries.places import resident_rows
from sync_server.services import audit

router = new_router()

RESIDENT_COLUMNS = (
    "grid_code",
    "grid_name",
    "address",
    "name",
    "id_number",
    "sex",
    "birth_date",
    "phone",
    "relation",
    "residence_status",
    "tags",
    "start_date",
)


def _send(path: Path, fmt: Format, name: str, today: date) -> FileResponse:
    return FileResponse(
        path,
        filename=f"{name}-{today:%Y%m%d}.{fmt}",
        media_type=MEDIA_TYPES[fmt],
        headers={"Cache-Control": "no-store"},  # personal data: no copies in caches
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


def _headers(fmt: Formatter, columns: tuple[str, ...]) -> list[str]:
    return [fmt.field(c) for c in columns]


def _audit(request: Request, viewer: Viewer, export: str, root: GridNode, **detail: str) -> None:
    # On the exported node, so its history (and its supervisors) show who took the list away.
    audit.record_apart(
        request.app.state.sessionmaker,
        audit.Action.EXPORT,
        user=viewer.user,
        ip=client_ip(request),
        entity="grid_node",
        record_id=root.id,
        export=export,
        via="console",
        node_id=root.id,
        **detail,
    )


@router.get("/export/residents")
def residents(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: Annotated[str, Query(max_length=36)],
    format: Annotated[Format, Query()] = "xlsx",
) -> FileResponse:
    root = node_for(session=session, viewer=viewer, node_id=node)
    fmt = formatter_for(viewer, get_clock(request).now())
    rows = (
        [
            r.grid_code,
            r.grid_name,
            r.address,
            r.name,
            fmt.id_number(r.id_number),
            fmt.sex(r.sex),
            r.birth_date.isoformat(),
            fmt.phone(r.phone),
            fmt.enum("relation", r.relation),
            fmt.enum("status", r.residence_status),
            "、".join(fmt.enum("tag", tag) for tag in r.tags),
            r.start_date.isoformat(),
        ]
        for r in resident_rows(session=session, root=root)
    )
    title = fmt.t("export.residents_title")
    path = write_table(format, title, _headers(fmt, RESIDENT_COLUMNS), rows)
    _audit(request, viewer, "residents", root, format=format)
    return _send(path, format, f"residents-{root.code}", get_clock(request).today())


@router.get("/export/missed")
def missed(
    request: Request,
    viewer: ViewerDep,
    session: ConsoleSessionDep,
    node: Annotated[str, Query(max_length=36)],
    campaign: Annotated[str, Query(max_length=36)],
    format: Annotated[Format, Query()] = "xlsx",
) -> FileResponse:
    """The campaign's own missed list (the API's, in walking order), for this node."""
    port = campaign_port()
    if port is None:
        raise NotFound("campaigns are not available in this build", code="no_campaigns")
    root = node_for(session=session, viewer=viewer, node_id=node)
    body = port.missed_file(
        session=session, user=viewer.user, campaign_id=campaign, node=root, fmt=format
    )
    descriptor, name = tempfile.mkstemp(prefix="gs-export-", suffix=f".{format}")
    with os.fdopen(descriptor, "wb") as out:
        out.write(body)
    _audit(request, viewer, "missed", root, campaign_id=campaign, format=format)
    return _send(Path(name), format, f"missed-{root.code}", get_clock(request).today())
