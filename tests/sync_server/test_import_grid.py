"""`gridsweep import grid`: base data from .xlsx/.csv; bad rows reported, good rows loaded, re-import
changes nothing, a move closes one binding and opens another, the template round-trips."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.clock import CHINA_TIME
from shared.validation import id_check_char
from sync_server.importer import ImportReport, import_grid, write_template
from sync_server.models import Binding, Building, GridNode, House, Resident, Unit

# The importer's clock in these tests (its date is the default move-in date): a fixed day,
# given to every import, which the rows' dates are written against.
TODAY = date(2025, 6, 30)
NOW = datetime(2025, 6, 30, 12, tzinfo=CHINA_TIME)
ADMIN = "8d0c1a52-0000-4000-8000-000000000001"
G1, G2 = "HT-1-1-1-1", "HT-1-1-1-2"

GRID_HEADER = ["编码", "名称", "层级", "上级编码"]
ROSTER_HEADER = [
    "五级网格编码",
    "道路",
    "弄/巷",
    "门牌号",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "身份证号",
    "手机号",
    "与户主关系",
    "居住状态",
    "特殊人群",
    "入住日期",
]


def idn(n: int) -> str:
    """A valid ID number for person n (born 1960+n)."""
    first17 = f"350128{1960 + n}0115{n:03d}"
    return first17 + id_check_char(first17)


def bad_check(n: int) -> str:
    good = idn(n)
    return good[:17] + ("0" if good[17] != "0" else "1")


def grid_rows() -> list[list[Any]]:
    return [
        [G1, "第1网格", 5, "HT-1-1-1"],  # 2: children before their parents
        [G2, "第2网格", 5, "HT-1-1-1"],  # 3
        ["HT", "实验区", 1, ""],  # 4
        ["HT-1", "海坛片区", 2, "HT"],  # 5
        ["HT-1-1", "潭城", 3, "HT-1"],  # 6
        ["HT-1-1-1", "西门社区", 4, "HT-1-1"],  # 7
        ["BAD-4", "错层社区", 4, "HT-1"],  # 8: parent is level 2, not 3
        ["BAD-4-1", "错层第1网格", 5, "BAD-4"],  # 9: its parent row failed
    ]


def flat(grid: str, number: str, building: str, unit: str, room: Any, *person: Any) -> list[Any]:
    person_cells = list(person) + [""] * (7 - len(person))
    return [grid, "西大街", "", number, building, unit, room, *person_cells]


def village(grid: str, number: str, *person: Any) -> list[Any]:
    person_cells = list(person) + [""] * (7 - len(person))
    return [grid, "", "", number, "", "", "", *person_cells]


def roster_rows(*, excel: bool = False) -> list[list[Any]]:
    """Eight good rows (2, 3, 4, 5, 14; 7, 9, 11 with a warning) and five refused ones."""
    moved_in = datetime(2020, 1, 1) if excel else "2020-01-01"
    phone = 13800000001 if excel else "13800000001"
    return [
        flat(
            G1, "12号", "1幢", "1单元", "101", "张伟", idn(1), phone, "户主", "常住", "", moved_in
        ),
        flat(G1, "12号", "1幢", "1单元", "101", "李娜", idn(2), "", "配偶", "", "独居老人、残疾"),
        flat(G1, "12号", "1幢", "1单元", "102"),  # 4: vacant house
        village(G2, "张村8号", "王芳", idn(3), "", "租户", "流动", "", "2023/3/1"),  # 5
        flat(G1, "12号", "1幢", "1单元", "201", "赵强", bad_check(4)),  # 6
        # 7: a bad phone is kept aside, the person imported
        flat(G1, "12号", "1幢", "1单元", "202", "钱敏", idn(5), "12345"),
        flat("NOPE-5", "12号", "1幢", "1单元", "203", "孙丽", idn(11)),  # 8
        # 9: an unknown relation is recorded as 其他, with a warning naming it
        flat(G1, "12号", "1幢", "1单元", "203", "周杰", idn(6), "", "邻居"),
        flat(G1, "12号", "1幢", "1单元", "204", "", idn(7)),  # 10: ID but no name
        # 11: a bad move-in date is kept aside
        flat(G1, "12号", "1幢", "1单元", "205", "吴刚", idn(8), "", "", "", "", "2024-13-01"),
        flat("BAD-4-1", "12号", "1幢", "1单元", "206", "郑红", idn(9)),  # 12
        village(G2, "张村9号", "张伟", idn(1)),  # 13: same person again, another house
        flat(G1, "12号", "1幢", "1单元", "103", "陈晨", idn(10), "", "tenant", "floating"),  # 14
    ]


EXPECTED_ERRORS = {
    ("grid", 8, "上级编码", "grid_parent_level"),
    ("grid", 9, "上级编码", "grid_parent_failed"),
    ("roster", 6, "身份证号", "id_check_digit"),
    ("roster", 8, "五级网格编码", "unknown_reference"),
    ("roster", 10, "姓名", "required"),
    ("roster", 12, "五级网格编码", "grid_row_failed"),
    ("roster", 13, "身份证号", "duplicate_in_file"),
}
EXPECTED_WARNINGS = {
    ("roster", 7, "手机号", "phone_length"),
    ("roster", 9, "与户主关系", "relation_other"),
    ("roster", 11, "入住日期", "date_format"),
}
PEOPLE = 7  # residents (and houses, and bindings) the sample files create


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


def sample_files(tmp_path: Path, fmt: str, roster: list[list[Any]] | None = None) -> list[Path]:
    """The district's files in `fmt`; for CSV the roster comes first, to show order is free."""
    grid = [GRID_HEADER, *grid_rows()]
    people = [ROSTER_HEADER, *(roster or roster_rows(excel=fmt == "xlsx"))]
    if fmt == "xlsx":
        return [write_xlsx(tmp_path / "base.xlsx", {"网格": grid, "人房": people})]
    return [
        write_csv(tmp_path / "base_人房.csv", people),
        write_csv(tmp_path / "base_网格.csv", grid),
    ]


