"""A worker checks a restaurant against its checklist with no signal, in a real browser at phone
size: home → 商户 → the running 排查整治 sweep → a business still to check → 合格 / 不合格 /
不适用 per item, a note on the failed one → saved offline, one change waiting.

Screenshots go to test-output/screenshots/business-*.png for a reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FlutterPage
from tests.e2e.harness import FieldApp, SyncServer

pytestmark = pytest.mark.slow
SWEEP = "冬季餐饮住宿场所消防安全排查整治"


@pytest.fixture
def app(tmp_path: Path, server: SyncServer) -> Iterator[FieldApp]:
    app = FieldApp(tmp_path, server.url)
    app.start()
    yield app
    app.stop()


def test_a_business_is_checked_offline_from_the_sweeps_list(
    phone: FlutterPage, server: SyncServer, app: FieldApp
) -> None:
    phone.open(app.url)
    phone.sign_in_worker()
    server.stop()
    phone.wait_text("离线", timeout=30_000)

    phone.tap(re.compile("商户："))
    phone.wait_text(SWEEP)
    phone.shot("business-01-list")
    phone.tap(SWEEP)
    phone.wait_text(re.compile("已检查.*家"))
    phone.tap("未检查")  # the first business still to check
    phone.wait_text(re.compile("已检查0/\\d+项"))
    passes = phone.button("合格", exact=True)
    count = passes.count()
    assert count >= 3, "a restaurant's checklist has several items"
    for index in range(count):
        passes.nth(index).click()
    phone.button("不合格", exact=True).nth(2).click()
    phone.button("不适用", exact=True).nth(3).click()
    phone.type_into("存在的问题（不合格必填）", "后厨灭火器已过期")
    phone.wait_text(re.compile(f"已检查{count}/{count}项 · 不合格1项"))
    phone.shot("business-02-checklist")
    phone.button("保存检查结果").click()
    phone.wait_text("检查结果已保存，将同步")
    phone.wait_text("1 条待同步")
    phone.wait_text(re.compile("1项不合格|已检查"))
    phone.shot("business-03-saved")
