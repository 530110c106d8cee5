"""Signing in to the console: roles, cookie, CSRF, signing out, language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import TinyGrid
from tests.sync_server.console.conftest import OpenConsole


def test_admin_and_supervisor_sign_in_with_a_strict_httponly_cookie(
    tiny: TinyGrid, browser: OpenConsole
) -> None:
    for username in ("admin", "s1"):
        console = browser()
        response = console.login(username)
        assert response.status_code == 303
        assert response.headers["location"] == "/console"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert "path=/console" in cookie
        assert console.get("/console").status_code == 200


def test_a_worker_is_refused_the_console(tiny: TinyGrid, browser: OpenConsole) -> None:
    console = browser()
    response = console.login("w11")
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert "手机应用" in response.text
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_a_wrong_password_shows_the_form_again(tiny: TinyGrid, browser: OpenConsole) -> None:
    response = browser().login("admin", password="not-the-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_pages_need_a_sign_in_and_come_back_after_it(tiny: TinyGrid, browser: OpenConsole) -> None:
    console = browser()
    response = console.get("/console/fleet", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Ffleet"
    signed_in = console.client.post(
        "/console/login",
        data={"username": "s1", "password": "correct-horse-battery", "next": "/console/fleet"},
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/console/fleet"


def test_login_never_redirects_off_the_console(tiny: TinyGrid, browser: OpenConsole) -> None:
    response = browser().client.post(
        "/console/login",
        data={"username": "s1", "password": "correct-horse-battery", "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console"


def test_every_post_needs_the_csrf_token(tiny: TinyGrid, browser: OpenConsole) -> None:
    admin = browser("admin")
    target = f"/console/manage/users/{tiny.users['w11'].id}/active"
    missing = admin.client.post(target, data={"active": "false"}, follow_redirects=False)
    assert missing.status_code == 403
    assert "页面已过期" in missing.text
    forged = admin.client.post(
        target, data={"active": "false", "csrf": "0" * 64}, follow_redirects=False
    )
    assert forged.status_code == 403
    # Another person's token is no good either: it is bound to one sign-in.
    other = browser("s1")
    assert admin.post(target, {"active": "false", "csrf": other.csrf}).status_code == 403
    assert admin.post(target, {"active": "false"}).status_code == 303


def test_signing_out_revokes_the_token(tiny: TinyGrid, browser: OpenConsole) -> None:
    console = browser("s1")
    cookie = console.client.cookies.get("gs_console")
    assert cookie
    assert console.post("/console/logout").status_code == 303
    # Even if the cookie was kept somewhere, the token behind it no longer works.
    stale = browser()
    stale.client.cookies.set("gs_console", cookie, path="/console")
    assert stale.get("/console", follow_redirects=False).status_code == 303


def test_a_device_token_is_not_a_console_sign_in(
    tiny: TinyGrid, browser: OpenConsole, api: TestClient
) -> None:
    body = {
        "username": "s1",
        "password": "correct-horse-battery",
        "device_id": "5f0c1a2b-0000-4000-8000-000000000001",
    }
    token = api.post("/api/v1/auth/login", json=body).json()["access_token"]
    console = browser()
    console.client.cookies.set("gs_console", token, path="/console")
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_language_switch_is_remembered(tiny: TinyGrid, browser: OpenConsole) -> None:
    console = browser("admin")
    assert "网格概览" in console.get("/console").text
    switched = console.get("/console/lang/en?next=/console/fleet", follow_redirects=False)
    assert switched.headers["location"] == "/console/fleet"
    page = console.get("/console/fleet").text
    assert "Devices and sync" in page
    assert '<html lang="en">' in page
    console.get("/console/lang/zh")
    assert "设备与同步" in console.get("/console/fleet").text


def test_console_login_is_throttled_too(tiny: TinyGrid, browser: OpenConsole) -> None:
    console = browser()
    for _ in range(5):
        assert console.login("s1", "wrong-one").status_code == 401
    locked = console.login("s1")
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers
    assert "set-cookie" not in locked.headers
