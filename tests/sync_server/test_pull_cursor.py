"""The pull cursor is the server's, signed and bound to one device; what a pull may deliver is
decided from the caller's assignments at every pull, never from the cursor."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared.protocol import PROTOCOL_VERSION
from sync_server.config import Settings
from sync_server.errors import BadCursor
from sync_server.models import User
from sync_server.services.pull import Cursor, _sign, cursor_key
from sync_server.services.users import assign_grids
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice


def _pull(device: WireDevice, cursor: str | None, limit: int = 1000) -> Any:
    return device.client.post(
        "/api/v1/sync/pull",
        json={
            "protocol_version": PROTOCOL_VERSION,
            "device_id": device.device_id,
            "cursor": cursor,
            "limit": limit,
        },
        headers=device.headers,
    )


def _payload(cursor: str) -> dict[str, Any]:
    part = cursor.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _grid_ids(tiny: TinyGrid, *codes: str) -> list[str]:
    return sorted(tiny.nodes[c].id for c in codes)


def test_a_changed_cursor_is_refused_as_bad_cursor(client: TestClient, tiny: TinyGrid) -> None:
    device = WireDevice(client, "w11")
    device.pull()
    assert device.cursor is not None
    payload, signature = device.cursor.split(".")
    widened = _payload(device.cursor) | {"scope": [], "boot": _grid_ids(tiny, "T1-1-1-2-1")}
    for forged in (
        f"{_b64(widened)}.{signature}",  # a wider scope under the old signature
        f"{payload}.{signature[:-2]}",  # a truncated signature
        f"{payload[:-3]}.{signature}",  # a truncated payload
        "x.y.z",
        "",
    ):
        response = _pull(device, forged)
        assert response.status_code == 400, forged
        assert response.json()["code"] == "bad_cursor"


def test_another_devices_cursor_does_not_work(client: TestClient, tiny: TinyGrid) -> None:
    mine, other = WireDevice(client, "w11"), WireDevice(client, "w11")
    other.pull()
    response = _pull(mine, other.cursor)
    assert (response.status_code, response.json()["code"]) == (400, "bad_cursor")


def test_a_signed_cursor_with_wrong_types_or_ranges_is_bad_cursor_not_a_crash() -> None:
    key, device = b"k" * 32, "dev-1"
    good = Cursor(seq=5, scope=["g"])
    for change in (
        {"seq": 1e30},
        {"seq": -1},
        {"seq": 2**70},
        {"seq": "5"},
        {"seq": True},
        {"scope": "g"},
        {"scope": [1]},
        {"boot": [None]},
        {"stage": 999},
        {"after": 7},
        {"c": "yes"},
        {"m": 1},
        {"v": 1},
        {"extra": 1},
    ):
        data = asdict(good) | change
        text = _b64(data)
        signed = f"{text}.{base64.urlsafe_b64encode(_sign(key, device, text)).decode()}"
        with pytest.raises(BadCursor):
            Cursor.decode(signed, key, device)
    assert Cursor.decode(good.encode(key, device), key, device) == good


def test_a_cursor_signed_before_matters_decodes_as_storing_none() -> None:
    key, device = b"k" * 32, "dev-1"
    data = asdict(Cursor(seq=5, scope=["g"], c=True))
    del data["m"]
    text = _b64(data)
    signed = f"{text}.{base64.urlsafe_b64encode(_sign(key, device, text)).decode()}"
    decoded = Cursor.decode(signed, key, device)
    assert (decoded.seq, decoded.c, decoded.m) == (5, True, False)
    assert "matter" in decoded.skipped and "matter" not in decoded.order


def test_an_old_unsigned_cursor_asks_the_device_to_download_again(
    client: TestClient, tiny: TinyGrid
) -> None:
    device = WireDevice(client, "w11")
    old = _b64({"seq": 3, "scope": _grid_ids(tiny, "T1-1-1-1-1"), "v": 1})
    response = _pull(device, old)
    assert response.status_code == 409
    assert response.json()["code"] == "resync_required"


def test_a_cursor_signed_before_a_grid_was_taken_away_no_longer_delivers_it(
    client: TestClient, tiny: TinyGrid, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    """The scope in a signed cursor is history (what the device held), not permission: a
    bootstrap cut short keeps going only over the grids the caller still has."""
    device = WireDevice(client, "w11")
    first = _pull(device, None, limit=2).json()
    assert first["has_more"]
    with session_factory() as session, session.begin():
        user = session.scalars(select(User).where(User.username == "w11")).one()
        assign_grids(session=session, user=user, grids=[])
    page = _pull(device, first["cursor"]).json()
    assert page["removed_grids"] == _grid_ids(tiny, "T1-1-1-1-1")
    assert page["records"] == [] or {r["entity"] for r in page["records"]} <= {"grid_node"}
    # Even a cursor the server itself signed naming the grid in its bootstrap list
    # delivers nothing of it now.
    key = cursor_key(settings.secret_key)
    forged = Cursor(seq=0, scope=[], boot=_grid_ids(tiny, "T1-1-1-1-1"), stage=1)
    answer = _pull(device, forged.encode(key, device.device_id)).json()
    assert [r for r in answer["records"] if r["entity"] != "grid_node"] == []


def test_a_moved_off_worker_cannot_pull_the_grid_back_with_its_id(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session]
) -> None:
    device = WireDevice(client, "w11")
    device.pull()
    with session_factory() as session, session.begin():
        user = session.scalars(select(User).where(User.username == "w11")).one()
        assign_grids(session=session, user=user, grids=[session.merge(tiny.nodes["T1-1-1-1-2"])])
    pages = device.pull()
    assert pages[0]["removed_grids"] == _grid_ids(tiny, "T1-1-1-1-1")
    gone = tiny.nodes["T1-1-1-1-1"].id
    # The device tries to reinstate the removed grid by putting its id back in the cursor.
    assert device.cursor is not None
    payload = _payload(device.cursor) | {"scope": [gone], "boot": [gone]}
    signature = device.cursor.split(".")[1]
    response = _pull(device, f"{_b64(payload)}.{signature}")
    assert response.status_code == 400
    houses = {h["values"]["grid_id"] for h in device.of("house").values()}
    assert houses == {tiny.nodes["T1-1-1-1-2"].id}
