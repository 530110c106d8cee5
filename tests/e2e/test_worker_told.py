"""What a worker is told on the phone, in a real browser: an edit made online leaves by itself,
a supervisor's send-back shows at home naming the person and opens them, and on the missed list
the outcome form opens under the person tapped, not at the top of a long list.

Screenshots go to test-output/screenshots/told-*.png for a reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from sync_server.models import OperationLog, User
from sync_server.services.review import decide
from tests.days import RUN_CLOCK
from tests.e2e.conftest import PHONE, FlutterPage
from tests.e2e.harness import FieldApp, SyncServer
from tests.e2e.test_doorstep import pick_resident, unused_id_number

pytestmark = pytest.mark.slow
SENT_BACK = "身份证号与户口本不一致，请核对"


@pytest.fixture
def app(tmp_path: Path, server: SyncServer) -> Iterator[FieldApp]:
    # Pushed a second after the last edit (the default is three), to keep the test short.
    app = FieldApp(tmp_path, server.url, settings={"GRIDSWEEP_PUSH_DELAY_SECONDS": "1"})
    app.start()
    yield app
    app.stop()


def send_back(server_db: Path, name: str) -> None:
    """An admin sends back the phone's new resident `name` (the console's review action)."""
    engine = create_engine(f"sqlite:///{server_db}")
    try:
        with Session(engine) as session, session.begin():
            admin = session.scalars(select(User).where(User.role == "admin")).first()
            op = session.scalars(
                select(OperationLog).where(
                    OperationLog.entity == "resident", OperationLog.kind == "create"
                )
            ).all()
            [created] = [o for o in op if o.fields.get("name", {}).get("new") == name]
            assert admin is not None
            decide(
                session=session,
                user=admin,
                op_id=created.op_id,
                approve=False,
                reason=SENT_BACK,
                now=RUN_CLOCK.now(),
            )
    finally:
        engine.dispose()


def test_online_push_send_back_and_the_missed_form(
    phone: FlutterPage, server: SyncServer, app: FieldApp
) -> None:
    phone.open(app.url)
    phone.sign_in_worker()

    # --- a person added at the door while online leaves without tapping 同步 ------------------
    _, name, initials = pick_resident(app.data_dir)
    phone.labelled("搜索").click()
    phone.type_into("搜索居民", initials)
    phone.tap(name)
    phone.wait_text("显示身份证号")
    phone.text(re.compile(r"起$")).click()  # their home line: the house
    phone.button("新增居民").click()
    phone.type_into("姓名", "郑到访")
    phone.type_into("身份证号", unused_id_number(server.db_path))
    phone.button("保存").click()
    phone.wait_text("已保存，等待同步")
    phone.wait_text("已全部同步", timeout=30_000)  # pushed by itself, a second after the save
    phone.shot("told-01-pushed-by-itself")

    # --- the supervisor sends it back; the next sync shows it at home -------------------------
    send_back(server.db_path, "郑到访")
    phone.button("同步").first.click()
    phone.labelled("首页").click()
    phone.wait_text("被退回的修改", timeout=30_000)
    phone.wait_text("郑到访 · 新增人员被退回")
    phone.wait_text(SENT_BACK, timeout=10_000)
    phone.wait_text("1 条需处理")
    phone.shot("told-02-send-back-at-home")
    phone.button("查看此人").click()
    phone.wait_text("显示身份证号")
    phone.shot("told-03-send-back-on-the-person")
    phone.button("知道了").first.click()
    phone.text("1 条需处理").wait_for(state="detached", timeout=10_000)

    # --- the missed list: the form opens where the worker tapped ------------------------------
    phone.labelled("首页").click()
    phone.button("活动").click()
    phone.text(re.compile("流感")).click()
    phone.wait_text(re.compile("未完成"))
    buttons = phone.page.get_by_role("button", name="记录结果")
    buttons.first.wait_for(timeout=30_000)
    target = buttons.nth(min(4, buttons.count() - 1))
    target.scroll_into_view_if_needed()
    target.click()
    save = phone.button("保存")
    save.wait_for(timeout=10_000)
    save.scroll_into_view_if_needed()
    box = save.bounding_box()
    assert box is not None and 0 <= box["y"] <= PHONE["height"], "the form is on screen"
    phone.shot("told-04-missed-form-where-tapped")
