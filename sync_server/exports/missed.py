"""The missed list as a spreadsheet for notification calls (通知漏检人员): .xlsx and .csv.

One row per missed target in walking order (grid, building, unit, room), with the phone number
whole — calling is the point — and the ID number masked except for readers allowed to see it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from sync_server.exports.cells import neutral_row
from sync_server.queries.campaign_progress import MissedRow

COLUMNS: tuple[tuple[str, str, int], ...] = (
    # (header, MissedRow attribute, column width)
    ("网格编码", "grid_code", 18),
    ("网格", "grid_name", 14),
    ("楼栋", "building", 20),
    ("单元", "unit", 8),
    ("房号", "room", 8),
    ("地址", "address", 32),
    ("姓名", "name", 10),
    ("身份证号", "id_number", 21),
    ("手机号", "phone", 14),
    ("性别", "sex", 6),
    ("年龄", "age", 6),
    ("居住状态", "residence_status", 10),
    ("最近情况", "outcome", 12),
    ("情况说明", "detail", 20),
    ("复访日期", "revisit_date", 12),
    ("登记时间", "recorded_at", 17),
)
SHEET = "漏检名单"


def _values(row: MissedRow) -> list[object]:
    return neutral_row(getattr(row, attr) for _, attr, _ in COLUMNS)


def missed_xlsx(rows: Iterable[MissedRow], *, title: str) -> bytes:
    """A workbook with a title line, the header and one row per missed target."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    for index, (_, _, width) in enumerate(COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A3"
    heading = WriteOnlyCell(sheet, value=title)
    heading.font = Font(bold=True, size=13)
    sheet.append([heading])
    header = []
    for name, _, _ in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(_values(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def missed_csv(rows: Iterable[MissedRow]) -> bytes:
    """CSV that Excel opens with Chinese intact (UTF-8 with BOM). Excel shows a whole 18-digit
    ID number of an unmasked export in scientific notation: admins wanting them use .xlsx."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([name for name, _, _ in COLUMNS])
    for row in rows:
        writer.writerow(_values(row))
    return buffer.getvalue().encode("utf-8-sig")
