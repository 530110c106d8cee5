"""The user page's "sign out everywhere" (全部退出登录): every session ends, the account stays."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import AuditEvent, User
from tests.factories import TinyGrid
from tests.sync_server.console.conftest import OpenConsole


def test_an_admin_signs_a_supervisor_out_of_every_browser(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        supervisor = session.scalars(select(User.id).where(User.username == "s1")).one()
    office, home = browser("s1"), browser("s1")
    admin = browser("admin")
    page = admin.get(f"/console/manage/users/{supervisor}")
    assert 'id="sign-out-everywhere"' in page.text and "全部退出登录" in page.text
    done = admin.post(f"/console/manage/users/{supervisor}/sign-out")
    assert done.status_code == 303
    assert done.headers["location"].endswith("?msg=user_signed_out")
    assert "该账号的所有登录已失效" in admin.get(done.headers["location"]).text
    for console in (office, home):
        gone = console.get("/console", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
    assert browser("s1").get("/console").status_code == 200  # the account still signs in
    with session_factory() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user_signed_out")
        ).all()
        assert event.detail == {"of": "s1", "ended": 2, "via": "console"}


def test_signing_oneself_out_everywhere_ends_this_session_too(
    tiny: TinyGrid, browser: OpenConsole, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        admin_id = session.scalars(select(User.id).where(User.username == "admin")).one()
    admin = browser("admin")
    done = admin.post(f"/console/manage/users/{admin_id}/sign-out")
    assert done.status_code == 303 and done.headers["location"] == "/console/login"
    gone = admin.get("/console", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
