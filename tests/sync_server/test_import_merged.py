"""Merged cells, as offices use them for every repeated building and unit: read as a person sees
them, the value of a merged range in every row it spans."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from sync_server.models import Binding, Building, House, Resident, Unit
from tests.sync_server.test_import_grid import (
    G1,
    GRID_HEADER,
    ROSTER_HEADER,
    grid_rows,
    idn,
    run,
    table_state,
)


def _merged_roster(path: Path) -> Path:
    """Rows 2-6: one number, one building over five rows; units 1 (rows 2-3) and 2 (rows 4-6);
    a room over two people (rows 2-3); row 6 a whole block merged into a new room."""
    workbook = Workbook()
    grid = workbook.active
    assert grid is not None
    grid.title = "网格"
    for row in [GRID_HEADER, *grid_rows()[:6]]:
        grid.append(row)
    sheet = workbook.create_sheet("人房")
    sheet.append(ROSTER_HEADER)
    people = [("张伟", idn(1), "户主"), ("李娜", idn(2), "配偶"), ("王芳", idn(3), "户主")]
    people += [("赵强", idn(4), "户主"), ("钱敏", idn(5), "子女")]
    rooms = ["101", None, "201", "202", None]
    for n, ((name, number, relation), room) in enumerate(zip(people, rooms, strict=True)):
        first = n == 0
        sheet.append(
            [
                G1 if first else None,
                "西大街" if first else None,
                None,
                "12号" if first else None,
                "1幢" if first else None,
                "1单元" if first else "2单元" if n == 2 else None,
                room,
                name,
                number,
                None,
                relation,
            ]
        )
    for cells in ("A2:A6", "B2:B6", "D2:D6", "E2:E6", "F2:F3", "F4:F6", "G2:G3", "G5:G6"):
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def _home(session: Session, n: int) -> tuple[str, str, str]:
    person = session.scalars(select(Resident).where(Resident.id_number == idn(n))).one()
    binding = session.scalars(select(Binding).where(Binding.resident_id == person.id)).one()
    house = session.get_one(House, binding.house_id)
    building = session.get_one(Building, house.building_id)
    unit = session.get_one(Unit, house.unit_id)
    return building.name, unit.name, house.room


def test_merged_blocks_put_every_person_in_the_house_the_sheet_shows(
    session: Session, tmp_path: Path
) -> None:
    path = _merged_roster(tmp_path / "merged.xlsx")
    report = run(session, [path])
    assert report.errors == [], report.errors
    assert _home(session, 1) == _home(session, 2) == ("1幢", "1单元", "101")
    assert _home(session, 3) == ("1幢", "2单元", "201")
    assert _home(session, 4) == _home(session, 5) == ("1幢", "2单元", "202")
    assert (
        session.scalars(select(House.address).where(House.room == "202"))
        .one()
        .startswith("西大街12号")
    )
    before = table_state(session)
    again = run(session, [path])
    assert again.errors == [] and table_state(session) == before  # re-importing changes nothing


def test_an_old_15_digit_id_is_imported_as_its_18_digits_with_a_warning(
    session: Session, tmp_path: Path
) -> None:
    from shared.validation import upgrade_old_id
    from tests.sync_server.test_import_grid import flat, write_xlsx

    old = "350128900307451"
    path = write_xlsx(
        tmp_path / "old.xlsx",
        {
            "网格": [GRID_HEADER, *grid_rows()[:6]],
            "人房": [ROSTER_HEADER, flat(G1, "12号", "1幢", "1单元", "101", "林老伯", old)],
        },
    )
    report = run(session, [path])
    assert report.errors == []
    stored = session.scalars(select(Resident.id_number).where(Resident.name == "林老伯")).one()
    assert stored == upgrade_old_id(old)
    [warning] = report.warnings
    assert (warning.row, warning.column, warning.code) == (2, "身份证号", "id_converted")
    assert old in warning.reason_zh and "15位" in warning.reason_zh and stored in warning.reason_zh
