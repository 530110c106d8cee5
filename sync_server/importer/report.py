"""What an import tells its user: per-entity counts, every rejected row, per-row warnings, the
columns it ignored, and notes.

A `RowError` points at one cell the way a user finds it in Excel: sheet (or CSV file) name, the
1-based spreadsheet row number counting the header row, and the column header as written in the
file. Row 0 means a problem with the whole file or sheet rather than one row. A warning is a
`RowError` too, on a row that was imported: an optional detail kept aside, or a value the import
changed (an old 15-digit ID number, a relation it did not know).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shared.errors import FieldError
from shared.messages import ZH as SHARED_ZH
from sync_server.exports.cells import neutral_row

ENTITIES = ("grid_nodes", "buildings", "units", "houses", "residents", "bindings")
ENTITY_ZH = {
    "grid_nodes": "网格",
    "buildings": "楼栋",
    "units": "单元",
    "houses": "房屋",
    "residents": "居民",
    "bindings": "人房绑定",
    # the members import (importer/members.py) counts these instead
    "members": "党员",
    "orgs": "单位",
}
OUTCOMES = ("created", "updated", "unchanged", "closed")
OUTCOME_ZH = {"created": "新增", "updated": "更新", "unchanged": "未变", "closed": "结束"}

# Chinese sentences for the importer's own error codes; codes shared with the rest of the system
# (ID number, phone, required, choice, ...) take their text from `shared.messages`.
IMPORT_ZH: dict[str, str] = {
    "date_future": "{field_zh}{value}晚于今天",
    "grid_level": "层级应为1-5，当前为“{value}”",
    "grid_root_parent": "一级网格不能填写上级编码（当前为“{value}”）",
    "grid_parent_level": "上级网格“{value}”是{parent_level}级，{level}级网格的上级应为{expected}级",
    "grid_parent_failed": "上级网格“{value}”（{where}）有错误未导入，本行也未导入",
    "grid_not_leaf": "网格“{value}”是{level}级网格，房屋只能属于五级网格",
    "grid_row_failed": "网格“{value}”（{where}）有错误未导入",
    "grid_moved": (
        "网格“{value}”已存在，上级为“{old_parent}”、层级{old_level}；"
        "导入不调整已有网格的上级或层级，请在网格管理中调整"
    ),
    "grid_code_deleted": "编码“{value}”属于一个已删除的网格，不能再次使用",
    "duplicate_in_file": "{field_zh}“{value}”在本次导入中重复（{where}已出现），本行未导入",
    "address_missing": "地址为空：道路、弄/巷、门牌号、楼栋至少填写一项",
    "room_required": "填写了楼栋或单元时，房号为必填",
    "stale_move": (
        "该居民已于{current_start}入住“{current_address}”，晚于本行入住日期{value}；"
        "表格可能比系统数据旧，未做迁移"
    ),
    "missing_column": "缺少必需的列“{field_zh}”",
    # warnings: the row was imported
    "phone_extra": "{field_zh}填了多个号码，只导入了第一个{value}，未导入：{rest}",
    "id_converted": "身份证号{value}是15位旧号码，已按国家标准转为18位{id_number}",
    "relation_other": "{field_zh}“{value}”不在可选值中，已记为“其他”",
    "person_columns_ignored": "本行没有姓名和身份证号，按空置房登记；{columns}未导入",
    "unknown_sheet": "无法识别的表格：前10行中没有找到{layouts}的表头",
    "file_unreadable": "文件无法读取：{detail}",
    "file_too_large": "文件解压后过大（{detail}），可能是压缩炸弹；请检查文件来源，或分成几个文件导入",
    "formulas_without_values": (
        "“{sheet}”表里是公式，没有保存的计算结果（文件不是由 Excel 或 WPS 保存的）；"
        "请用 Excel 或 WPS 打开后另存，或把公式粘贴为数值后再导入"
    ),
    "too_many_columns": "这一行有超过 {limit} 个单元格，不是正常的名单；请检查文件",
    "file_type": "不支持的文件类型“{value}”，请使用 .xlsx 或 .csv",
    # platform completion data (importer/completions.py)
    "unknown_person": "系统中没有该身份证号（尾号{value}）的在册居民，本行未导入",
    "time_format": "{field_zh}“{value}”无法识别，请写成 YYYY-MM-DD HH:MM:SS",
    "outside_window": "{field_zh}{value}不在活动期间（{start}至{end}）",
    "time_future": "{field_zh}{value}晚于当前时间",
    # members (importer/members.py)
    "not_community": "“{value}”不是社区（四级网格）的编码",
    "phone_taken": "手机号{value}已是另一个账号（{username}）的用户名，本行未导入",
}


# Said after a warning whose value was kept aside, so nobody reads the row as refused.
KEPT_ASIDE_ZH = "（该项未导入，本行其余信息已导入）"
KEPT_ASIDE_EN = " (this value was not imported; the rest of the row was)"
LEVEL_ZH = {"error": "错误", "warning": "警告"}


def reason_zh(error: FieldError, field_zh: str) -> str:
    """The Chinese sentence for an error, naming the column as the user's file names it."""
    template = SHARED_ZH.get(error.code) or IMPORT_ZH.get(error.code)
    if template is None:
        return error.message
    params = {"field_zh": field_zh, **error.params}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return error.message


