"""Writes the office-style sample sheets beside this file: `西门社区.xlsx` and `东门社区_人房.csv`.

They are filled in the way community offices fill their own rosters, not the way the template
asks: a title row above the header, the building, unit and room merged down each block, the
header repeated above the second block, columns the format does not know (序号, 民族), ID numbers
stored as numbers (an old 15-digit one that survives, an 18-digit one Excel has cut), landlines,
两个号码, 无, relations as a household register (户口本) writes them, a vacant house noted 空置.
`tests/sync_server/test_import_office.py` imports them and says what each row must become.

Run `uv run python -m tests.sync_server.data.make_office_sheets` after changing the rows; the
test checks that the committed files hold what this script writes.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from shared.validation import id_check_char

HERE = Path(__file__).parent
XLSX = HERE / "西门社区.xlsx"
CSV = HERE / "东门社区_人房.csv"
G1, G2 = "XM-1-1-1-01", "XM-1-1-1-02"


def person_id(n: int, *, born: int = 1960) -> str:
    """A valid 18-digit ID number for person n of this file (Fujian, 平潭)."""
    first17 = f"350128{born + n}0115{n:03d}"
    return first17 + id_check_char(first17)


OLD_ID = "350128450307451"  # issued before 1999: 15 digits, born 1945-03-07
OLD_ID_CSV = "350128520611032"

GRID_TITLE = "西门社区网格划分表"
GRID_HEADER = ["序号", "编码", "名称", "层级", "上级编码"]
GRID_ROWS: list[list[Any]] = [
    [1, "XM", "实验区", 1, None],
    [2, "XM-1", "海坛片区", 2, "XM"],
    [3, "XM-1-1", "潭城镇", 3, "XM-1"],
    [4, "XM-1-1-1", "西门社区", 4, "XM-1-1"],
    [5, G1, "西门社区第1网格", "五级", "XM-1-1-1"],
    [6, G2, "西门社区第2网格", "五级网格", "XM-1-1-1"],
]

ROSTER_TITLE = "西门社区人房信息登记表（2025年6月）"
ROSTER_HEADER = [
    "序号",
    "五级网格编码",
    "道路",
    "门牌号",
    "楼栋",
    "单元",
    "房号",
    "姓名",
    "身份证号码",
    "民族",
    "联系电话",
    "与户主关系",
    "居住状态",
    "特殊人群",
    "入住日期",
    "备注",
]
# Spreadsheet rows of the 人房 sheet: 1 title, 2 header, blocks below. `None` under a merged
# range: only its first cell holds the value, as in a real merged sheet.
_ = None
ROSTER_ROWS: list[list[Any]] = [
    # block 1 (rows 3-8): 西大街12号 1幢 1单元, grid, road, number, building, unit merged
    [1, G1, "西大街", "12号", "1幢", "1单元", "101", "张建国", person_id(1), "汉", "0591-87654321", "户主", "常住", _, datetime(2010, 5, 1), _],
    [2, _, _, _, _, _, _, "林秀英", person_id(2), "汉", "13800000002、13900000003", "配偶", _, _, _, _],
    [3, _, _, _, _, _, _, "张小红", person_id(40), "汉", "无", "孙女", "常住", _, _, _],
    [4, _, _, _, _, _, "102", "空置", _, _, _, _, _, _, _, _],
    [5, _, _, _, _, _, "201", "王大海", int(OLD_ID), "汉", "87654321", "户主", _, "独居老人", "2015.3.1", _],
    [6, _, _, _, _, _, "202", "刘梅", person_id(6), "回", "12345", "儿媳", "暂离", _, "2019年5月1日", _],
    # row 9: the header again, above the second block
    ROSTER_HEADER,
    # block 2 (rows 10-13): 西大街12号 1幢 2单元
    [7, G1, "西大街", "12号", "1幢", "2单元", "301", "陈志明", float(person_id(7)), "汉", "13700000007", "户主", _, _, _, _],
    [8, _, _, _, _, _, _, "陈母", person_id(8, born=1930), "汉", "/", "母亲", _, "残疾、独居老人", _, _],
    [9, _, _, _, _, _, "302", "赵丽", person_id(9), "汉", "0591-8765 4322转8001", "女婿", "流动", _, _, _],
    [10, _, _, _, _, _, _, "周姐", person_id(10), "汉", _, "保姆", "流动", _, _, _],
    # a village: 张村 in grid 2, no building
    [11, G2, "张村", "8号", _, _, _, "李老汉", person_id(11, born=1925), "汉", "13600000011", "本人", "常住", "独居老人", datetime(1980, 1, 1), _],
    [12, G2, "张村", "9号", _, _, _, _, _, _, _, _, _, _, _, "空房"],
]  # fmt: skip
# Merged ranges of the 人房 sheet, as an office merges them.
ROSTER_MERGES = [
    "A1:P1",
    "B3:B8", "C3:C8", "D3:D8", "E3:E8", "F3:F8", "G3:G5",
    "B10:B13", "C10:C13", "D10:D13", "E10:E13", "F10:F13", "G10:G11", "G12:G13",
]  # fmt: skip

CSV_HEADER = [
    "序号",
    "所属网格编码",
    "道路",
    "门牌号",
    "姓名",
    "身份证号",
    "民族",
    "电话",
    "关系",
    "备注",
]
CSV_ROWS: list[list[Any]] = [
    ["东门社区人房信息（村居自建房）"],
    CSV_HEADER,
    [1, G2, "东街", "1号", "黄老伯", OLD_ID_CSV, "汉", "没有", "户主"],
    [2, G2, "东街", "1号", "黄小明", person_id(21), "汉", "13500000021 13500000022", "外孙"],
    CSV_HEADER,
    [3, G2, "东街", "2号", "吴奶奶", person_id(22, born=1920), "汉", "(0591)2345678-12", "祖父母"],
    [4, G2, "东街", "2号", "吴军", person_id(23), "汉", "-", "兄弟姐妹"],
    [5, G2, "东街", "3号", "", "", "", "", "", "空置"],
]


def write_xlsx(path: Path = XLSX) -> Path:
    workbook = Workbook()
    grid = workbook.active
    assert grid is not None
    grid.title = "网格"
    grid.append([GRID_TITLE])
    grid.merge_cells("A1:E1")
    for row in [GRID_HEADER, *GRID_ROWS]:
        grid.append(row)
    roster = workbook.create_sheet("人房")
    roster.append([ROSTER_TITLE])
    for row in [ROSTER_HEADER, *ROSTER_ROWS]:
        roster.append(row)
    for merged in ROSTER_MERGES:
        roster.merge_cells(merged)
    roster["A1"].font = Font(bold=True, size=14)
    roster["A1"].alignment = Alignment(horizontal="center")
    for cell in roster["I"]:  # ID numbers: the office formatted the column as a number
        if not isinstance(cell.value, str):
            cell.number_format = "0"
    workbook.save(path)
    return path


def write_csv(path: Path = CSV) -> Path:
    # GBK, what Excel on a Chinese Windows saves as "CSV".
    with path.open("w", encoding="gb18030", newline="") as f:
        csv.writer(f).writerows(CSV_ROWS)
    return path


if __name__ == "__main__":
    print(write_xlsx(), write_csv())
