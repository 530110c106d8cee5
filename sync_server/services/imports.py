"""The one way an import runs, whatever starts it (CLI, console, API): parse, check and write
(the importer), then report, audit and announce, with dry-run as a parameter.

Entry points only turn their input into files on disk and an `Actor`, open the one transaction
of their request or command, and call `import_base_data` or `import_completion_file`. These never
commit: the caller's transaction commits everything the import wrote, its audit event and its
change-feed entries together, or nothing.

A dry run runs the import inside a savepoint and rolls it back, so it checks every row against
the real data (which grids and people exist) and leaves no trace: no records, no audit event, no
change-feed entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from sync_server.importer import ImportReport, import_grid
from sync_server.importer.businesses import BusinessImportReport, import_businesses
from sync_server.importer.completions import CompletionReport, import_completions
from sync_server.models import Campaign, User
from sync_server.services import audit
from sync_server.services.changes import ChangeSet, commit_changes

Report = TypeVar("Report")


@dataclass(frozen=True)
class Actor:
    """Who runs an import and through what, for the audit trail."""

    via: str  # "cli", "console" or "api"
    user: User | None = None
    username: str = ""  # without an account (the CLI on the server): `cli:<OS user>`
    ip: str = ""
    device_id: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user is not None else None


def import_base_data(
    *, session: Session, paths: list[Path], actor: Actor, now: datetime, dry_run: bool = False
) -> ImportReport:
    """Grid base data (grids, places, residents, bindings) from .xlsx/.csv files."""

    def load(changes: ChangeSet) -> ImportReport:
        return import_grid(
            session=session, paths=paths, user_id=actor.user_id, changes=changes, now=now
        )

    def detail(report: ImportReport) -> dict[str, Any]:
        return {
            "kind": "grid",
            "files": [p.name for p in paths],
            "rows_read": report.rows_read,
            "rejected": len(report.errors),
            "warnings": len(report.warnings),
            "counts": report.counts,
        }

    return _run(session=session, actor=actor, dry_run=dry_run, load=load, detail=detail)


def import_business_file(
    *, session: Session, paths: list[Path], actor: Actor, now: datetime, dry_run: bool = False
) -> BusinessImportReport:
    """Businesses (商户) from .xlsx/.csv files (docs/business-inspections.md)."""

    def load(changes: ChangeSet) -> BusinessImportReport:
        return import_businesses(
            session=session, paths=paths, user_id=actor.user_id, changes=changes, now=now
        )

    def detail(report: BusinessImportReport) -> dict[str, Any]:
        return {
            "kind": "businesses",
            "files": [p.name for p in paths],
            "rows_read": report.rows_read,
            "rejected": report.rejected,
            "created": report.created,
            "updated": report.updated,
        }

    return _run(session=session, actor=actor, dry_run=dry_run, load=load, detail=detail)


def import_completion_file(
    *,
    session: Session,
    campaign: Campaign,
    path: Path,
    file_name: str,
    actor: Actor,
    now: datetime,
    dry_run: bool = False,
) -> CompletionReport:
    """A campaign's platform completion data (ID number, time, place) from one .csv/.xlsx."""

    def load(changes: ChangeSet) -> CompletionReport:
        return import_completions(
            session=session,
            campaign=campaign,
            path=path,
            file_name=file_name,
            user_id=actor.user_id,
            changes=changes,
            now=now,
        )

    def detail(report: CompletionReport) -> dict[str, Any]:
        return {
            "kind": "completions",
            "campaign_id": campaign.id,
            "files": [report.file_name],
            "batch_id": report.batch_id,
            "rows_read": report.rows_read,
            "imported": report.imported,
            "rejected": report.rejected_rows,
        }

    return _run(session=session, actor=actor, dry_run=dry_run, load=load, detail=detail)


def _run(
    *,
    session: Session,
    actor: Actor,
    dry_run: bool,
    load: Callable[[ChangeSet], Report],
    detail: Callable[[Report], Mapping[str, Any]],
) -> Report:
    changes = ChangeSet()
    with session.begin_nested() as savepoint:
        report = load(changes)
        if dry_run:
            savepoint.rollback()
    if dry_run:
        return report
    audit.record(
        session,
        audit.Action.IMPORT,
        user=actor.user,
        username=actor.username,
        device_id=actor.device_id,
        ip=actor.ip,
        via=actor.via,
        **detail(report),
    )
    # Devices pull what the import created or changed like any other change; the sequence
    # numbers must be the transaction's last write (services.changes).
    commit_changes(session=session, changes=changes)
    return report
