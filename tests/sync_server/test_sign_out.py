"""Ending sign-ins: "sign out everywhere" without disabling the account, devices revoked for
everyone, and tokens without a device kept away from personal data."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import AuditEvent, User
from sync_server.services.devices import revoke_device
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD, TinyGrid
from tests.sync_server.campaign_helpers import create_campaign
from tests.sync_server.conftest import login
from tests.sync_server.wire_device import WireDevice


def _user_id(session_factory: sessionmaker[Session], username: str) -> str:
    with session_factory() as session:
        return session.scalars(select(User.id).where(User.username == username)).one()


def _console(client: TestClient, username: str) -> None:
    response = client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "next": "/console"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_an_admin_signs_a_user_out_everywhere_and_the_account_stays_usable(
    app: object, client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    phone = WireDevice(client, "s1")
    script = login(client, "s1")
    browser = TestClient(client.app)  # the supervisor's browser, a cookie jar of its own
    _console(browser, "s1")
    assert browser.get("/console", follow_redirects=False).status_code == 200
    admin = login(client, "admin")
    supervisor = _user_id(session_factory, "s1")

    response = client.post(f"/api/v1/users/{supervisor}/sign-out-everywhere", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": supervisor, "ended": 3}
    for headers in (phone.headers, script):
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    gone = browser.get("/console", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
    # Not disabled: the password still signs in, on the same phone too.
    again = client.post(
        "/api/v1/auth/login",
        json={"username": "s1", "password": PASSWORD, "device_id": phone.device_id},
    )
    assert again.status_code == 200, again.text
    with session_factory() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user_signed_out")
        ).all()
        assert (event.username, event.record_id) == ("admin", supervisor)
        assert event.detail == {"of": "s1", "ended": 3, "via": "api"}


def test_only_admins_sign_others_out_and_anyone_may_sign_themselves_out(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    other = _user_id(session_factory, "s1")
    refused = client.post(f"/api/v1/users/{other}/sign-out-everywhere", headers=worker.headers)
    assert refused.status_code == 403
    assert client.get("/api/v1/me", headers=login(client, "s1")).status_code == 200
    own = client.post("/api/v1/me/sign-out-everywhere", headers=worker.headers)
    assert own.status_code == 200 and own.json()["ended"] == 1
    assert client.get("/api/v1/me", headers=worker.headers).status_code == 401


def test_deactivation_through_the_api_refuses_every_sign_in(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    worker = WireDevice(client, "w11")
    admin = login(client, "admin")
    wid = _user_id(session_factory, "w11")
    off = client.post(f"/api/v1/users/{wid}/active", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    assert client.get("/api/v1/me", headers=worker.headers).status_code == 401
    refused = client.post("/api/v1/auth/login", json={"username": "w11", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["code"] == "account_inactive"
    on = client.post(f"/api/v1/users/{wid}/active", json={"active": True}, headers=admin)
    assert on.status_code == 200 and on.json()["active"] is True
    self_off = client.post(
        f"/api/v1/users/{_user_id(session_factory, 'admin')}/active",
        json={"active": False},
        headers=admin,
    )
    assert self_off.status_code == 422 and self_off.json()["code"] == "self_deactivate"


def test_a_revoked_device_stays_revoked_for_every_user(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    phone = WireDevice(client, "w11")
    with session_factory() as session, session.begin():
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        revoke_device(session=session, actor=admin, device_id=phone.device_id, now=RUN_CLOCK.now())
    for username in ("w11", "w12", "s1", "admin"):
        response = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": PASSWORD, "device_id": phone.device_id},
        )
        assert response.status_code == 403, (username, response.text)
        assert response.json()["code"] == "device_revoked"


def test_a_token_without_a_device_reads_no_personal_data(
    client: TestClient, tiny: TinyGrid
) -> None:
    campaign = create_campaign(client, "T1-1-1-1")
    bare = login(client, "admin")
    assert client.get("/api/v1/me", headers=bare).status_code == 200
    for path in (
        "/api/v1/conflicts",
        f"/api/v1/campaigns/{campaign['id']}/missed.csv",
        f"/api/v1/campaigns/{campaign['id']}/missed.xlsx",
    ):
        refused = client.get(path, headers=bare)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["code"] == "device_required"
        allowed = client.get(path, headers=login(client, "admin", device=True))
        assert allowed.status_code == 200, (path, allowed.text)
