"""Real devices (store + sync client) against the real server app, in one process.

Each `Phone` is one device: its own SQLite store and a `SyncClient` whose HTTP goes through
Starlette's in-process transport, optionally made flaky (the server answers, the answer is lost).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from field_app.store import Store
from field_app.store.records import from_row
from field_app.sync_client import SyncClient, SyncReport
from shared.clock import Clock
from shared.moves import moved_since
from sync_server.models import Binding, Building, House, Resident, Unit
from sync_server.records import MODELS, values_of
from tests.days import RUN_CLOCK
from tests.factories import PASSWORD


class FlakyTransport(httpx.BaseTransport):
    """Passes requests to the app; when `lose_next` is set the server acts but the answer is lost.

    Photo chunks (PATCH) can drop too: `photo_cuts` lists byte positions in the photo, each with
    where the connection drops ("request": the chunk never arrives; "answer": the server took it,
    the phone never hears so). Each cut drops the first chunk sent across it, once.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.lose_next = False
        self.down = False
        self.photo_cuts: list[tuple[int, Literal["request", "answer"]]] = []
        self.photo_bytes = 0  # photo chunk bytes the phone has tried to send

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("server unreachable", request=request)
        if request.method == "PATCH" and "/photos/" in request.url.path:
            return self._photo_chunk(request)
        response = self.inner.handle_request(request)
        if self.lose_next and request.url.path.endswith("/push"):
            self.lose_next = False
            response.read()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    def _photo_chunk(self, request: httpx.Request) -> httpx.Response:
        start = int(request.headers["Upload-Offset"])
        size = len(request.read())
        self.photo_bytes += size
        cut = next((c for c in self.photo_cuts if start <= c[0] < start + size), None)
        if cut is None:
            return self.inner.handle_request(request)
        self.photo_cuts.remove(cut)
        if cut[1] == "request":
            raise httpx.WriteError(f"connection dropped at byte {cut[0]}", request=request)
        self.inner.handle_request(request).read()
        raise httpx.ReadError(f"connection dropped at byte {cut[0]}", request=request)


class Phone:
    """A device; `app` is the app in this process, or the URL of a server in another one."""

    def __init__(
        self, app: FastAPI | str, path: Path, username: str, clock: Clock | None = None
    ) -> None:
        self.path = path
        self.clock = clock
        self.username = username
        if isinstance(app, str):
            inner: httpx.BaseTransport = httpx.HTTPTransport()
            base_url = app
        else:
            self.test_client = TestClient(app)
            inner, base_url = self.test_client._transport, "http://testserver"
        self.transport = FlakyTransport(inner)
        self.http = httpx.Client(transport=self.transport, base_url=base_url, trust_env=False)
        self.store = Store.open(path, clock=clock)
        self.client = SyncClient(self.http, self.store, app_version="test")
        self.client.login(username, PASSWORD)
        self.user_id = self.store.meta.user_id or ""

    def sync(self) -> SyncReport:
        return self.client.sync()

    def use_server(self, url: str) -> None:
        """Talk to another server process from now on (same device, same store)."""
        self.http.base_url = httpx.URL(url)

    def reopen(self) -> None:
        """The app process was killed and started again."""
        self.store.close()
        self.store = Store.open(self.path, clock=self.clock)
        self.client = SyncClient(self.http, self.store, app_version="test")

    def close(self) -> None:
        self.store.close()
        self.http.close()

    def records(self, entity: str) -> dict[str, tuple[int | None, dict[str, Any]]]:
        rows = self.store.db.execute(f"SELECT * FROM {entity} WHERE deleted = 0").fetchall()
        columns = [
            d[0] for d in self.store.db.execute(f"SELECT * FROM {entity} LIMIT 0").description
        ]
        out = {}
        for row in rows:
            record = from_row(entity, dict(zip(columns, row, strict=True)), self.store.db.sealer)
            out[record.id] = (record.version, dict(record.values))
        return out


def server_scope(
    session: Session, grid_ids: set[str], today: date | None = None
) -> dict[str, dict[str, tuple[int, dict[str, Any]]]]:
    """What a device holding `grid_ids` must hold: as a bootstrap would send it now."""

    def pack(entity: str, rows: Any) -> dict[str, tuple[int, dict[str, Any]]]:
        return {r.id: (r.version, values_of(entity, r)) for r in rows}

    houses = session.scalars(
        select(House).where(House.grid_id.in_(grid_ids), House.deleted.is_(False))
    ).all()
    house_ids = {h.id for h in houses}
    buildings = session.scalars(
        select(Building).where(Building.grid_id.in_(grid_ids), Building.deleted.is_(False))
    ).all()
    units = session.scalars(
        select(Unit).where(Unit.building_id.in_({b.id for b in buildings}), Unit.deleted.is_(False))
    ).all()
    # Open bindings and those ended within the recently-moved window, with their people.
    since = moved_since(today or RUN_CLOCK.today())
    bindings = session.scalars(
        select(Binding).where(
            Binding.house_id.in_(house_ids),
            or_(Binding.end_date.is_(None), Binding.end_date >= since),
            Binding.deleted.is_(False),
        )
    ).all()
    residents = session.scalars(
        select(Resident).where(
            Resident.id.in_({b.resident_id for b in bindings}), Resident.deleted.is_(False)
        )
    ).all()
    return {
        "house": pack("house", houses),
        "building": pack("building", buildings),
        "unit": pack("unit", units),
        "binding": pack("binding", bindings),
        "resident": pack("resident", residents),
    }


def assert_device_equals_server(phone: Phone, session: Session, grid_ids: set[str]) -> None:
    expected = server_scope(session, grid_ids, phone.clock.today() if phone.clock else None)
    for entity, want in expected.items():
        held = phone.records(entity)
        missing = set(want) - set(held)
        assert not missing, f"{phone.username} lacks {entity} {sorted(missing)}"
        # Record for record what a fresh bootstrap would hold: nothing more either.
        extra = set(held) - set(want)
        assert not extra, f"{phone.username} holds {entity} {sorted(extra)} a bootstrap would not"
        for record_id, (version, values) in held.items():
            row = session.get(MODELS[entity], record_id)
            assert row is not None, f"{phone.username} holds a {entity} the server never had"
            if entity == "resident":
                assert record_id in want, (
                    f"{phone.username} still holds resident {record_id} out of scope"
                )
            if row.deleted:
                raise AssertionError(f"{phone.username} holds deleted {entity} {record_id}")
            assert (version, values) == (row.version, values_of(entity, row)), (
                f"{phone.username} {entity} {record_id}: device {version} {values} "
                f"!= server {row.version} {values_of(entity, row)}"
            )
