"""Streaming rows out of .xlsx and .csv files, one sheet at a time, without loading the file.

`open_sheets` finds each sheet's kind (grid or roster) and header row by looking at its first rows
only; `Sheet.rows()` then streams the data rows as {column key: cell value}. Workbooks are opened
with openpyxl's read-only mode, which parses the sheet XML as it goes, so memory stays flat for a
300,000-row roster. CSV files are sniffed for their encoding first: offices save "CSV" from Excel
in GBK as often as in UTF-8.

Files come from outside, so nothing in them is believed: before openpyxl opens a workbook, every
part is inflated once and counted by the bytes it really inflates to (a zip bomb declares
whatever it likes), and every worksheet row's cells are counted on the way. XML entity
declarations are refused by defusedxml, which openpyxl uses when it is installed. What cannot be
read is one clear file error in the report (`Unreadable`), never an exception out of the import.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import operator
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError
from zipfile import BadZipFile, ZipFile

from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string
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
    repeats_header,
)
from sync_server.importer.report import Reporter, Where

RawRows = Callable[[], Iterator[Sequence[object]]]
# What a workbook may inflate to. openpyxl reads every part but the worksheets whole (shared
# strings, styles), so those are held to far less than a worksheet, which it streams.
MAX_PART_BYTES = 64 << 20
MAX_SHEET_BYTES = 1 << 30
MAX_INFLATED_BYTES = 2 << 30
MAX_PARTS = 10_000
MAX_COLUMNS = 500  # cells in one row: the templates have a few dozen columns
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")
_ROW_NUMBER = re.compile(rb'\sr="(\d+)"')
_MERGE_REF = re.compile(rb'<mergeCell\s+ref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')
MAX_MERGES = 100_000
# What reading a hostile or broken file raises, in the middle of the rows as much as at the start.
_READ_ERRORS = (
    OSError,
    ValueError,  # DefusedXmlException among them
    KeyError,
    EOFError,
    BadZipFile,
    InvalidFileException,
    ParseError,
    zlib.error,
    csv.Error,
)


class Unreadable(Exception):
    """The file (from this row on) cannot be read: `error` says why, for the report."""

    def __init__(self, error: FieldError, row: int = 0) -> None:
        super().__init__(error.message)
        self.error, self.row = error, row


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
    _report: Reporter

    @property
    def layout(self) -> SheetLayout:
        return self.header.layout

    def column_names(self) -> dict[str, str]:
        """Header text per column key; absent columns fall back to the template's header."""
        return {c.key: c.zh for c in self.layout.columns} | self.header.headers

    def rows(self) -> Iterator[DataRow]:
        try:
            yield from self._rows()
        except Unreadable as exc:
            # The rows before it are imported; the rest of the file is not read.
            self._report.add(Where(self.name, exc.row, {}), exc.error)

    def cells(self, keys: Sequence[str]) -> Iterator[tuple[int, tuple[object, ...]]]:
        """The data rows as (row number, the cells of `keys` in that order, None where absent),
        skipping what `rows()` skips, without a dict and a `Where` per row: for files of
        millions of rows, where building those costs more than the rest of the import."""
        places = [self.header.positions.get(key) for key in keys]
        present = [i for i in places if i is not None]
        if not present:
            return
        width = max(present) + 1
        whole = len(present) == len(places) and len(places) > 1
        pick = operator.itemgetter(*present) if whole else None
        first = self.layout.required_keys[0]
        first_at = keys.index(first) if first in keys else None
        start = self.header.header_row + 1
        repeated: list[int] = []
        try:
            for number, row in enumerate(
                itertools.islice(self._raw_rows(), self.header.header_row, None), start=start
            ):
                if pick is not None and len(row) >= width:
                    values: tuple[object, ...] = pick(row)
                else:
                    values = tuple(
                        row[i] if i is not None and i < len(row) else None for i in places
                    )
                for v in values:  # a loop, not all(): this runs for millions of rows
                    if v is not None and (v.__class__ is not str or v.strip()):
                        break
                else:
                    continue
                lead = values[first_at] if first_at is not None else None
                if (
                    lead.__class__ is str
                    and not lead[:1].isdigit()
                    and repeats_header(self.layout, dict(zip(keys, values, strict=True)))
                ):
                    repeated.append(number)
                    continue
                yield number, values
        except Unreadable as exc:
            # The rows before it are imported; the rest of the file is not read.
            self._report.add(Where(self.name, exc.row, {}), exc.error)
        if repeated:
            rows = "、".join(str(n) for n in repeated)
            self._report.notes.append(f"{self.name}：第{rows}行是重复的表头，已跳过")

    def _rows(self) -> Iterator[DataRow]:
        names = self.column_names()
        positions = list(self.header.positions.items())
        start = self.header.header_row + 1
        repeated: list[int] = []
        for number, cells in enumerate(
            itertools.islice(self._raw_rows(), self.header.header_row, None), start=start
        ):
            values = {key: cells[i] if i < len(cells) else None for key, i in positions}
            for v in values.values():  # a loop, not all(): this runs for millions of rows
                if v is not None and (not isinstance(v, str) or v.strip()):
                    break
            else:
                continue  # blank rows between blocks are common and mean nothing
            if repeats_header(self.layout, values):
                repeated.append(number)  # offices repeat the header above each block or page
                continue
            yield DataRow(Where(self.name, number, names), values)
        if repeated:
            rows = "、".join(str(n) for n in repeated)
            self._report.notes.append(f"{self.name}：第{rows}行是重复的表头，已跳过")


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
        except Unreadable as exc:
            report.add(Where(path.name, exc.row, {}), exc.error)
        except _READ_ERRORS as exc:
            report.add(Where(path.name, 0, {}), unreadable(exc))
    return sheets


