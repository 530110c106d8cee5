"""Campaigns: create and list them, import platform completions, progress per node, missed lists.

docs/campaigns.md describes the rules; these routes only parse, call one service or query, and
shape the answer.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, Response, UploadFile, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.campaigns import CAMPAIGN_KIND_ZH, OUTCOME_ZH, Tally
from shared.protocol import (
    CampaignCreate,
    CampaignList,
    CampaignProgress,
    CampaignView,
    CompletionImportResult,
    ImportRowError,
    ProgressCounts,
    ProgressNode,
)
from shared.schema import LEAF_LEVEL, Role
from sync_server.api.deps import CallerDep, ClockDep, DeviceCallerDep, SessionDep, client_ip
from sync_server.api.responses import BODY, SIGNED_IN, problems
from sync_server.errors import Invalid
from sync_server.exports.missed import missed_csv, missed_xlsx
from sync_server.importer.completions import CompletionReport
from sync_server.importer.report import RowError
from sync_server.models import Campaign, GridNode, User, subtree_bounds
from sync_server.queries.campaign_progress import MissedRow, missed_rows, rule_of, sweep_under
from sync_server.services import audit, campaigns
from sync_server.services.imports import Actor, import_completion_file
from sync_server.services.scope import require_node_in_scope, scope_of

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

UPLOAD_SUFFIXES = (".csv", ".xlsx", ".xlsm")
NodeQuery = Annotated[
    str | None,
    Query(description="grid node id or code; default: the campaign's grid (or your own)"),
]


def view(campaign: Campaign) -> CampaignView:
    return CampaignView(
        id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        kind_zh=CAMPAIGN_KIND_ZH.get(campaign.kind, campaign.kind),
        start_date=campaign.start_date,
        end_date=campaign.end_date,
        rule=rule_of(campaign),
        grid_code=campaign.grid.code,
        grid_name=campaign.grid.name,
        version=campaign.version,
        updated_at=campaign.updated_at,
    )


@router.post(
    "",
    response_model=CampaignView,
    status_code=status.HTTP_201_CREATED,
    responses=problems(BODY, SIGNED_IN, 404),
)
def create(
    body: CampaignCreate, caller: CallerDep, session: SessionDep, clock: ClockDep
) -> CampaignView:
    """A new campaign (admins): `days` from `start_date`, ages `age_min` to age_min + `age_span`.

    The answer holds the campaign as stored: its `end_date` (start_date + days - 1) and its rule's
    `age_max`. `rule.grid_id` may be a grid's id or its code; a grid that does not exist is 404
    `unknown_grid`.
    """
    return view(
        campaigns.create_campaign(
            session=session, user=caller.user, body=body.campaign(), now=clock.now()
        )
    )


@router.get("", response_model=CampaignList, responses=problems(SIGNED_IN))
def list_all(caller: CallerDep, session: SessionDep) -> CampaignList:
    """The campaigns covering the caller's grids, newest first."""
    found = campaigns.list_campaigns(session=session, user=caller.user)
    return CampaignList(items=[view(c) for c in found])


@router.get("/{campaign_id}", response_model=CampaignView, responses=problems(SIGNED_IN, 404, 422))
def show(campaign_id: str, caller: CallerDep, session: SessionDep) -> CampaignView:
    return view(campaigns.get_campaign(session=session, user=caller.user, campaign_id=campaign_id))


@router.post(
    "/{campaign_id}/completions",
    response_model=CompletionImportResult,
    responses=problems(BODY, SIGNED_IN, 404),
)
def upload_completions(
    campaign_id: str,
    caller: CallerDep,
    session: SessionDep,
    clock: ClockDep,
    request: Request,
    file: Annotated[UploadFile, File(description="platform completions, .csv or .xlsx")],
    dry_run: bool = False,
) -> CompletionImportResult:
    """Import platform completion data (admins): bad rows are reported, the rest imported.

    Importing the same file again adds nothing. With `dry_run` nothing is written.
    """
    campaigns.require_admin(caller.user, "import platform data")
    campaign = campaigns.get_campaign(session=session, user=caller.user, campaign_id=campaign_id)
    name = Path(file.filename or "upload.csv").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise Invalid(f"upload a .csv or .xlsx file, not {suffix or 'a file without a suffix'}")
    with tempfile.TemporaryDirectory(prefix="gs-upload-") as directory:
        path = Path(directory) / f"upload{suffix}"
        with path.open("wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        report = import_completion_file(
            session=session,
            campaign=campaign,
            path=path,
            file_name=name,
            actor=Actor(
                via="api",
                user=caller.user,
                ip=client_ip(request),
                device_id=caller.device.id if caller.device else None,
            ),
            now=clock.now(),
            dry_run=dry_run,
        )
    return import_result(report)


def import_result(report: CompletionReport) -> CompletionImportResult:
    return CompletionImportResult(
        batch_id=str(report.batch_id) if report.batch_id is not None else None,
        campaign_id=report.campaign_id,
        file_name=report.file_name,
        rows_read=report.rows_read,
        imported=report.imported,
        duplicates=report.duplicates,
        rejected_rows=report.rejected_rows,
        residents_completed=report.residents_completed,
        error_counts=dict(report.error_counts),
        errors=[_row(e) for e in report.errors],
        warnings=[_row(w) for w in report.warnings],
        ignored_columns=report.ignored_columns,
        notes=report.notes,
    )


