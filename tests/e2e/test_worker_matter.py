"""A worker reports a matter (事项) with no signal, in a real browser, and it syncs when the signal
returns: home → matters → report (category, what, where, urgency) → the matter's screen, one
change waiting; the server comes back, the matter reaches it, and the phone shows it synced.

Screenshots go to test-output/screenshots/matter-*.png for a reviewer.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import FlutterPage
from tests.e2e.harness import FieldApp, SyncServer

pytestmark = pytest.mark.slow
DESCRIPTION = "楼道电动车飞线充电"
PLACE = "3号楼1单元楼道"


@pytest.fixture
def app(tmp_path: Path, server: SyncServer) -> Iterator[FieldApp]:
    app = FieldApp(tmp_path, server.url, settings={"GRIDSWEEP_PUSH_DELAY_SECONDS": "1"})
    app.start()
    yield app
    app.stop()


def test_a_matter_reported_offline_syncs_when_the_signal_returns(
    phone: FlutterPage, server: SyncServer, app: FieldApp
) -> None:
    phone.open(app.url)
    phone.sign_in_worker()

    # --- no signal: report at the door --------------------------------------------------------
    server.stop()
    phone.wait_text("离线", timeout=30_000)
    phone.tap(re.compile("件在办"))
    phone.button("上报事项").click()
    phone.button("安全隐患").click()
    phone.type_into("事项描述", DESCRIPTION)
    phone.type_into("地点", PLACE)
    phone.button("紧急").click()
    phone.shot("matter-01-report-offline")
    phone.button("上报", exact=True).click()
    phone.wait_text("事项已上报，将同步")
    phone.wait_text(f"安全隐患 · {PLACE}")
    phone.wait_text("已上报")
    phone.wait_text("1 条待同步")
    phone.shot("matter-02-reported-offline")

    # --- the signal returns: it syncs -----------------------------------------------------------
    server.start()
    phone.wait_text("在线", timeout=30_000)
    if phone.text("已全部同步").is_hidden():
        phone.button("同步").first.click()
    phone.wait_text("已全部同步", timeout=60_000)
    phone.shot("matter-03-synced")
    with sqlite3.connect(server.db_path) as db:
        rows = db.execute(
            "SELECT place, urgency, state, due_at IS NOT NULL FROM matters WHERE description = ?",
            [DESCRIPTION],
        ).fetchall()
    assert rows == [(PLACE, "urgent", "reported", 1)]