def run(session: Session, paths: list[Path], **kwargs: Any) -> ImportReport:
    report = import_grid(session=session, paths=paths, user_id=ADMIN, now=NOW, **kwargs)
    session.flush()
    return report


def error_set(
    report: ImportReport, fmt: str, *, warnings: bool = False
) -> set[tuple[str, int, str, str]]:
    sheet_kind = (
        {"网格": "grid", "人房": "roster"}
        if fmt == "xlsx"
        else {"base_网格.csv": "grid", "base_人房.csv": "roster"}
    )
    found = report.warnings if warnings else report.errors
    return {(sheet_kind[e.sheet], e.row, e.column, e.code) for e in found}


def resident(session: Session, n: int) -> Resident:
    return session.scalars(select(Resident).where(Resident.id_number == idn(n))).one()


def bindings_of(session: Session, n: int) -> list[Binding]:
    return list(
        session.scalars(
            select(Binding)
            .where(Binding.resident_id == resident(session, n).id)
            .order_by(Binding.start_date)
        )
    )


def house_address(session: Session, binding: Binding) -> str:
    return session.get_one(House, binding.house_id).address


def table_state(session: Session) -> dict[str, dict[str, tuple[Any, ...]]]:
    """Every column of every row, versions and updated_at included, by table and id."""
    session.expire_all()
    return {
        model.__tablename__: {r.id: tuple(r) for r in session.execute(select(model.__table__))}
        for model in (GridNode, Building, Unit, House, Resident, Binding)
    }


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_good_rows_load_and_each_bad_row_is_reported_where_the_user_finds_it(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    report = run(session, sample_files(tmp_path, fmt))

    assert error_set(report, fmt) == EXPECTED_ERRORS
    assert error_set(report, fmt, warnings=True) == EXPECTED_WARNINGS
    assert report.rows_read == 8 + 13
    assert report.rejected_rows == 7
    assert report.counts["grid_nodes"]["created"] == 6
    assert report.counts["residents"]["created"] == PEOPLE
    # 101, 102 (vacant), 103, 张村8号, and 202, 203, 205 of the rows with warnings
    assert report.counts["houses"]["created"] == 7
    assert count(session, Resident) == PEOPLE
    assert count(session, House) == 7
    assert count(session, Binding) == PEOPLE
    assert resident(session, 5).phone is None  # "12345" kept aside
    assert bindings_of(session, 6)[0].relation == "other"  # 邻居
    assert bindings_of(session, 8)[0].start_date == TODAY  # "2024-13-01" kept aside
    assert session.scalar(select(GridNode).where(GridNode.code == "BAD-4")) is None

    zhang = resident(session, 1)
    assert (zhang.name, zhang.sex, zhang.birth_date) == ("张伟", "M", date(1961, 1, 15))
    assert zhang.phone == "13800000001"
    assert resident(session, 2).tags == ["elderly_alone", "disabled"]
    (wang,) = bindings_of(session, 3)
    assert (wang.relation, wang.start_date) == ("tenant", date(2023, 3, 1))
    assert resident(session, 3).residence_status == "floating"
    assert resident(session, 10).residence_status == "floating"  # English values work too
    (li,) = bindings_of(session, 2)
    assert li.start_date == TODAY  # no move-in date: the day of the import
    assert house_address(session, li) == "西大街12号1幢1单元101室"

    level5 = session.scalars(select(GridNode).where(GridNode.code == G1)).one()
    level4 = session.scalars(select(GridNode).where(GridNode.code == "HT-1-1-1")).one()
    assert level5.parent_id == level4.id and level5.path.startswith(level4.path)


def test_the_error_list_can_be_saved_for_excel(session: Session, tmp_path: Path) -> None:
    report = run(session, sample_files(tmp_path, "xlsx"))
    target = tmp_path / "errors.csv"

    report.write_errors_csv(target)

    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["表", "行", "列", "原因", "reason", "code", "级别"]
    assert ["人房", "6", "身份证号"] in [r[:3] for r in rows[1:] if r[6] == "错误"]
    assert ["人房", "7", "手机号"] in [r[:3] for r in rows[1:] if r[6] == "警告"]
    assert len(rows) == 1 + len(EXPECTED_ERRORS) + len(EXPECTED_WARNINGS)
    assert report.summary_lines()[0] == "读取 21 行，7 行有错误未导入，3 行已导入但有警告"


def test_errors_read_as_sentences_in_chinese_and_english(session: Session, tmp_path: Path) -> None:
    report = run(session, sample_files(tmp_path, "xlsx"))
    by_row = {(e.sheet, e.row): e for e in report.errors}

    check = by_row[("人房", 6)]
    assert "校验位" in check.reason_zh and "check character" in check.reason
    duplicate = by_row[("人房", 13)]
    assert "人房 第2行" in duplicate.reason_zh
    failed_parent = by_row[("网格", 9)]
    assert "BAD-4" in failed_parent.reason_zh and "网格 第8行" in failed_parent.reason_zh
    warned = {(w.sheet, w.row): w for w in report.warnings}
    assert str(warned[("人房", 7)]).startswith("人房 第7行 [手机号]：手机号应为11位")
    assert "该项未导入" in warned[("人房", 7)].reason_zh
    assert "not imported" in warned[("人房", 7)].reason
    assert "“邻居”" in warned[("人房", 9)].reason_zh and "其他" in warned[("人房", 9)].reason_zh


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_importing_the_same_file_again_changes_nothing(
    session: Session, tmp_path: Path, fmt: str
) -> None:
    paths = sample_files(tmp_path, fmt)
    run(session, paths)
    before = table_state(session)

    again = run(session, paths)

    assert table_state(session) == before
    for entity, outcomes in again.counts.items():
        assert outcomes["created"] == outcomes["updated"] == outcomes.get("closed", 0) == 0, entity
    assert again.counts["residents"]["unchanged"] == PEOPLE
    assert again.counts["houses"]["unchanged"] == 7
    assert again.counts["grid_nodes"]["unchanged"] == 6
    assert len(again.errors) == len(EXPECTED_ERRORS)


def test_a_changed_phone_updates_the_resident_and_bumps_its_version(
    session: Session, tmp_path: Path
) -> None:
    run(session, sample_files(tmp_path, "csv"))
    original = resident(session, 1)
    first_stamp = original.updated_at
    rows = roster_rows()
    rows[0][9] = "139 0000 0009"

    report = run(session, sample_files(tmp_path, "csv", rows))

    session.expire_all()
    updated = resident(session, 1)
    assert updated.phone == "13900000009"
    assert updated.version == 2
    assert updated.updated_by_user_id == ADMIN
    assert updated.updated_at >= first_stamp
    assert report.counts["residents"] == {"created": 0, "updated": 1, "unchanged": PEOPLE - 1}
    assert resident(session, 2).version == 1


def test_empty_optional_cells_keep_what_the_system_has(session: Session, tmp_path: Path) -> None:
    run(session, sample_files(tmp_path, "csv"))
    rows = roster_rows()
    rows[0][9] = ""  # phone
    rows[1][12] = ""  # tags

    report = run(session, sample_files(tmp_path, "csv", rows))

    assert resident(session, 1).phone == "13800000001"
    assert resident(session, 2).tags == ["elderly_alone", "disabled"]
    assert report.counts["residents"]["updated"] == 0


@pytest.mark.parametrize("none", ["无", "没有", "/", "-"])
def test_none_words_in_optional_cells_keep_what_the_system_has(
    session: Session, tmp_path: Path, none: str
) -> None:
    run(session, sample_files(tmp_path, "csv"))
    rows = roster_rows()
    rows[0][9] = none  # phone
    rows[0][11] = none  # residence status

    report = run(session, sample_files(tmp_path, "csv", rows))

    assert (resident(session, 1).phone, resident(session, 1).version) == ("13800000001", 1)
    assert report.counts["residents"]["updated"] == 0
    assert [w for w in report.warnings if w.row == 2] == []  # "nothing here" is no mistake


def test_rows_without_a_person_list_vacant_houses(session: Session, tmp_path: Path) -> None:
    run(session, sample_files(tmp_path, "csv"))
    rows = [
        [*ROSTER_HEADER, "备注"],
        flat(G1, "12号", "1幢", "1单元", "401", "空置"),  # 2: 空置 written as the name
        flat(G1, "12号", "1幢", "1单元", "402", "", "", "13800000402", "户主"),  # 3: no one
        [*flat(G1, "12号", "1幢", "1单元", "403"), "空房"],  # 4: a note says so
    ]
    path = write_csv(tmp_path / "vacant_人房.csv", rows)

    report = run(session, [path])

    assert report.errors == []
    assert report.counts["houses"]["created"] == 3 and report.counts["residents"]["created"] == 0
    [warning] = report.warnings
    assert (warning.row, warning.code) == (3, "person_columns_ignored")
    assert "手机号、与户主关系" in warning.reason_zh


def test_a_move_closes_the_old_binding_and_opens_a_new_one(
    session: Session, tmp_path: Path
) -> None:
    run(session, sample_files(tmp_path, "csv"))
    rows = roster_rows()
    # 王芳 moves from the village house in grid 2 into the vacant flat 102 in grid 1.
    rows[3] = flat(
        G1, "12号", "1幢", "1单元", "102", "王芳", idn(3), "", "租户", "", "", "2025-05-01"
    )
    del rows[2]

    report = run(session, sample_files(tmp_path, "csv", rows))

    old, new = bindings_of(session, 3)
    assert house_address(session, old) == "张村8号"
    assert (old.start_date, old.end_date, old.version) == (date(2023, 3, 1), date(2025, 5, 1), 2)
    assert house_address(session, new) == "西大街12号1幢1单元102室"
    assert (new.start_date, new.end_date) == (date(2025, 5, 1), None)
    assert resident(session, 3).version == 1  # the person did not change, their address did
    assert report.counts["bindings"]["closed"] == 1
    assert report.counts["bindings"]["created"] == 1


def test_an_older_sheet_does_not_move_people_back(session: Session, tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    original = sample_files(tmp_path / "old", "csv")
    run(session, original)
    rows = roster_rows()
    rows[3] = flat(
        G1, "12号", "1幢", "1单元", "102", "王芳", idn(3), "", "租户", "", "", "2025-05-01"
    )
    (tmp_path / "new").mkdir()
    run(session, sample_files(tmp_path / "new", "csv", rows))

    report = run(session, original)

    stale = [e for e in report.errors if e.code == "stale_move"]
    assert [(e.row, e.column) for e in stale] == [(5, "入住日期")]
    assert "2025-05-01" in stale[0].reason_zh and "西大街12号1幢1单元102室" in stale[0].reason_zh
    assert [b.end_date for b in bindings_of(session, 3)] == [date(2025, 5, 1), None]


def test_a_move_without_a_date_happens_today(session: Session, tmp_path: Path) -> None:
    run(session, sample_files(tmp_path, "csv"))
    rows = roster_rows()
    rows[0] = flat(G1, "12号", "1幢", "1单元", "102", "张伟", idn(1), "13800000001", "户主")

    run(session, sample_files(tmp_path, "csv", rows))

    old, new = bindings_of(session, 1)
    assert (old.end_date, new.start_date, new.end_date) == (TODAY, TODAY, None)


def test_grid_rename_updates_but_a_changed_parent_is_refused(
    session: Session, tmp_path: Path
) -> None:
    run(session, sample_files(tmp_path, "csv"))
    grid: list[list[Any]] = [
        GRID_HEADER,
        ["HT-1-1", "潭城街道", 3, "HT-1"],  # renamed
        [G2, "第2网格", 5, "HT-1-1-2"],  # moved to another community: not done by import
        ["HT-1-1-2", "东门社区", 4, "HT-1-1"],  # new
    ]
    roster = [ROSTER_HEADER, village(G2, "张村20号", "刘洋", idn(20))]
    paths = [
        write_csv(tmp_path / "change_网格.csv", grid),
        write_csv(tmp_path / "change_人房.csv", roster),
    ]

    report = run(session, paths)

    node = session.scalars(select(GridNode).where(GridNode.code == "HT-1-1")).one()
    assert (node.name, node.version) == ("潭城街道", 2)
    assert report.counts["grid_nodes"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert [(e.sheet, e.row, e.column, e.code) for e in report.errors] == [
        ("change_网格.csv", 3, "上级编码", "grid_moved")
    ]
    moved = session.scalars(select(GridNode).where(GridNode.code == G2)).one()
    assert (
        moved.parent_id
        == session.scalars(select(GridNode.id).where(GridNode.code == "HT-1-1-1")).one()
    )
    # The grid row was refused, but the grid exists, so houses in it still load.
    assert report.counts["residents"]["created"] == 1


def test_houses_need_a_level5_grid(session: Session, tmp_path: Path) -> None:
    run(session, sample_files(tmp_path, "csv"))
    path = write_csv(
        tmp_path / "x_人房.csv", [ROSTER_HEADER, village("HT-1-1-1", "李村1号", "张伟", idn(1))]
    )

    report = run(session, [path])

    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (2, "五级网格编码", "grid_not_leaf")
    ]


def test_excel_quirks_dates_numbers_and_lost_id_digits(session: Session, tmp_path: Path) -> None:
    run(session, sample_files(tmp_path, "csv"))
    people = [
        ROSTER_HEADER,
        # Excel date cell, room typed as a number, full-width digits in the phone.
        village(
            G2,
            "李村1号",
            "周一",
            idn(21),
            "１３８００００００２１",
            "户主",
            "",
            "",
            datetime(2021, 4, 5),
        ),
        flat(G1, "12号", "1幢", "1单元", 301.0, "周二", idn(22), "", "", "", "", "2021.4.6"),
        flat(G1, "12号", "1幢", "1单元", 302, "周三", int(idn(23)[:17] + "0")),  # numeric ID cell
    ]
    path = write_xlsx(tmp_path / "quirks.xlsx", {"人房": people})

    report = run(session, [path])

    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (4, "身份证号", "id_numeric_cell")
    ]
    assert "文本" in report.errors[0].reason_zh
    assert resident(session, 21).phone == "13800000021"
    assert bindings_of(session, 21)[0].start_date == date(2021, 4, 5)
    (second,) = bindings_of(session, 22)
    assert (second.start_date, session.get_one(House, second.house_id).room) == (
        date(2021, 4, 6),
        "301",
    )


def test_gbk_csv_with_a_title_row_and_english_headers(session: Session, tmp_path: Path) -> None:
    grid: list[list[Any]] = [
        ["海坛片区网格表"],
        ["code", "name", "level", "parent_code"],
        ["Z", "一级", 1, ""],
    ]
    grid += [["Z-1", "二级", "二级", "Z"], ["Z-2", "三级", "3级网格", "Z-1"]]
    grid += [["Z-3", "四级", 4, "Z-2"], ["Z-4", "五级", "五级网格", "Z-3"]]
    people: list[list[Any]] = [
        [
            "grid_code",
            "road",
            "number",
            "building",
            "unit",
            "room",
            "name",
            "id_number",
            "relation",
        ],
        ["Z-4", "东街", "1号", "", "", "", "李四", idn(30), "本人"],
    ]
    paths = [
        write_csv(tmp_path / "grid.csv", grid, encoding="gb18030"),
        write_csv(tmp_path / "roster.csv", people, encoding="gb18030"),
    ]

    report = run(session, paths)

    assert report.errors == []
    assert report.counts["grid_nodes"]["created"] == 5
    (binding,) = bindings_of(session, 30)
    assert binding.relation == "head"
    assert house_address(session, binding) == "东街1号"


def test_an_unrecognised_file_is_reported_and_the_others_still_load(
    session: Session, tmp_path: Path
) -> None:
    junk = write_csv(tmp_path / "notes.csv", [["随便", "写写"], ["1", "2"]])
    missing = write_csv(tmp_path / "x_人房.csv", [["姓名", "身份证号"], ["张三", idn(40)]])

    report = run(session, [junk, *sample_files(tmp_path, "csv"), missing])

    file_errors = {(e.sheet, e.row, e.column, e.code) for e in report.errors if e.row <= 1}
    assert file_errors == {
        ("notes.csv", 0, "", "unknown_sheet"),
        ("x_人房.csv", 1, "五级网格编码", "missing_column"),
    }
    assert count(session, Resident) == PEOPLE


def test_chunks_share_places_and_catch_duplicates_across_them(
    session: Session, tmp_path: Path
) -> None:
    run(session, sample_files(tmp_path, "csv"))
    people: list[list[Any]] = [ROSTER_HEADER]
    for n in range(4500):  # three people per flat, over more than two write chunks
        first17 = f"110101198{n // 1000}0101{n % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        people.append(flat(G1, "1号", f"{n // 900}幢", "", str(n // 3), f"居民{n}", id_number))
    people.append([*people[1][:7], "再来一次", people[1][8]])  # row 4502 repeats row 2
    path = write_csv(tmp_path / "big_人房.csv", people)

    report = run(session, [path])

    assert [(e.row, e.code) for e in report.errors] == [(4502, "duplicate_in_file")]
    assert report.counts["residents"]["created"] == 4500
    assert report.counts["houses"]["created"] == 1500
    assert report.counts["buildings"]["created"] == 5


def test_template_round_trip_xlsx(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "模板.xlsx"
    write_template(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["网格", "人房", "说明"]
    assert [c.value for c in wb["人房"][1]][:7] == ROSTER_HEADER[:7]
    id_letter = get_column_letter([c.value for c in wb["人房"][1]].index("身份证号") + 1)
    assert wb["人房"].column_dimensions[id_letter].number_format == "@"

    for row in grid_rows()[:6]:
        wb["网格"].append(row)
    headers = [c.value for c in wb["人房"][1]]
    wb["人房"].append(
        [
            {
                "五级网格编码": G1,
                "道路": "西大街",
                "门牌号": "1号",
                "姓名": "张三",
                "身份证号": idn(50),
            }.get(h)
            for h in headers
        ]
    )
    wb.save(path)

    report = run(session, [path])

    assert report.errors == [] and report.notes == []
    assert report.counts["grid_nodes"]["created"] == 6
    assert report.counts["residents"]["created"] == 1


def test_template_round_trip_csv(session: Session, tmp_path: Path) -> None:
    write_template(tmp_path / "模板.csv")
    grid_path, roster_path = tmp_path / "模板_网格.csv", tmp_path / "模板_人房.csv"
    with grid_path.open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(grid_rows()[:6])
    with roster_path.open("a", encoding="utf-8", newline="") as f:
        csv.writer(f).writerow(village(G2, "张村1号", "张三", idn(51), "", "户主"))

    report = run(session, [roster_path, grid_path])

    assert report.errors == []
    assert report.counts["residents"]["created"] == 1


def test_created_and_changed_records_are_announced_with_their_grids(
    session: Session, tmp_path: Path
) -> None:
    class Sink:
        def __init__(self) -> None:
            self.seen: dict[tuple[str, str], set[str]] = {}

        def __len__(self) -> int:  # like ChangeSet: empty means falsy
            return len(self.seen)

        def add(self, entity: str, record_id: str, grids: Any) -> None:
            self.seen.setdefault((entity, record_id), set()).update(grids)

    first = Sink()
    run(session, sample_files(tmp_path, "csv"), changes=first)
    entities = [entity for entity, _ in first.seen]
    assert {e: entities.count(e) for e in set(entities)} == {
        "grid_node": 6,
        "building": 2,
        "unit": 1,
        "house": 7,
        "resident": PEOPLE,
        "binding": PEOPLE,
    }

    again = Sink()
    run(session, sample_files(tmp_path, "csv"), changes=again)
    assert again.seen == {}

    rows = roster_rows()
    rows[3] = flat(G1, "12号", "1幢", "1单元", "102", "王芳", idn(3), "", "租户")
    moved = Sink()
    run(session, sample_files(tmp_path, "csv", rows), changes=moved)
    grid_ids = {
        n.code: n.id for n in session.scalars(select(GridNode).where(GridNode.code.in_([G1, G2])))
    }
    assert moved.seen[("resident", resident(session, 3).id)] == {grid_ids[G1], grid_ids[G2]}
