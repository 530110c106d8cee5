"""The console's own SQL on PostgreSQL: the review queue (a JSON path in the operation log), the
scoped change list, history and exports. Everything else is the same SQLAlchemy on both."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sync_server.config import Settings
from tests.days import iso
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import OpenConsole
from tests.sync_server.console.test_review import _new_resident, _op_ids
from tests.sync_server.wire_device import WireDevice

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    """Every fixture of this module (database, app, grid) runs on PostgreSQL."""
    return pg_settings


def test_review_history_and_export_on_postgresql(
    tiny: TinyGrid, browser: OpenConsole, device: Callable[[str], WireDevice]
) -> None:
    phone = device("w11")
    _, results = _new_resident(phone, "冯库测")
    binding_id = sorted(phone.of("binding"))[0]
    phone.push([phone.edit("binding", binding_id, end_date=iso(-3))])
    s1 = browser("s1")
    assert len(_op_ids(s1.get("/console/review").text)) == 2
    assert _op_ids(browser("s2").get("/console/review").text) == []
    s1.post(f"/console/review/{results[0]['op_id']}/send-back", {"reason": "请核对"})
    assert phone.pull()[-1]["review_notes"][0]["reason"] == "请核对"
    assert "冯库测" in s1.get("/console/changes").text
    assert "冯库测" not in browser("s2").get("/console/changes").text
    history = s1.get(f"/console/history/resident/{results[0]['record_id']}")
    assert history.status_code == 200 and "冯库测" in history.text
    export = s1.get(f"/console/export/residents?node={tiny.nodes['T1-1-1-1'].id}&format=csv")
    assert "冯库测" in export.content.decode("utf-8-sig")
