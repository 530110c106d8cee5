"""Hostile or broken requests get a clear 4xx problem and change nothing on the server.

Oversized batches (413/422) and old protocol versions in the header (426) are covered in
test_sync_api.py; these are the rest: malformed JSON, wrong types, huge strings, unknown fields,
out-of-range numbers and an old protocol version in the body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from shared.protocol import PROTOCOL_VERSION
from sync_server.models import Change, OperationLog, Resident
from tests.sync_server.wire_device import WireDevice


def _state(factory: sessionmaker[Session], rid: str) -> tuple[int, int, int, str]:
    with factory() as session:
        resident = session.get_one(Resident, rid)
        return (
            session.scalar(select(func.count()).select_from(Change)) or 0,
            session.scalar(select(func.count()).select_from(OperationLog)) or 0,
            resident.version,
            resident.name,
        )


def _post(device: WireDevice, path: str, content: bytes) -> Any:
    headers = dict(device.headers, **{"Content-Type": "application/json"})
    return device.client.post(path, content=content, headers=headers)


def _body(device: WireDevice, ops: list[dict[str, Any]], **envelope: Any) -> bytes:
    body = {"protocol_version": PROTOCOL_VERSION, "device_id": device.device_id, "operations": ops}
    return json.dumps(body | envelope).encode()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda body: body[:-7], id="truncated-json"),
        pytest.param(lambda body: b"{'not': json}", id="not-json"),
        pytest.param(lambda body: b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(lambda body: b"", id="empty"),
        pytest.param(lambda body: b"[1, 2, 3]", id="array-not-object"),
    ],
)
def test_malformed_json_is_a_clear_4xx_and_changes_nothing(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session], broken: Any
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    before = _state(session_factory, rid)
    body = _body(a, [a.edit("resident", rid, name="黑客")])
    response = _post(a, "/api/v1/sync/push", broken(body))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"]
    assert _state(session_factory, rid) == before


def _mutations(device: WireDevice, rid: str) -> dict[str, tuple[list[Any], dict[str, Any]]]:
    op = device.edit("resident", rid, name="黑客")
    return {
        "operations-not-a-list": ([], {"operations": {"op": op}}),
        "version-as-string": ([op], {"protocol_version": "one"}),
        "base-version-as-list": ([dict(op, base_version=[1])], {}),
        "base-version-overflow": ([dict(op, base_version=2**70)], {}),
        "negative-base-version": ([dict(op, base_version=-1)], {}),
        "kind-unknown": ([dict(op, kind="drop_table")], {}),
        "entity-unknown": ([dict(op, entity="users")], {}),
        "fields-as-string": ([dict(op, fields="name=黑客")], {}),
        "huge-hlc": ([dict(op, hlc="9" * 100_000)], {}),
        "huge-user-id": ([dict(op, user_id="u" * 10_000)], {}),
        "record-id-not-uuid": ([dict(op, record_id="../../etc/passwd")], {}),
        "unknown-op-field": ([dict(op, is_admin=True)], {}),
        "unknown-envelope-field": ([op], {"sudo": True}),
        "old-protocol-in-body": ([op], {"protocol_version": 0}),
        "future-protocol-in-body": ([op], {"protocol_version": PROTOCOL_VERSION + 1}),
        "device-id-missing": ([op], {"device_id": None}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "operations-not-a-list",
        "version-as-string",
        "base-version-as-list",
        "base-version-overflow",
        "negative-base-version",
        "kind-unknown",
        "entity-unknown",
        "fields-as-string",
        "huge-hlc",
        "huge-user-id",
        "record-id-not-uuid",
        "unknown-op-field",
        "unknown-envelope-field",
        "old-protocol-in-body",
        "future-protocol-in-body",
        "device-id-missing",
    ],
)
def test_wrong_types_huge_strings_and_unknown_fields_are_refused_whole(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session], case: str
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    before = _state(session_factory, rid)
    ops, envelope = _mutations(a, rid)[case]
    response = _post(a, "/api/v1/sync/push", _body(a, ops, **envelope))
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in {
        "invalid_request",
        "protocol_outdated",
        "protocol_unsupported",
    }
    assert _state(session_factory, rid) == before


def test_a_huge_field_value_is_rejected_alone_and_changes_nothing(
    pair: tuple[WireDevice, WireDevice], session_factory: sessionmaker[Session]
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    before = _state(session_factory, rid)
    [result] = a.push([a.edit("resident", rid, name="王" * 100_000)])
    assert result["status"] == "rejected"
    assert _state(session_factory, rid)[2:] == before[2:]  # the record is untouched


def test_login_with_wrong_types_or_unknown_fields_is_422(
    pair: tuple[WireDevice, WireDevice],
) -> None:
    a, _ = pair
    for body in (
        {"username": ["w11"], "password": "x"},
        {"username": "w11", "password": "x" * 100_000},
        {"username": "w11", "password": "x", "role": "admin"},
        {"username": "w11"},
    ):
        response = a.client.post("/api/v1/auth/login", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] == "invalid_request"
