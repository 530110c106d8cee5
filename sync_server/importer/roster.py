"""Loading the 人房 roster: each row names a house and, optionally, the person living there.

Rows stream in; each is checked on its own (`rows`), against the grid (its code must be a level-5
grid), and against earlier rows (an ID number may appear once per import). Good rows are gathered
into chunks, and each chunk is written with a handful of bulk statements, so the cost per row stays
flat from 10 rows to the district's 270,000. A bad row is reported and skipped; it never stops the
rows after it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from shared.errors import FieldError
from shared.schema import LEAF_LEVEL
from sync_server.importer import people
from sync_server.importer.feed import ChangeSink
from sync_server.importer.grids import GridIndex, GridRef
from sync_server.importer.places import PlaceIndex
from sync_server.importer.reader import Sheet
from sync_server.importer.report import ImportReport, Where
from sync_server.importer.rows import RosterRow, parse_roster_row

CHUNK_ROWS = 2_000


def load_roster(
    *,
    session: Session,
    sheets: list[Sheet],
    grids: GridIndex,
    user_id: str | None,
    report: ImportReport,
    changes: ChangeSink,
    today: date,
    now: datetime,
) -> None:
    places = PlaceIndex(session, report, changes)
    writer = people.PeopleWriter(report, changes, user_id=user_id, now=now, today=today)
    first_seen: dict[str, Where] = {}  # ID number -> the row that brought it
    chunk: list[tuple[RosterRow, GridRef]] = []
    for sheet in sheets:
        for data in sheet.rows():
            report.rows_read += 1
            parsed = parse_roster_row(data.values, data.where, today=today)
            if isinstance(parsed, list):
                for error in parsed:
                    report.add(data.where, error)
                continue
            grid = _grid_of(parsed, grids)
            if isinstance(grid, FieldError):
                report.add(data.where, grid)
                continue
            if parsed.person is not None:
                id_number = parsed.person.id_number
                if id_number in first_seen:
                    report.add(data.where, _duplicate(id_number, first_seen[id_number]))
                    continue
                first_seen[id_number] = data.where
            chunk.append((parsed, grid))
            if len(chunk) >= CHUNK_ROWS:
                _write_chunk(session, chunk, places, writer, report, user_id=user_id, now=now)
                chunk = []
    if chunk:
        _write_chunk(session, chunk, places, writer, report, user_id=user_id, now=now)


def _write_chunk(
    session: Session,
    chunk: list[tuple[RosterRow, GridRef]],
    places: PlaceIndex,
    writer: people.PeopleWriter,
    report: ImportReport,
    *,
    user_id: str | None,
    now: datetime,
) -> None:
    known = people.lookup(session, [row.person.id_number for row, _ in chunk if row.person])
    residents: list[tuple[people.Person, str, str]] = []
    for row, grid in chunk:
        person = row.person
        if person is not None:
            # Checked before the house is queued, so a rejected row creates nothing.
            stale = people.stale_move(
                person, known.bindings_of(person.id_number), places.existing_house(row, grid)
            )
            if stale is not None:
                report.add(row.where, stale)
                continue
        # Told only for rows that are written, with the office's own value, so its sheet can be
        # fixed for the next import.
        for warning in row.kept_aside:
            report.warn(row.where, warning)
        for notice in row.notices:
            report.warn(row.where, notice, kept_aside=False)
        house_id = places.ensure_house(row, grid, row.grid_code)
        if person is not None:
            residents.append((person, house_id, grid.id))
    places.flush(session, user_id=user_id, now=now)
    for person, house_id, grid_id in residents:
        writer.apply(person, house_id, grid_id, known)
    writer.flush(session)


def _grid_of(row: RosterRow, grids: GridIndex) -> GridRef | FieldError:
    code = row.grid_code
    # A grid that exists takes its houses even if its row in this file was rejected (say, for
    # a changed parent): the rejection is about the grid row, not about the houses in it.
    if code in grids.failed and code not in grids.nodes:
        where = grids.failed[code].describe_zh()
        return FieldError(
            "grid_code",
            "grid_row_failed",
            f"grid {code!r} ({where}) was rejected, so its houses are skipped",
            {"value": code, "where": where},
        )
    grid = grids.nodes.get(code)
    if grid is None:
        return FieldError(
            "grid_code",
            "unknown_reference",
            f"grid code {code!r} is neither in this import nor in the system",
            {"value": code},
        )
    if grid.level != LEAF_LEVEL:
        return FieldError(
            "grid_code",
            "grid_not_leaf",
            f"grid {code!r} is a level-{grid.level} grid; houses belong to level-5 grids",
            {"value": code, "level": grid.level},
        )
    return grid


def _duplicate(id_number: str, first: Where) -> FieldError:
    where = first.describe_zh()
    return FieldError(
        "id_number",
        "duplicate_in_file",
        f"this ID number already appears at {where}; a person can be on one row only",
        {"value": id_number, "where": where},
    )