@dataclass(frozen=True)
class RowError:
    """One rejected cell: where to find it in the user's file and why it was rejected."""

    sheet: str
    row: int  # 1-based spreadsheet row number, header row included; 0 = whole file or sheet
    column: str  # the column header as written in the file
    reason: str  # English
    reason_zh: str = ""
    code: str = ""  # stable machine code, e.g. "id_check_digit"
    level: str = "error"  # "error": the row was not imported; "warning": it was

    def __str__(self) -> str:
        where = f"{self.sheet} 第{self.row}行" if self.row else self.sheet
        column = f" [{self.column}]" if self.column else ""
        return f"{where}{column}：{self.reason_zh or self.reason}"


@dataclass(frozen=True, slots=True)  # one per roster row is kept for duplicate reports
class Where:
    """A row's position and its sheet's header texts, so errors can name the user's columns."""

    sheet: str
    row: int
    headers: Mapping[str, str]  # column key -> header text in the file (or the template's)

    def describe_zh(self) -> str:
        return f"{self.sheet} 第{self.row}行"


class Reporter(Protocol):
    """Where the reader reports file-level problems and notes (ImportReport and its kin)."""

    notes: list[str]
    ignored_columns: list[str]

    def add(self, where: Where, error: FieldError) -> None: ...


def row_error(where: Where, error: FieldError) -> RowError:
    """The RowError of one FieldError found in the row at `where`."""
    column = where.headers.get(error.field, error.field)
    return RowError(
        sheet=where.sheet,
        row=where.row,
        column=column,
        reason=error.message,
        reason_zh=reason_zh(error, column),
        code=error.code,
    )


def row_warning(where: Where, warning: FieldError, *, kept_aside: bool) -> RowError:
    """The warning of one FieldError on an imported row; `kept_aside`: its value was dropped."""
    found = row_error(where, warning)
    if not kept_aside:
        return RowError(**{**found.__dict__, "level": "warning"})
    return RowError(
        sheet=found.sheet,
        row=found.row,
        column=found.column,
        reason=found.reason + KEPT_ASIDE_EN,
        reason_zh=found.reason_zh + KEPT_ASIDE_ZH,
        code=found.code,
        level="warning",
    )


def id_converted(old: str, new: str) -> FieldError:
    """The warning for an old 15-digit ID number imported as its 18 digits: the office may want
    its own sheet fixed."""
    return FieldError(
        "id_number",
        "id_converted",
        f"the old 15-digit number {old} was converted to its 18 digits {new}",
        {"value": old, "id_number": new},
    )


def write_errors_csv(path: Path, errors: Iterable[RowError]) -> None:
    """Write errors (and warnings) as a CSV that Excel opens with Chinese intact (UTF-8 with
    BOM); the 级别 column tells a refused row (错误) from an imported one (警告)."""
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["表", "行", "列", "原因", "reason", "code", "级别"])
        for e in errors:
            cells = [e.sheet, e.row, e.column, e.reason_zh, e.reason, e.code, LEVEL_ZH[e.level]]
            writer.writerow(neutral_row(cells))


def _empty_counts() -> dict[str, dict[str, int]]:
    # Only bindings are ever closed (a move ends one); other records are never ended by import.
    return {
        entity: dict.fromkeys(OUTCOMES if entity == "bindings" else OUTCOMES[:3], 0)
        for entity in ENTITIES
    }


@dataclass
class ImportReport:
    """The outcome of one `import_grid` call; nothing in it is committed until the caller commits."""

    counts: dict[str, dict[str, int]] = field(default_factory=_empty_counts)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # on rows that were imported
    rows_read: int = 0
    notes: list[str] = field(default_factory=list)  # skipped sheets and rows, in Chinese
    ignored_columns: list[str] = field(default_factory=list)  # each header once, in file order

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rejected_rows(self) -> int:
        return len({(e.sheet, e.row) for e in self.errors if e.row})

    @property
    def warned_rows(self) -> int:
        return len({(w.sheet, w.row) for w in self.warnings})

    def count(self, entity: str, outcome: str, n: int = 1) -> None:
        self.counts[entity][outcome] += n

    def add(self, where: Where, error: FieldError) -> None:
        self.errors.append(row_error(where, error))

    def warn(self, where: Where, warning: FieldError, *, kept_aside: bool = True) -> None:
        self.warnings.append(row_warning(where, warning, kept_aside=kept_aside))

    def summary_lines(self) -> list[str]:
        """Human-readable Chinese summary, one line per entity that was touched."""
        lines = [f"读取 {self.rows_read} 行，{self.rejected_rows} 行有错误未导入"]
        if self.warnings:
            lines[0] += f"，{self.warned_rows} 行已导入但有警告"
        for entity, counts in self.counts.items():
            parts = [f"{OUTCOME_ZH[o]} {n}" for o, n in counts.items() if n]
            if parts:
                lines.append(f"{ENTITY_ZH[entity]}：" + "，".join(parts))
        if self.ignored_columns:
            lines.append("已忽略的列（不属于导入格式）：" + "、".join(self.ignored_columns))
        return lines

    def write_errors_csv(self, path: Path) -> None:
        """Write the errors, then the warnings, as a CSV that Excel opens with Chinese intact."""
        write_errors_csv(path, [*self.errors, *self.warnings])
