"""Writing the empty import template that offices fill in: .xlsx with instructions, or two CSVs.

The workbook has the 网格 and 人房 sheets with their headers, each header carrying a comment that
explains it, a drop-down for the enumerations, and text format on code, ID and phone columns so
Excel cannot turn an ID number into 3.50128E+17; a 说明 sheet lists every column and value.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from sync_server.importer.layout import ENUMERATIONS, GRID, LAYOUTS, ROSTER, SheetLayout

_TEXT_COLUMNS = {"code", "parent_code", "grid_code", "id_number", "phone", "number", "room"}
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_BOLD = Font(bold=True)
_LAST_ROW = 1_048_576  # Excel's last row: drop-downs and text format cover every data row

GENERAL_RULES = (
    "本模板有两张表：“网格”是网格层级（一至五级），“人房”是一行一人及其住址；人员列全部为空的行只登记房屋（空置房）。",
    "表头在第一行（上方最多可以有九行标题），列的顺序不限，也接受英文表头；不认识的列会被忽略并在结果中列出。",
    "同一文件可以重复导入：网格按编码、楼栋按“网格+道路+弄/巷+门牌号+楼栋”、房屋按“楼栋+单元+房号”、居民按身份证号匹配，不会重复创建。",
    "有错误的行不导入，其余行照常导入；导入结果列出每个错误的表名、行号（与 Excel 左侧行号一致）、列名和原因。",
    "居民搬家：在新地址的行填写此人（可填入住日期），系统结束旧的人房绑定并建立新的绑定，历史保留。",
    "留空的手机号、居住状态、特殊人群、备注不会清除系统中已有的值；特殊人群填“无”表示清除。",
    "身份证号、手机号、编码等列已设为文本格式；从别处粘贴时请用“选择性粘贴 → 值”，以免身份证号变成科学计数法。",
)


def write_template(path: Path) -> None:
    """Write an empty template: `x.xlsx`, or for `x.csv` the pair `x_网格.csv` and `x_人房.csv`."""
    if path.suffix.lower() == ".csv":
        for layout in LAYOUTS:
            target = csv_template_path(path, layout)
            # UTF-8 with BOM: Excel on Windows otherwise reads the Chinese headers as GBK garbage.
            with target.open("w", encoding="utf-8-sig", newline="") as f:
                csv.writer(f).writerow([c.zh for c in layout.columns])
        return
    workbook = Workbook()
    first = workbook.active
    assert first is not None  # a new Workbook always has one sheet
    workbook.remove(first)
    for layout in LAYOUTS:
        _data_sheet(workbook.create_sheet(layout.zh), layout)
    _instructions(workbook.create_sheet("说明"))
    workbook.save(path)


def csv_template_path(path: Path, layout: SheetLayout) -> Path:
    return path.with_name(f"{path.stem}_{layout.csv_suffix}.csv")


def _data_sheet(ws: Worksheet, layout: SheetLayout) -> None:
    for index, col in enumerate(layout.columns, start=1):
        cell = ws.cell(row=1, column=index, value=col.zh)
        cell.font = _BOLD
        cell.fill = _REQUIRED_FILL if col.required == "是" else _HEADER_FILL
        cell.comment = Comment(
            f"{col.zh}（{col.key}）\n必填：{col.required}\n格式：{col.fmt}\n{col.note}", "GridSweep"
        )
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(10, len(col.zh) * 2 + 4, len(col.example) + 2)
        if col.key in _TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    choices = {key: table for key, table, _ in ENUMERATIONS if key != "tags"}
    for index, col in enumerate(layout.columns, start=1):
        options: list[str] | None = None
        if layout is GRID and col.key == "level":
            options = ["1", "2", "3", "4", "5"]
        elif layout is ROSTER and col.key in choices:
            options = list(choices[col.key].values())
        if options:
            letter = get_column_letter(index)
            validation = DataValidation(
                type="list", formula1='"' + ",".join(options) + '"', allow_blank=True
            )
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            ws.add_data_validation(validation)


def _instructions(ws: Worksheet) -> None:
    ws.append(["GridSweep 基础数据导入模板说明"])
    ws["A1"].font = Font(bold=True, size=14)
    for number, rule in enumerate(GENERAL_RULES, start=1):
        ws.append([f"{number}. {rule}"])
    ws.append([])
    table_start = ws.max_row + 1
    header = ["表", "列（表头）", "英文表头", "必填", "格式", "示例", "说明", "也接受的表头"]
    ws.append(header)
    _bold_row(ws)
    for layout in LAYOUTS:
        for col in layout.columns:
            ws.append(
                [
                    layout.zh,
                    col.zh,
                    col.key,
                    col.required,
                    col.fmt,
                    col.example,
                    col.note,
                    "、".join(col.aliases),
                ]
            )
    ws.append([])
    ws.append(["可选值", "中文", "英文", "也接受"])
    _bold_row(ws)
    for key, table, aliases in ENUMERATIONS:
        column = ROSTER.column(key).zh
        for value, zh in table.items():
            others = "、".join(a for a, v in aliases.items() if v == value)
            ws.append([column, zh, value, others])
    for letter, width in zip("ABCDEFGH", (10, 14, 18, 18, 36, 22, 52, 30), strict=True):
        ws.column_dimensions[letter].width = width
    # Only the tables wrap: the numbered rules are single long lines that read best unwrapped.
    for row in ws.iter_rows(min_row=table_start):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _bold_row(ws: Worksheet) -> None:
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
