"""The committed office-style sheets (`data/`, written by `data/make_office_sheets.py`): every
person lands in the house the sheet shows, every optional detail that fails its rule is a
warning on its row (never a refusal), and re-importing either file changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.validation import upgrade_old_id
from sync_server.importer import ImportReport
from sync_server.models import Binding, House, Resident
from tests.sync_server.data import make_office_sheets as office
from tests.sync_server.test_import_grid import TODAY, run, table_state

XLSX, CSV = office.XLSX, office.CSV
ROSTER = "西门社区.xlsx:人房"  # two files at once: a workbook's sheets carry the file's name
FLAT = "西大街12号1幢"

# name -> (address, relation, phone, start date) after the import
HOMES = {
    "张建国": (f"{FLAT}1单元101室", "head", "0591-87654321", date(2010, 5, 1)),
    "林秀英": (f"{FLAT}1单元101室", "spouse", "13800000002", TODAY),  # two numbers: the first
    "张小红": (f"{FLAT}1单元101室", "member", None, TODAY),  # 孙女; phone 无
    "王大海": (f"{FLAT}1单元201室", "head", "87654321", date(2015, 3, 1)),  # landline, no area
    "刘梅": (f"{FLAT}1单元202室", "member", None, date(2019, 5, 1)),  # 儿媳; phone 12345 aside
    "陈母": (f"{FLAT}2单元301室", "parent", None, TODAY),  # 母亲; phone /
    "赵丽": (f"{FLAT}2单元302室", "member", "0591-87654322转8001", TODAY),  # 女婿
    "周姐": (f"{FLAT}2单元302室", "other", None, TODAY),  # 保姆: 其他, with a warning
    "李老汉": ("张村8号", "head", "13600000011", date(1980, 1, 1)),  # 本人
    "黄老伯": ("东街1号", "head", None, TODAY),  # phone 没有
    "黄小明": ("东街1号", "member", "13500000021", TODAY),  # 外孙; two numbers a space apart
    "吴奶奶": ("东街2号", "member", "0591-2345678转12", TODAY),  # 祖父母
    "吴军": ("东街2号", "member", None, TODAY),  # 兄弟姐妹; phone -
}
VACANT = {f"{FLAT}1单元102室", "张村9号", "东街3号"}  # 空置 as the name, 空房 and 空置 as notes

ERRORS = {(ROSTER, 10, "身份证号码", "id_numeric_cell")}  # 陈志明: an 18-digit number Excel cut
WARNINGS = {
    (ROSTER, 4, "联系电话", "phone_extra"),
    (ROSTER, 7, "身份证号码", "id_converted"),
    (ROSTER, 8, "联系电话", "phone_length"),
    (ROSTER, 8, "居住状态", "choice"),
    (ROSTER, 13, "与户主关系", "relation_other"),
    ("东门社区_人房.csv", 3, "身份证号", "id_converted"),
    ("东门社区_人房.csv", 4, "电话", "phone_extra"),
}


def _where(report: ImportReport, *, warnings: bool) -> set[tuple[str, int, str, str]]:
    found = report.warnings if warnings else report.errors
    return {(e.sheet, e.row, e.column, e.code) for e in found}


def _homes(session: Session) -> dict[str, tuple[str, str, str | None, date]]:
    rows = session.execute(
        select(Resident.name, House.address, Binding.relation, Resident.phone, Binding.start_date)
        .join(Binding, Binding.resident_id == Resident.id)
        .join(House, House.id == Binding.house_id)
        .where(Binding.end_date.is_(None))
    )
    return {
        name: (address, relation, phone, start) for name, address, relation, phone, start in rows
    }


def test_office_sheets_import_every_person_into_the_house_they_show(
    session: Session,
) -> None:
    report = run(session, [XLSX, CSV])

    assert _where(report, warnings=False) == ERRORS
    assert _where(report, warnings=True) == WARNINGS
    assert _homes(session) == HOMES
    bound = set(session.scalars(select(House.address).join(Binding)))
    assert set(session.scalars(select(House.address))) - bound == VACANT
    assert report.ignored_columns == ["序号", "民族"]  # once, though three sheets have them
    assert report.rows_read == 12 + 5 + 6  # repeated headers and the title rows not counted
    assert f"{ROSTER}：第9行是重复的表头，已跳过" in report.notes
    assert "东门社区_人房.csv：第5行是重复的表头，已跳过" in report.notes

    def person(name: str) -> Resident:
        return session.scalars(select(Resident).where(Resident.name == name)).one()

    assert person("王大海").id_number == upgrade_old_id(office.OLD_ID)
    assert person("黄老伯").id_number == upgrade_old_id(office.OLD_ID_CSV)
    assert person("王大海").tags == ["elderly_alone"]
    assert person("陈母").tags == ["elderly_alone", "disabled"]
    assert person("刘梅").residence_status == "permanent"  # 暂离 kept aside
    assert person("赵丽").residence_status == "floating"
    warned = {(w.row, w.code): w for w in report.warnings if w.sheet == ROSTER}
    assert "保姆" in warned[(13, "relation_other")].reason_zh
    assert "13900000003" in warned[(4, "phone_extra")].reason_zh
    assert office.OLD_ID in warned[(7, "id_converted")].reason_zh
    assert "该项未导入" in warned[(8, "phone_length")].reason_zh


def test_re_importing_either_office_sheet_changes_nothing(session: Session) -> None:
    run(session, [XLSX, CSV])
    before = table_state(session)
    for paths in ([XLSX], [CSV], [XLSX, CSV]):
        again = run(session, paths)
        assert table_state(session) == before, paths
        for entity, outcomes in again.counts.items():
            assert not any(
                outcomes[o] for o in ("created", "updated", "closed") if o in outcomes
            ), (
                paths,
                entity,
            )


def test_the_committed_sheets_are_what_the_generator_writes(tmp_path: Path) -> None:
    fresh = office.write_xlsx(tmp_path / "fresh.xlsx")
    for sheet in ("网格", "人房"):
        committed, written = load_workbook(XLSX)[sheet], load_workbook(fresh)[sheet]
        assert list(committed.values) == list(written.values), sheet
        assert {str(m) for m in committed.merged_cells.ranges} == {
            str(m) for m in written.merged_cells.ranges
        }
    assert CSV.read_bytes() == office.write_csv(tmp_path / "fresh.csv").read_bytes()