def _row(found: RowError) -> ImportRowError:
    return ImportRowError(
        sheet=found.sheet,
        row=found.row,
        column=found.column,
        code=found.code,
        reason=found.reason,
        reason_zh=found.reason_zh,
    )


# --- progress and the missed list ----------------------------------------------------------


def _node(session: Session, user: User, campaign: Campaign, ref: str | None) -> GridNode:
    """The node asked for, or the campaign's grid, or the caller's one grid under it."""
    if ref is not None:
        node = campaigns.find_grid(session, ref)
    elif scope_of(user).covers_path(campaign.grid.path):
        node = campaign.grid
    else:
        mine = [
            ug.grid
            for ug in user.grids
            if ug.grid.path.startswith(campaign.grid.path) and not ug.grid.deleted
        ]
        if len(mine) != 1:
            raise Invalid("name the grid node: ?node=<id or code>", code="node_required")
        node = mine[0]
    require_node_in_scope(user, node)
    return node


def _counts(tally: Tally | None) -> ProgressCounts:
    tally = tally or Tally()
    return ProgressCounts(
        targets=tally.targets,
        completed=tally.completed,
        settled=tally.settled,
        missed=tally.missed,
        unvisited=tally.unvisited,
        by_outcome={k: tally.by_outcome.get(k, 0) for k in OUTCOME_ZH},
    )


@router.get(
    "/{campaign_id}/progress",
    response_model=CampaignProgress,
    responses=problems(SIGNED_IN, 404, 422),
)
def progress(
    campaign_id: str,
    caller: CallerDep,
    session: SessionDep,
    node: NodeQuery = None,
    depth: Annotated[int, Query(ge=0, le=LEAF_LEVEL - 1, description="levels of children")] = 1,
) -> CampaignProgress:
    """Targets, completed, settled and missed (with outcomes) at a node and the levels below it.

    Every count is over distinct residents: a target is counted at each node above any grid
    they live in, once.
    """
    campaign = campaigns.get_campaign(session=session, user=caller.user, campaign_id=campaign_id)
    root = _node(session, caller.user, campaign, node)
    swept = sweep_under(session=session, campaign=campaign, node=root)
    tallies = swept.tallies()
    low, high = subtree_bounds(root.path)
    nodes = session.scalars(
        select(GridNode)
        .where(
            GridNode.deleted.is_(False),
            GridNode.path >= low,
            GridNode.path < high,
            GridNode.level <= root.level + depth,
        )
        .order_by(GridNode.code)
    )
    children: dict[str | None, list[GridNode]] = {}
    for n in nodes:
        children.setdefault(n.parent_id, []).append(n)

    def build(n: GridNode) -> ProgressNode:
        return ProgressNode(
            id=n.id,
            code=n.code,
            name=n.name,
            level=n.level,
            counts=_counts(tallies.get(n.id)),
            children=[build(c) for c in children.get(n.id, [])],
        )

    return CampaignProgress(campaign_id=campaign.id, node=build(root))


def _missed_file(
    campaign_id: str, caller: CallerDep, session: Session, node: str | None, request: Request
) -> tuple[Campaign, GridNode, list[MissedRow]]:
    campaign = campaigns.get_campaign(session=session, user=caller.user, campaign_id=campaign_id)
    root = _node(session, caller.user, campaign, node)
    swept = sweep_under(session=session, campaign=campaign, node=root)
    rows = missed_rows(session=session, swept=swept, unmask=caller.user.role == Role.ADMIN)
    audit.record_apart(
        request.app.state.sessionmaker,
        audit.Action.EXPORT,
        user=caller.user,
        device_id=caller.device.id if caller.device else None,
        ip=client_ip(request),
        entity="grid_node",
        record_id=root.id,
        export="missed",
        via="api",
        campaign_id=campaign.id,
        node_id=root.id,
        rows=len(rows),
    )
    return campaign, root, rows


def _download(
    body: bytes, media_type: str, campaign: Campaign, node: GridNode, ext: str
) -> Response:
    name = f"{campaign.name}-{node.name}-漏检名单.{ext}"
    return Response(
        content=body,
        media_type=media_type,
        headers={
            "Content-Disposition": f"attachment; filename=missed.{ext}; "
            f"filename*=UTF-8''{quote(name)}"
        },
    )


@router.get(
    "/{campaign_id}/missed.xlsx", response_class=Response, responses=problems(SIGNED_IN, 404, 422)
)
def missed_excel(
    campaign_id: str,
    caller: DeviceCallerDep,
    session: SessionDep,
    request: Request,
    node: NodeQuery = None,
) -> Response:
    """The missed targets under a node, in walking order, for notification calls (Excel).

    ID numbers show only their last four characters unless the caller is an admin.
    """
    campaign, root, rows = _missed_file(campaign_id, caller, session, node, request)
    title = f"{campaign.name} · {root.name}（{root.code}）漏检名单，共 {len(rows)} 人"
    body = missed_xlsx(rows, title=title)
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return _download(body, media, campaign, root, "xlsx")


@router.get(
    "/{campaign_id}/missed.csv", response_class=Response, responses=problems(SIGNED_IN, 404, 422)
)
def missed_text(
    campaign_id: str,
    caller: DeviceCallerDep,
    session: SessionDep,
    request: Request,
    node: NodeQuery = None,
) -> Response:
    """The same list as CSV (UTF-8 with BOM)."""
    campaign, root, rows = _missed_file(campaign_id, caller, session, node, request)
    return _download(missed_csv(rows), "text/csv; charset=utf-8", campaign, root, "csv")
