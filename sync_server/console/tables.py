"""Writing a list to .xlsx or .csv on disk, row by row, so a district-sized list never sits in memory.

xlsx uses openpyxl's write-only mode (rows go straight to the file) with every cell written as
text, so Excel cannot turn an ID number into 3.50128E+17. CSV is UTF-8 with a BOM: Excel on
Windows otherwise reads the Chinese as GBK garbage.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from sync_server.exports.cells import neutral_row

Format = Literal["xlsx", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def write_table(
    fmt: Format, title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]
) -> Path:
    """Write the table to a new temporary file and return its path; the caller deletes it."""
    descriptor, name = tempfile.mkstemp(prefix="gs-export-", suffix=f".{fmt}")
    os.close(descriptor)
    path = Path(name)
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(headers)
            writer.writerows(neutral_row(row) for row in rows)
        return path
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title[:31])  # Excel's limit on sheet names
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    sheet.freeze_panes = "A2"
    for row in rows:
        # Numbers stay numbers; everything else is text, ID numbers and phones above all.
        sheet.append(
            neutral_row(v if v is None or isinstance(v, int | float) else str(v) for v in row)
        )
    workbook.save(path)
    return path
