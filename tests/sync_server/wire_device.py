"""A minimal protocol-level device for server tests: speaks push/pull JSON, keeps no store."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from shared.hlc import HLC
from shared.protocol import PROTOCOL_HEADER, PROTOCOL_VERSION
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD


class WireDevice:
    def __init__(self, client: TestClient, username: str, password: str = PASSWORD) -> None:
        self.client = client
        self.device_id = str(uuid.uuid4())
        # The phone's clock agrees with the server's (the run's clock, tests.days).
        self.clock = HLC(f"dev-{self.device_id[:8]}", wall=RUN_CLOCK.wall_ms)
        response = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password, "device_id": self.device_id},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        self.user_id = body["user"]["id"]
        self.headers = {
            "Authorization": f"Bearer {body['access_token']}",
            PROTOCOL_HEADER: str(PROTOCOL_VERSION),
        }
        self.cursor: str | None = None
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    def op(
        self,
        entity: str,
        record_id: str,
        kind: str = "update",
        fields: dict[str, tuple[Any, Any]] | None = None,
        base_version: int | None = None,
    ) -> dict[str, Any]:
        if base_version is None and kind != "create":
            base_version = self.records[(entity, record_id)]["version"]
        return {
            "op_id": str(uuid.uuid4()),
            "entity": entity,
            "record_id": record_id,
            "kind": kind,
            "base_version": base_version,
            "fields": {k: {"base": b, "new": n} for k, (b, n) in (fields or {}).items()},
            "hlc": self.clock.now(),
            "device_id": self.device_id,
            "user_id": self.user_id,
        }

    def edit(self, entity: str, record_id: str, **changes: Any) -> dict[str, Any]:
        values = self.records[(entity, record_id)]["values"]
        return self.op(
            entity, record_id, fields={k: (values.get(k), v) for k, v in changes.items()}
        )

    def push_raw(self, ops: list[dict[str, Any]], *, compress: bool = False) -> Response:
        body = json.dumps(
            {"protocol_version": PROTOCOL_VERSION, "device_id": self.device_id, "operations": ops}
        ).encode()
        headers = dict(self.headers, **{"Content-Type": "application/json"})
        if compress:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return self.client.post("/api/v1/sync/push", content=body, headers=headers)

    def push(self, ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
        response = self.push_raw(ops)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def pull(self, limit: int = 1000, **extra: Any) -> list[dict[str, Any]]:
        """Pull until nothing is left; returns the pages. `extra` adds optional request fields."""
        pages = []
        while True:
            response = self.client.post(
                "/api/v1/sync/pull",
                json={
                    "protocol_version": PROTOCOL_VERSION,
                    "device_id": self.device_id,
                    "cursor": self.cursor,
                    "limit": limit,
                    **extra,
                },
                headers=self.headers,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            pages.append(page)
            for grid in page["removed_grids"]:
                self.records = {
                    k: v for k, v in self.records.items() if v["values"].get("grid_id") != grid
                }
            for record in page["records"]:
                key = (record["entity"], record["id"])
                if record["deleted"]:
                    self.records.pop(key, None)
                else:
                    self.records[key] = record
            for ref in page["removed"]:
                self.records.pop((ref["entity"], ref["id"]), None)
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return pages

    def of(self, entity: str) -> dict[str, dict[str, Any]]:
        return {rid: rec for (ent, rid), rec in self.records.items() if ent == entity}
