"""Importing businesses from a spreadsheet: good rows load, each bad row is reported with its
row, column and reason (and the rest still load), and importing the same file again changes
nothing."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.importer.businesses import import_businesses
from sync_server.models import Business
from sync_server.services.changes import ChangeSet
from tests.days import RUN_CLOCK
from tests.factories import TinyGrid
from tests.sync_server.business_helpers import CATERING, a_credit_code


def write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "网格编码",
                "商户名称",
                "商户类型",
                "统一社会信用代码",
                "联系人",
                "联系电话",
                "地址",
                "经营状态",
            ]
        )
        writer.writerows(rows)
    return path


def test_good_rows_load_bad_rows_are_reported_and_a_second_import_changes_nothing(
    tmp_path: Path, session_factory: sessionmaker[Session], tiny: TinyGrid
) -> None:
    good = a_credit_code()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        ["T1-1-1-1-1", "沙县小吃", "餐饮", good, "王建国", "13905910001", "西大街11号", "营业"],
        ["T1-1-1-1-1", "海坛宾馆", "lodging", "", "", "", "西大街20号", ""],
        ["T1-1-1-1-2", "惠民超市", "商超", "", "林秀英", "0591-87654321", "", "停业"],
        ["T1-1-1-1-1", "阿强理发店", "理发美容", bad, "", "", "", ""],  # bad licence
        ["T9-9", "老李家电维修", "维修", "", "", "", "", ""],  # unknown grid
        ["T1-1-1-1", "小卖部", "商超", "", "", "", "", ""],  # a community, not level 5
        ["T1-1-1-1-1", "网吧", "娱乐", "", "", "", "", ""],  # unknown type
        ["T1-1-1-1-2", "早餐店", "餐饮", "", "", "1390591", "", ""],  # bad phone
    ]
    path = write(tmp_path / "商户.csv", rows)
    with session_factory() as session, session.begin():
        changes = ChangeSet()
        report = import_businesses(
            session=session, paths=[path], changes=changes, now=RUN_CLOCK.now()
        )
    assert (report.rows_read, report.created, report.rejected) == (8, 3, 5)
    assert [(e.row, e.column, e.code) for e in report.errors] == [
        (5, "统一社会信用代码", "licence_check"),
        (6, "网格编码", "unknown_reference"),
        (7, "网格编码", "grid_not_leaf"),
        (8, "商户类型", "unknown_reference"),
        (9, "联系电话", "phone_length"),
    ]
    assert "校验位" in report.errors[0].reason_zh
    with session_factory() as session:
        shops = {b.name: b for b in session.scalars(select(Business))}
        assert set(shops) == {"沙县小吃", "海坛宾馆", "惠民超市"}
        assert shops["沙县小吃"].business_type_id == CATERING
        assert shops["沙县小吃"].grid_id == tiny.nodes["T1-1-1-1-1"].id
        assert shops["惠民超市"].status == "suspended"
    with session_factory() as session, session.begin():
        again = import_businesses(session=session, paths=[path], now=RUN_CLOCK.now())
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
