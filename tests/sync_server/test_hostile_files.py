"""Hostile spreadsheets refused with a clear problem, never a 500, within 512 MiB.

Billion laughs (XML entities), zip bombs (counted by the bytes actually inflated), formulas with
no saved values, a crafted row of a million cells, as .xlsx and as .csv.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy.orm import Session

from sync_server.importer import ImportReport, import_grid, reader
from sync_server.importer.layout import ROSTER
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.campaign_helpers import create_campaign, upload

ROOT = Path(__file__).resolve().parents[2]
HEADER = [c.zh for c in ROSTER.columns]
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]>\n"
)


def _roster(path: Path, rows: list[list[object]] | None = None) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "人房"
    sheet.append(HEADER)
    for row in rows or []:
        sheet.append(row)
    workbook.save(path)
    return path


def _rewrite(path: Path, part: str, content: bytes | None = None, *, zeros: int = 0) -> Path:
    """A copy of the workbook at `path` with one part replaced (or `zeros` NUL bytes)."""
    out = path.with_name(f"hostile-{part.replace('/', '-')}-{zeros}-{len(content or b'')}.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = src.namelist()
        for name in names:
            if name != part:
                dst.writestr(name, src.read(name))
        with dst.open(part, "w") as f:
            if content is not None:
                f.write(content)
            block = b"\0" * (1 << 20)
            for _ in range(zeros >> 20):
                f.write(block)
    return out


def _import(session: Session, path: Path) -> ImportReport:
    return import_grid(session=session, paths=[path], user_id=None, now=RUN_CLOCK.now())


def _codes(report: ImportReport) -> set[str]:
    return {e.code for e in report.errors}


def test_entity_expansion_in_a_sheet_is_refused(session: Session, tmp_path: Path) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    sheet = (
        LAUGHS.encode()
        + b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
    )
    report = _import(session, _rewrite(good, "xl/worksheets/sheet1.xml", sheet))
    assert _codes(report) == {"file_unreadable"}
    assert "实体" in report.errors[0].reason_zh or "entit" in report.errors[0].reason.lower()


def test_entity_expansion_in_the_workbook_part_is_refused(session: Session, tmp_path: Path) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    with zipfile.ZipFile(good) as archive:
        workbook = archive.read("xl/workbook.xml").decode()
    hostile = LAUGHS + workbook.split("?>", 1)[-1].replace('name="人房"', 'name="&lol9;"')
    report = _import(session, _rewrite(good, "xl/workbook.xml", hostile.encode()))
    assert _codes(report) == {"file_unreadable"}


def test_a_zip_bomb_is_refused_by_what_it_inflates_to(session: Session, tmp_path: Path) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    bomb = _rewrite(good, "xl/sharedStrings.xml", zeros=reader.MAX_PART_BYTES + (1 << 20))
    assert bomb.stat().st_size < 1 << 20  # a small file on disk
    report = _import(session, bomb)
    assert _codes(report) == {"file_too_large"}
    assert "解压" in report.errors[0].reason_zh


def test_a_sheet_of_formulas_with_no_saved_values_is_refused(
    session: Session, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "人房"
    sheet.append([f'="{zh}"' for zh in HEADER])  # a generator's header: formulas, no values
    sheet.append(["=1+1"] * len(HEADER))
    workbook.save(tmp_path / "formulas.xlsx")
    report = _import(session, tmp_path / "formulas.xlsx")
    assert _codes(report) == {"formulas_without_values"}
    assert "公式" in report.errors[0].reason_zh


def test_a_row_of_a_million_cells_is_refused(session: Session, tmp_path: Path) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    cells = "".join('<c r="A2" t="inlineStr"><is><t>x</t></is></c>' for _ in range(1_000_000))
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + '<row r="1">'
        + "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER)
        + f'</row><row r="2">{cells}</row></sheetData></worksheet>'
    ).encode()
    report = _import(session, _rewrite(good, "xl/worksheets/sheet1.xml", sheet))
    assert _codes(report) == {"too_many_columns"}
    assert report.errors[0].row == 2


def test_a_csv_row_of_a_million_cells_or_a_giant_cell_is_refused(
    session: Session, tmp_path: Path
) -> None:
    wide = tmp_path / "wide_人房.csv"
    wide.write_text(",".join(HEADER) + "\n" + ",".join(["x"] * 1_000_000) + "\n", "utf-8")
    assert _codes(_import(session, wide)) == {"too_many_columns"}
    giant = tmp_path / "giant_人房.csv"
    giant.write_text(",".join(HEADER) + "\n" + "x" * 10_000_000 + "\n", "utf-8")
    assert _codes(_import(session, giant)) == {"file_unreadable"}


def test_not_a_zip_at_all_is_refused(session: Session, tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    assert _codes(_import(session, fake)) == {"file_unreadable"}


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS as Linux counts it")
def test_every_hostile_file_is_read_within_512_mib(tmp_path: Path) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    files = {
        "bomb": _rewrite(good, "xl/sharedStrings.xml", zeros=reader.MAX_PART_BYTES * 4),
        "laughs": _rewrite(
            good,
            "xl/worksheets/sheet1.xml",
            LAUGHS.encode() + b"<worksheet><sheetData><row r='1'><c t='inlineStr'><is><t>"
            b"&lol9;</t></is></c></row></sheetData></worksheet>",
        ),
    }
    wide = tmp_path / "wide_人房.csv"
    wide.write_text(",".join(HEADER) + "\n" + ",".join(["x"] * 1_000_000) + "\n", "utf-8")
    files["wide"] = wide
    script = textwrap.dedent(
        """
        import resource, sys
        from contextlib import ExitStack
        resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))
        from sync_server.importer.reader import open_sheets
        from sync_server.importer.report import ImportReport
        report = ImportReport()
        with ExitStack() as stack:
            for sheet in open_sheets([__import__("pathlib").Path(sys.argv[1])], stack, report):
                for _ in sheet.rows():
                    pass
        print(",".join(sorted({e.code for e in report.errors})))
        """
    )
    for name, path in files.items():
        done = subprocess.run(
            [sys.executable, "-c", script, str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, (name, done.stderr[-2000:])
        assert done.stdout.strip() in {"file_too_large", "file_unreadable", "too_many_columns"}, (
            name,
            done.stdout,
        )


def test_hostile_uploads_are_answered_with_the_problem_not_a_500(
    client: TestClient, tiny: TinyGrid, tmp_path: Path
) -> None:
    campaign = create_campaign(client, "T1-1-1-1")
    good = _roster(tmp_path / "roster.xlsx")
    hostile = {
        "bomb.xlsx": _rewrite(good, "xl/styles.xml", zeros=reader.MAX_PART_BYTES + (1 << 20)),
        "fake.xlsx": tmp_path / "fake.xlsx",
    }
    hostile["fake.xlsx"].write_bytes(b"PK\x03\x04" + os.urandom(2048))
    for name, path in hostile.items():
        response = upload(client, campaign["id"], path.rename(tmp_path / name))
        assert response.status_code < 500, (name, response.text)
        text = response.text
        assert "file_too_large" in text or "file_unreadable" in text, (name, text)


def test_a_sheet_of_countless_merges_is_refused_and_a_huge_one_is_clipped(
    session: Session, tmp_path: Path
) -> None:
    good = _roster(tmp_path / "roster.xlsx")
    header = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in HEADER)
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    many = "".join(f'<mergeCell ref="A{2 * i + 2}:B{2 * i + 3}"/>' for i in range(100_001))
    sheet = (
        f'<worksheet xmlns="{main}"><sheetData><row r="1">{header}</row></sheetData>'
        f"<mergeCells>{many}</mergeCells></worksheet>"
    ).encode()
    report = _import(session, _rewrite(good, "xl/worksheets/sheet1.xml", sheet))
    assert _codes(report) == {"too_many_merges"}
    # One merge over every column of a million rows: no row grows past the column limit.
    huge = (
        f'<worksheet xmlns="{main}"><sheetData><row r="1">{header}</row>'
        '<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
        '<mergeCells><mergeCell ref="A2:XFD1048576"/></mergeCells></worksheet>'
    ).encode()
    rows = [
        list(row)
        for sheet in reader.open_sheets(
            [_rewrite(good, "xl/worksheets/sheet1.xml", huge)], ExitStack(), ImportReport()
        )
        for row in sheet._raw_rows()
    ]
    assert max(len(row) for row in rows) <= reader.MAX_COLUMNS
