"""The audit trail: conflict settlements and exports record who, from which device, and when."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync_server.models import AuditEvent
from tests.factories import TinyGrid
from tests.sync_server.campaign_helpers import create_campaign
from tests.sync_server.conftest import login
from tests.sync_server.test_conflicts_api import _name_conflict
from tests.sync_server.wire_device import WireDevice


def _events(factory: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with factory() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def test_settling_a_conflict_is_audited_on_its_record(
    client: TestClient,
    pair: tuple[WireDevice, WireDevice],
    session_factory: sessionmaker[Session],
) -> None:
    a, b = pair
    rid, conflict_id = _name_conflict(a, b)
    admin = login(client, "admin", device=True)
    settled = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve", json={"choice": "device"}, headers=admin
    )
    assert settled.status_code == 200
    [event] = _events(session_factory, "conflict_settled")
    assert (event.username, event.entity, event.record_id) == ("admin", "resident", rid)
    assert event.detail == {"conflict_id": conflict_id, "kind": "field", "choice": "device"}
    assert event.at is not None and event.ip == "testclient"
    # A refused second settlement leaves no event.
    again = client.post(
        f"/api/v1/conflicts/{conflict_id}/resolve", json={"choice": "server"}, headers=admin
    )
    assert again.status_code == 409
    assert len(_events(session_factory, "conflict_settled")) == 1


def test_the_api_missed_list_export_is_audited_with_the_device(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    campaign = create_campaign(client, "T1-1-1-1")
    phone = WireDevice(client, "w11")
    export = client.get(f"/api/v1/campaigns/{campaign['id']}/missed.csv", headers=phone.headers)
    assert export.status_code == 200, export.text
    [event] = _events(session_factory, "export")
    assert (event.username, event.device_id) == ("w11", phone.device_id)
    assert event.detail["export"] == "missed" and event.detail["via"] == "api"
    assert event.detail["campaign_id"] == campaign["id"]
