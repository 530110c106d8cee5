"""Request bodies parsed from their bytes (`sync_server.api.body`): the same answers as FastAPI's
own parsing, and the same OpenAPI document."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.sync_server.wire_device import WireDevice


def test_a_bad_operation_is_named_by_its_place_in_the_body(
    pair: tuple[WireDevice, WireDevice],
) -> None:
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    good = a.edit("resident", rid, note="门口")
    bad = {**good, "kind": "rename"}
    response = a.push_raw([good, bad])
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_request"
    assert [e["field"] for e in body["errors"]] == ["operations.1.kind"]
    assert "operations.1.kind" in body["detail"]


def test_a_body_that_is_not_json_is_refused_with_a_problem(
    pair: tuple[WireDevice, WireDevice],
) -> None:
    a, _ = pair
    headers = dict(a.headers, **{"Content-Type": "application/json"})
    response = a.client.post("/api/v1/sync/push", content=b'{"operations": [', headers=headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["type"] == "json_invalid"


def test_a_lone_surrogate_escape_reaches_the_rules_not_the_parser(
    pair: tuple[WireDevice, WireDevice],
) -> None:
    # pydantic's JSON parser refuses it; Python's takes it, and the rules reject that operation.
    a, _ = pair
    rid = sorted(a.of("resident"))[0]
    good = a.edit("resident", rid, note="门口")
    odd = a.edit("resident", sorted(a.of("resident"))[1], note="\ud800")
    results = a.push([good, odd])
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert results[1]["code"] == "invalid_characters"


def test_the_push_body_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    body = document["paths"]["/api/v1/sync/push"]["post"]["requestBody"]
    assert body["required"] is True
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schemas = document["components"]["schemas"]
    assert ref == "#/components/schemas/PushRequest"
    operations = schemas["PushRequest"]["properties"]["operations"]["items"]["$ref"]
    assert operations == "#/components/schemas/Operation"
    assert "FieldChange" in schemas and "x-body-model" not in json.dumps(document)
