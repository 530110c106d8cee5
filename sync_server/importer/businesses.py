"""Importing businesses (商户) from a spreadsheet: one row per business, with the usual row-level
report (sheet, row, column, reason in Chinese and English); bad rows are reported and skipped,
good rows load, and importing the same file again changes nothing.

A row names its level-5 grid by code, its type by code or Chinese name (餐饮, catering), and is
matched to an existing business by licence number within the grid, else by name and address.
Values are judged by `shared.records.check_values` (licence check character, phone, status), the
rules a phone's push meets.
"""

from __future__ import annotations

from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.clock import china_date
from shared.errors import FieldError
from shared.records import check_values
from shared.schema import LEAF_LEVEL
from sync_server.importer.feed import ChangeSink, NoChanges
from sync_server.importer.layout import Column, SheetLayout
from sync_server.importer.reader import open_sheets
from sync_server.importer.report import RowError, Where, row_error
from sync_server.models import Business, BusinessType, GridNode, new_id

MAX_ERRORS_KEPT = 1000

BUSINESSES = SheetLayout(
    kind="business",
    zh="商户",
    csv_suffix="商户",
    names=("商户", "商户表", "商户信息", "business", "businesses"),
    columns=(
        Column(
            "grid_code",
            "网格编码",
            "是",
            "五级网格的编码",
            "HT-01-03-02-05",
            "商户所在的五级网格",
            ("网格",),
            True,
        ),
        Column(
            "name",
            "商户名称",
            "是",
            "文本，最多200个字符",
            "沙县小吃",
            "招牌或登记名称",
            ("名称", "店名"),
            True,
        ),
        Column(
            "type",
            "商户类型",
            "是",
            "餐饮/住宿/商超/理发美容/维修/其他",
            "餐饮",
            "平台管理员维护的商户类型",
            ("类型", "行业"),
            True,
        ),
        Column(
            "licence_number",
            "统一社会信用代码",
            "否",
            "18位，或15位旧注册号",
            "91350128MA2Y0000XX",
            "校验位会被检查",
            ("信用代码", "注册号", "营业执照号"),
        ),
        Column(
            "contact_name", "联系人", "否", "文本", "王建国", "负责人或店长", ("负责人", "法人")
        ),
        Column(
            "contact_phone",
            "联系电话",
            "否",
            "手机或固定电话",
            "13905910001",
            "",
            ("电话", "手机号"),
        ),
        Column("address", "地址", "否", "文本，最多300个字符", "西大街11号", "", ("经营地址",)),
        Column("status", "经营状态", "否", "营业/停业/注销，默认营业", "营业", "", ("状态",)),
    ),
)


@dataclass
class BusinessImportReport:
    """What an import of businesses did; nothing in it is committed until the caller commits."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_ERRORS_KEPT
    error_counts: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({(e.sheet, e.row) for e in self.errors})

    def add(self, where: Where, error: FieldError) -> None:
        self.error_counts[error.code] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(row_error(where, error))


def import_businesses(
    *,
    session: Session,
    paths: list[Path],
    user_id: str | None = None,
    changes: ChangeSink | None = None,
    now: datetime,
) -> BusinessImportReport:
    """Load businesses from .xlsx/.csv files; never commits. Every created or changed business
    is announced to `changes` under its grid, so the grid's phones pull it."""
    sink: ChangeSink = NoChanges() if changes is None else changes
    report = BusinessImportReport()
    today = china_date(now)
    grids = {
        code: (node_id, level)
        for code, node_id, level in session.execute(
            select(GridNode.code, GridNode.id, GridNode.level).where(GridNode.deleted.is_(False))
        )
    }
    types: dict[str, str] = {}
    for kind in session.scalars(select(BusinessType).where(BusinessType.deleted.is_(False))):
        types[kind.code] = types[kind.name] = types[kind.id] = kind.id
    existing = list(session.scalars(select(Business).where(Business.deleted.is_(False))))
    by_licence = {(b.grid_id, b.licence_number): b for b in existing if b.licence_number}
    by_name = {(b.grid_id, b.name, b.address): b for b in existing}
    with ExitStack() as stack:
        for sheet in open_sheets(paths, stack, report, layouts=(BUSINESSES,)):
            for data in sheet.rows():
                report.rows_read += 1
                _row(
                    session,
                    data.values,
                    data.where,
                    report,
                    grids,
                    types,
                    by_licence,
                    by_name,
                    sink,
                    user_id,
                    now,
                    today,
                )
    return report


def _row(
    session: Session,
    cells: dict[str, Any],
    where: Where,
    report: BusinessImportReport,
    grids: dict[str, tuple[str, int]],
    types: dict[str, str],
    by_licence: dict[tuple[str, str], Business],
    by_name: dict[tuple[str, str, str], Business],
    sink: ChangeSink,
    user_id: str | None,
    now: datetime,
    today: Any,
) -> None:
    text = {k: "" if v is None else str(v).strip() for k, v in cells.items()}
    errors: list[FieldError] = []
    grid = grids.get(text.get("grid_code", ""))
    if grid is None:
        errors.append(
            FieldError(
                "grid_code",
                "unknown_reference",
                f"there is no grid {text.get('grid_code')!r}",
                {"value": text.get("grid_code", "")},
            )
        )
    elif grid[1] != LEAF_LEVEL:
        errors.append(
            FieldError(
                "grid_code",
                "grid_not_leaf",
                "a business belongs to a level-5 grid",
                {"value": text.get("grid_code", ""), "level": grid[1]},
            )
        )
    type_id = types.get(text.get("type", ""))
    if type_id is None:
        errors.append(
            FieldError(
                "type",
                "unknown_reference",
                f"there is no business type {text.get('type')!r}",
                {"value": text.get("type", "")},
            )
        )
    values = {
        "name": text.get("name", ""),
        "licence_number": text.get("licence_number", ""),
        "contact_name": text.get("contact_name", ""),
        "contact_phone": text.get("contact_phone", ""),
        "address": text.get("address", ""),
        "status": text.get("status") or "open",
    }
    checked, problems = check_values(
        "business", values, creating=False, today=today, from_device=False
    )
    if not values["name"]:
        problems.append(FieldError("name", "required", "name is required."))
    errors += problems
    if errors or grid is None or type_id is None:
        for error in errors:
            report.add(where, error)
        return
    checked.update(grid_id=grid[0], business_type_id=type_id)
    found = (
        by_licence.get((grid[0], checked["licence_number"]))
        if checked.get("licence_number")
        else None
    ) or by_name.get((grid[0], checked["name"], checked.get("address") or ""))
    if found is None:
        business = Business(
            id=new_id(),
            version=1,
            updated_at=now,
            updated_by_user_id=user_id,
            deleted=False,
            clocks={},
            building_id=None,
            **checked,
        )
        session.add(business)
        report.created += 1
    else:
        changed = {k: v for k, v in checked.items() if getattr(found, k) != v}
        if not changed:
            report.unchanged += 1
            return
        for name, value in changed.items():
            setattr(found, name, value)
        found.version += 1
        found.updated_at, found.updated_by_user_id, found.updated_by_device_id = now, user_id, None
        business = found
        report.updated += 1
    if business.licence_number:
        by_licence[(business.grid_id, business.licence_number)] = business
    by_name[(business.grid_id, business.name, business.address)] = business
    sink.add("business", business.id, {business.grid_id})