def unreadable(exc: BaseException) -> FieldError:
    """The report's error for a file that could not be read."""
    if isinstance(exc, DefusedXmlException):
        return FieldError(
            "",
            "file_unreadable",
            "the file declares XML entities, a known way to attack a server; save it again "
            "from Excel or WPS",
            {"detail": "文件中声明了 XML 实体（一种已知的攻击手法），请用 Excel 或 WPS 重新保存"},
        )
    return FieldError(
        "",
        "file_unreadable",
        f"cannot read the file: {exc}",
        {"detail": str(exc) or type(exc).__name__},
    )


Merge = tuple[int, int, int, int]  # (first column, first row, last column, last row), 1-based


def check_workbook(path: Path) -> dict[str, list[Merge]]:
    """Inflate every part of the workbook once, counting what it really inflates to and the
    cells of every worksheet row; raise `Unreadable` at the first limit passed. Returns each
    worksheet part's merged ranges (a sheet lists them after its rows, so a streaming reader
    learns them only here)."""
    merges: dict[str, list[Merge]] = {}
    total = 0
    with ZipFile(path) as archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise Unreadable(_too_large(f"{len(parts)} parts", f"{len(parts)} 个部件"))
        for info in parts:
            sheet = bool(_SHEET_PART.match(info.filename))
            limit = MAX_SHEET_BYTES if sheet else MAX_PART_BYTES
            size = 0
            cells = _RowCells() if sheet else None
            with archive.open(info) as part:
                while chunk := part.read(1 << 20):
                    size += len(chunk)
                    total += len(chunk)
                    if size > limit or total > MAX_INFLATED_BYTES:
                        mib = max(size, total) >> 20
                        raise Unreadable(
                            _too_large(
                                f"{info.filename} inflates past {mib} MiB",
                                f"{info.filename} 解压后超过 {mib} MiB",
                            )
                        )
                    if cells is not None:
                        cells.feed(chunk)
            if cells is not None and cells.merges:
                merges[info.filename] = cells.merges
    return merges


class _RowCells:
    """Counts the cells of each row of a worksheet's XML as it streams past, in bytes."""

    def __init__(self) -> None:
        self.row = 0
        self.cells = 0
        self.carry = b""
        self.merges: list[Merge] = []

    def feed(self, chunk: bytes) -> None:
        data = self.carry + chunk
        # A tag cut by the chunk's end waits for the next chunk.
        cut = data.rfind(b"<")
        data, self.carry = (data[:cut], data[cut:]) if cut >= 0 else (data, b"")
        if b"<mergeCell " in data:
            for ref in _MERGE_REF.finditer(data):
                self.merges.append(_merge(ref))
                if len(self.merges) > MAX_MERGES:
                    raise Unreadable(
                        FieldError(
                            "",
                            "too_many_merges",
                            f"the sheet merges more than {MAX_MERGES} ranges of cells",
                            {"limit": MAX_MERGES},
                        )
                    )
        pieces = data.split(b"<row")
        for n, piece in enumerate(pieces):
            if n:
                found = _ROW_NUMBER.match(piece) or _ROW_NUMBER.search(piece[:64])
                self.row = int(found.group(1)) if found else self.row + 1
                self.cells = 0
            self.cells += piece.count(b"<c ") + piece.count(b"<c>")
            if self.cells > MAX_COLUMNS:
                raise _too_many_columns(self.row)


def _merge(found: re.Match[bytes]) -> Merge:
    first = column_index_from_string(found.group(1).decode())
    last = column_index_from_string((found.group(3) or found.group(1)).decode())
    last_row = int(found.group(4) or found.group(2))
    # Past the columns any row may have, a merge can only be a way to make rows huge.
    return (first, int(found.group(2)), min(last, MAX_COLUMNS), last_row)


