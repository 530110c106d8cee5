"""`services.imports`: the one import service every entry point calls. A run writes the records,
one audit event and the change-feed entries in the caller's transaction; a dry run checks every
row against the real data and leaves none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync_server.models import AuditEvent, Change, Resident
from sync_server.services.imports import Actor, import_base_data
from tests.sync_server.data.make_office_sheets import CSV, XLSX
from tests.sync_server.test_import_grid import NOW

ROOT = Path(__file__).resolve().parents[2]
ACTOR = Actor(via="cli", username="cli:office")


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_dry_run_reports_everything_and_leaves_no_trace(session: Session) -> None:
    report = import_base_data(
        session=session, paths=[XLSX, CSV], actor=ACTOR, now=NOW, dry_run=True
    )
    session.flush()
    assert report.counts["residents"]["created"] == 13 and len(report.warnings) == 7
    assert (_count(session, Resident), _count(session, AuditEvent), _count(session, Change)) == (
        0,
        0,
        0,
    )


def test_a_run_writes_records_one_audit_event_and_the_change_feed(session: Session) -> None:
    report = import_base_data(session=session, paths=[XLSX, CSV], actor=ACTOR, now=NOW)
    session.flush()
    assert _count(session, Resident) == 13
    (event,) = session.scalars(select(AuditEvent))
    assert (event.action, event.username) == ("import", "cli:office")
    assert event.detail["via"] == "cli" and event.detail["kind"] == "grid"
    assert event.detail["files"] == [XLSX.name, CSV.name]
    assert (event.detail["rejected"], event.detail["warnings"]) == (1, 7)
    assert event.detail["counts"] == report.counts
    assert _count(session, Change) > 0  # devices pull what the import wrote


# Every place that starts an import: each calls the service and orchestrates nothing itself.
ENTRY_POINTS = [
    "sync_server/cli.py",
    "sync_server/console/routes/manage.py",
    "sync_server/console/campaigns.py",
    "sync_server/api/routes/campaigns.py",
]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_entry_points_leave_the_import_to_the_service(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert not names & {"import_grid", "import_completions", "ChangeSet", "commit_changes"}
    assert names & {"import_base_data", "import_completion_file"}
