"""`import_grid`: the grid sheet first, then the roster, in one caller-owned transaction.

Grid rows are read completely before the roster because roster rows refer to grid codes, and the
user may pass the roster file first or keep both in one workbook in any sheet order.
"""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from shared.clock import china_date
from sync_server.importer.feed import ChangeSink, NoChanges
from sync_server.importer.grids import load_grid_rows
from sync_server.importer.layout import GRID, ROSTER
from sync_server.importer.reader import open_sheets
from sync_server.importer.report import ImportReport
from sync_server.importer.roster import load_roster
from sync_server.importer.rows import GridRow, parse_grid_row


def import_grid(
    *,
    session: Session,
    paths: list[Path],
    user_id: str | None = None,
    changes: ChangeSink | None = None,
    now: datetime,
) -> ImportReport:
    """Load grid nodes, places, residents and bindings from .xlsx/.csv files; never commits.

    Bad rows are reported in the returned report and skipped; every good row is loaded. Running
    it again on the same files changes nothing. Every created or changed record is announced to
    `changes` (a `ChangeSet`, so devices pull it). `now` is the server's clock; its date in China
    is the default move-in date.
    """
    # Not `changes or ...`: an empty ChangeSet is falsy, and its records would be lost.
    sink: ChangeSink = NoChanges() if changes is None else changes
    report = ImportReport()
    today = china_date(now)
    with ExitStack() as stack:
        sheets = open_sheets(paths, stack, report)
        grid_rows: list[GridRow] = []
        for sheet in (s for s in sheets if s.layout is GRID):
            for data in sheet.rows():
                report.rows_read += 1
                parsed = parse_grid_row(data.values, data.where)
                if isinstance(parsed, list):
                    for error in parsed:
                        report.add(data.where, error)
                else:
                    grid_rows.append(parsed)
        grids = load_grid_rows(
            session=session,
            rows=grid_rows,
            user_id=user_id,
            report=report,
            changes=sink,
            now=now,
        )
        load_roster(
            session=session,
            sheets=[s for s in sheets if s.layout is ROSTER],
            grids=grids,
            user_id=user_id,
            report=report,
            changes=sink,
            today=today,
            now=now,
        )
    return report