def _with_merges(
    rows: Iterator[Sequence[object]], merges: list[Merge]
) -> Iterator[Sequence[object]]:
    """`rows` (numbered from 1) with each merged range's value in every cell it covers, as a
    person sees the sheet: a building or unit written once down a block of rows."""
    starting: dict[int, list[Merge]] = {}
    for merge in merges:
        starting.setdefault(merge[1], []).append(merge)
    open_: list[tuple[int, int, int, object]] = []  # (first col, last col, last row, value)
    for number, cells in enumerate(rows, start=1):
        if not open_ and number not in starting:
            yield cells
            continue
        row = list(cells)
        for first, _, last, last_row in starting.get(number, ()):
            value = row[first - 1] if first <= len(row) else None
            open_.append((first, last, last_row, value))
        for first, last, _, value in open_:
            if len(row) < last:
                row.extend([None] * (last - len(row)))
            row[first - 1 : last] = [value] * (last - first + 1)
        open_ = [m for m in open_ if m[2] > number]
        yield row


def _too_many_columns(row: int) -> Unreadable:
    error = FieldError(
        "",
        "too_many_columns",
        f"row {row} has more than {MAX_COLUMNS} cells",
        {"limit": MAX_COLUMNS},
    )
    return Unreadable(error, row)


def _too_large(detail: str, detail_zh: str) -> FieldError:
    return FieldError(
        "",
        "file_too_large",
        f"the file is too large once inflated: {detail}",
        {"detail": detail_zh},
    )


def _xlsx_sheets(
    path: Path,
    stack: ExitStack,
    report: Reporter,
    layouts: tuple[SheetLayout, ...],
    *,
    qualify: bool,
) -> list[Sheet]:
    merges = check_workbook(path)
    workbook = load_workbook(path, read_only=True, data_only=True)
    stack.callback(workbook.close)
    sheets: list[Sheet] = []
    for worksheet in workbook.worksheets:
        # Some generators write a wrong <dimension>, which would make openpyxl stop early.
        worksheet.reset_dimensions()

        def raw_rows(
            ws: Any = worksheet, merged: list[Merge] = merges.get(_part(worksheet), [])
        ) -> Iterator[Sequence[object]]:
            try:
                yield from _with_merges(ws.iter_rows(values_only=True), merged)
            except _READ_ERRORS as exc:
                raise Unreadable(unreadable(exc)) from exc

        if normalize_header(worksheet.title) in _INSTRUCTION_SHEETS:
            continue
        # The bare sheet name is what users see in Excel; with several files it needs the file.
        name = f"{path.name}:{worksheet.title}" if qualify else worksheet.title
        head = itertools.islice(raw_rows(), HEADER_SCAN_ROWS)
        if all(v is None for row in head for v in row) and _formulas_only(path, worksheet.title):
            report.add(
                Where(name, 0, {}),
                FieldError(
                    "",
                    "formulas_without_values",
                    f"sheet {worksheet.title!r} holds formulas whose values were never saved",
                    {"sheet": worksheet.title},
                ),
            )
            continue
        sheet = _recognise(name, worksheet.title, raw_rows, report, layouts, explicit=False)
        if sheet is not None:
            sheets.append(sheet)
    return sheets


def _part(worksheet: Any) -> str:
    """The zip part a read-only worksheet streams from (`xl/worksheets/sheet1.xml`)."""
    return str(getattr(worksheet, "_worksheet_path", "")).lstrip("/")


def _formulas_only(path: Path, title: str) -> bool:
    """Whether the sheet's first rows hold formulas that no spreadsheet ever calculated (a file
    written by a program): read as values, they are empty."""
    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        rows = itertools.islice(workbook[title].iter_rows(values_only=True), HEADER_SCAN_ROWS)
        return any(isinstance(v, str) and v.startswith("=") for row in rows for v in row)
    finally:
        workbook.close()


def _csv_sheet(path: Path, report: Reporter, layouts: tuple[SheetLayout, ...]) -> Sheet | None:
    encoding = _sniff_encoding(path)

    def raw_rows() -> Iterator[Sequence[object]]:
        with path.open(encoding=encoding, newline="") as f:
            reader = csv.reader(f)
            try:
                for row in reader:
                    if len(row) > MAX_COLUMNS:
                        raise _too_many_columns(reader.line_num)
                    yield row
            except csv.Error as exc:
                raise Unreadable(unreadable(exc), reader.line_num) from exc

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
        sheet = Sheet(name, found, raw_rows, report)
        for column in found.ignored:  # each once, however many sheets have it
            if column not in report.ignored_columns:
                report.ignored_columns.append(column)
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
