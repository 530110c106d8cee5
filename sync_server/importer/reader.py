"""Streaming rows out of .xlsx and .csv files, one sheet at a time, without loading the file.

`open_sheets` finds each sheet's kind (grid or roster) and header row by looking at its first rows
only; `Sheet.rows()` then streams the data rows as {column key: cell value}. Workbooks are opened
with openpyxl's read-only mode, which parses the sheet XML as it goes, so memory stays flat for a
300,000-row roster. CSV files are sniffed for their encoding first: offices save "CSV" from Excel
in GBK as often as in UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from shared.errors import FieldError
from sync_server.importer.layout import (
    HEADER_SCAN_ROWS,
    LAYOUTS,
    HeaderMap,
    SheetLayout,
    find_header,
    layout_for_name,
    map_header,
    normalize_header,
)
from sync_server.importer.report import Reporter, Where

RawRows = Callable[[], Iterator[Sequence[object]]]
# The template's instructions sheet, skipped without a note.
_INSTRUCTION_SHEETS = frozenset({"说明", "填写说明", "instructions", "readme"})


@dataclass(frozen=True)
class DataRow:
    where: Where
    values: dict[str, object]  # column key -> raw cell value


@dataclass(frozen=True)
class Sheet:
    """One recognised sheet (or CSV file) and a way to stream its data rows."""

    name: str  # what errors call it: the sheet name, or the CSV file name
    header: HeaderMap
    _raw_rows: RawRows

    @property
    def layout(self) -> SheetLayout:
        return self.header.layout

    def column_names(self) -> dict[str, str]:
        """Header text per column key; absent columns fall back to the template's header."""
        return {c.key: c.zh for c in self.layout.columns} | self.header.headers

    def rows(self) -> Iterator[DataRow]:
        names = self.column_names()
        positions = list(self.header.positions.items())
        start = self.header.header_row + 1
        for number, cells in enumerate(
            itertools.islice(self._raw_rows(), self.header.header_row, None), start=start
        ):
            values = {key: cells[i] if i < len(cells) else None for key, i in positions}
            for v in values.values():  # a loop, not all(): this runs for millions of rows
                if v is not None and (not isinstance(v, str) or v.strip()):
                    break
            else:
                continue  # blank rows between blocks are common and mean nothing
            yield DataRow(Where(self.name, number, names), values)


def open_sheets(
    paths: list[Path],
    stack: ExitStack,
    report: Reporter,
    layouts: tuple[SheetLayout, ...] = LAYOUTS,
) -> list[Sheet]:
    """Every sheet of the given files in one of `layouts`; files stay open until `stack` closes."""
    sheets: list[Sheet] = []
    for path in paths:
        suffix = path.suffix.lower()
        try:
            if suffix in (".xlsx", ".xlsm"):
                sheets.extend(_xlsx_sheets(path, stack, report, layouts, qualify=len(paths) > 1))
            elif suffix == ".csv":
                sheet = _csv_sheet(path, report, layouts)
                if sheet is not None:
                    sheets.append(sheet)
            else:
                _file_error(
                    report,
                    path.name,
                    FieldError(
                        "", "file_type", f"unsupported file type {suffix!r}", {"value": suffix}
                    ),
                )
        except (OSError, ValueError, KeyError, BadZipFile, InvalidFileException) as exc:
            _file_error(
                report,
                path.name,
                FieldError(
                    "", "file_unreadable", f"cannot read the file: {exc}", {"detail": str(exc)}
                ),
            )
    return sheets


def _xlsx_sheets(
    path: Path,
    stack: ExitStack,
    report: Reporter,
    layouts: tuple[SheetLayout, ...],
    *,
    qualify: bool,
) -> list[Sheet]:
    workbook = load_workbook(path, read_only=True, data_only=True)
    stack.callback(workbook.close)
    sheets: list[Sheet] = []
    for worksheet in workbook.worksheets:
        # Some generators write a wrong <dimension>, which would make openpyxl stop early.
        worksheet.reset_dimensions()

        def raw_rows(ws: Any = worksheet) -> Iterator[Sequence[object]]:
            yield from ws.iter_rows(values_only=True)

        if normalize_header(worksheet.title) in _INSTRUCTION_SHEETS:
            continue
        # The bare sheet name is what users see in Excel; with several files it needs the file.
        name = f"{path.name}:{worksheet.title}" if qualify else worksheet.title
        sheet = _recognise(name, worksheet.title, raw_rows, report, layouts, explicit=False)
        if sheet is not None:
            sheets.append(sheet)
    return sheets


def _csv_sheet(path: Path, report: Reporter, layouts: tuple[SheetLayout, ...]) -> Sheet | None:
    encoding = _sniff_encoding(path)

    def raw_rows() -> Iterator[Sequence[object]]:
        with path.open(encoding=encoding, newline="") as f:
            yield from csv.reader(f)

    return _recognise(path.name, path.stem, raw_rows, report, layouts, explicit=True)


def _recognise(
    name: str,
    title: str,
    raw_rows: RawRows,
    report: Reporter,
    layouts: tuple[SheetLayout, ...],
    *,
    explicit: bool,
) -> Sheet | None:
    """Find the header row; report sheets that announce a layout but lack its columns.

    `explicit` is true for a CSV file the user named on the command line: an unrecognised one is
    an error. An unrecognised extra sheet in a workbook (说明, 统计) is only noted.
    """
    hint = layout_for_name(title, layouts)
    head = list(itertools.islice(enumerate(raw_rows(), start=1), HEADER_SCAN_ROWS))
    found = find_header(head, hint, layouts)
    if found is not None:
        sheet = Sheet(name, found, raw_rows)
        if found.ignored:
            report.notes.append(f"{name}：以下列不属于导入格式，已忽略：{'、'.join(found.ignored)}")
        return sheet
    if hint is not None:
        header_row, cells = next(((n, c) for n, c in head if any(c)), (1, ()))
        partial = map_header(hint, cells, header_row)
        names = {c.key: c.zh for c in hint.columns}
        for key in partial.missing:
            report.add(
                Where(name, header_row, names),
                FieldError(key, "missing_column", f"the required column {names[key]!r} is missing"),
            )
        return None
    kinds_zh = "或".join(f"{lay.zh}表" for lay in layouts)
    if explicit:
        kinds = " or ".join(lay.kind for lay in layouts)
        _file_error(
            report,
            name,
            FieldError(
                "",
                "unknown_sheet",
                f"no {kinds} header found in the first 10 rows",
                {"layouts": kinds_zh},
            ),
        )
    else:
        report.notes.append(f"{name}：不是{kinds_zh}，已跳过")
    return None


def _sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as UTF-8, otherwise GB18030.

    GB18030 is a superset of GBK and GB2312, which is what Excel on a Chinese Windows writes.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8-sig"


def _file_error(report: Reporter, name: str, error: FieldError) -> None:
    report.add(Where(name, 0, {}), error)
