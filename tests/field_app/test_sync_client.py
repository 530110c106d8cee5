"""The sync client against an in-process emulation of the sync protocol (`httpx.MockTransport`).

`FakeServer` holds records, runs `shared.merge` on pushed operations, answers a repeated `op_id`
with its first result, and serves its change feed in pages; tests inject the failures a phone
meets in the field: a response lost after the server committed, a body too large, an outdated
app, an expired token, no network at all.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from field_app.store import Store
from field_app.sync_client import (
    Offline,
    ServerError,
    SignInRequired,
    SyncClient,
    SyncProgress,
    UpdateRequired,
)
from shared import hlc, merge
from shared.protocol import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    OpResult,
    PullRequest,
    PushRequest,
    RecordState,
)
from shared.validation import id_check_char
from tests.days import iso

USER = "00000000-0000-4000-8000-00000000000e"
GRID = "00000000-0000-4000-8000-000000000005"
BUILDING = "00000000-0000-4000-8000-0000000000b1"
HOUSE = "00000000-0000-4000-8000-0000000000a1"
RESIDENT = "00000000-0000-4000-8000-0000000000c1"
TOKEN = "good-token"

Fault = Callable[[httpx.Request], httpx.Response | None]


def id_number(seq: str = "123") -> str:
    first17 = f"35012819800101{seq}"
    return first17 + id_check_char(first17)


def problem(status: int, code: str, detail: str = "") -> httpx.Response:
    body = {"title": "Error", "status": status, "detail": detail or code, "code": code}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


class FakeServer:
    """Just enough of the sync server's protocol to exercise the client."""

    def __init__(self) -> None:
        self.clock = hlc.HLC("server")
        self.records: dict[tuple[str, str], RecordState] = {}
        self.feed: list[RecordState] = []
        self.results: dict[str, OpResult] = {}
        self.requests: list[tuple[str, Any]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.max_ops: int | None = None  # answer 413 to a larger push
        self.open_conflicts: set[str] = set()
        self.reject: Callable[[dict[str, Any]], OpResult | None] = lambda _op: None
        self.seed()

    def seed(self) -> None:
        self.put("grid_node", GRID, level=5, code="G5-01", name="一网格", parent_id=None)
        self.put("building", BUILDING, grid_id=GRID, name="8号楼", road="", lane="", number="8")
        self.put("house", HOUSE, grid_id=GRID, building_id=BUILDING, unit_id=None, room="101")
        self.put(
            "resident",
            RESIDENT,
            name="王芳",
            id_number=id_number(),
            phone="13800000001",
            residence_status="permanent",
            tags=[],
            note="",
        )

    def put(self, entity: str, record_id: str, *, deleted: bool = False, **values: Any) -> None:
        """An edit made on the server (by the office, or another device)."""
        held = self.records.get((entity, record_id))
        ts = self.clock.now()
        merged = {**(held.values if held else {}), **values}
        clocks = {**(held.clocks if held else {}), **dict.fromkeys(values, ts)}
        self._store(entity, record_id, merged, clocks, deleted)

    def _store(
        self,
        entity: str,
        record_id: str,
        values: dict[str, Any],
        clocks: dict[str, str],
        deleted: bool,
    ) -> RecordState:
        held = self.records.get((entity, record_id))
        new = RecordState.model_validate(
            {
                "entity": entity,
                "id": record_id,
                "version": (held.version if held else 0) + 1,
                "deleted": deleted,
                "values": values,
                "clocks": clocks,
            }
        )
        self.records[(entity, record_id)] = new
        self.feed.append(new)
        return new

    # --- HTTP ----------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for fault in list(self.faults.get(path, [])):
            self.faults[path].remove(fault)
            response = fault(request)
            if response is not None:
                return response
            break
        if path == "/api/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        body = json.loads(self._body(request))
        self.requests.append((path, body))
        if path == "/api/v1/auth/login":
            return self._login(body)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return problem(401, "token_expired")
        if request.headers.get(PROTOCOL_HEADER) != str(PROTOCOL_VERSION):
            return problem(426, "protocol_outdated")
        if path == "/api/v1/sync/push":
            return self._push(PushRequest.model_validate(body))
        if path == "/api/v1/sync/pull":
            return self._pull(PullRequest.model_validate(body))
        return problem(404, "not_found")

    @staticmethod
    def _body(request: httpx.Request) -> bytes:
        if request.headers.get("Content-Encoding") == "gzip":
            return gzip.decompress(request.content)
        return request.content

    @staticmethod
    def _json(payload: Any) -> httpx.Response:
        content = gzip.compress(json.dumps(payload, ensure_ascii=False, default=str).encode())
        return httpx.Response(
            200,
            content=content,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    def _login(self, body: dict[str, Any]) -> httpx.Response:
        if body["password"] != "right":
            return problem(401, "invalid_credentials", "wrong username or password")
        return self._json(
            {
                "access_token": TOKEN,
                "expires_at": "2030-01-01T00:00:00+00:00",
                "user": {
                    "id": USER,
                    "username": body["username"],
                    "display_name": "网格员小李",
                    "role": "worker",
                    "grids": [{"id": GRID, "code": "G5-01", "name": "一网格", "level": 5}],
                },
            }
        )

    def _push(self, request: PushRequest) -> httpx.Response:
        if self.max_ops is not None and len(request.operations) > self.max_ops:
            return problem(413, "too_large")
        results = []
        for op in request.operations:
            if op.op_id not in self.results:
                self.results[op.op_id] = self._apply(op.model_dump())
            results.append(self.results[op.op_id])
        return self._json(
            {"results": [r.model_dump() for r in results], "server_hlc": self.clock.now()}
        )

    def _apply(self, op: dict[str, Any]) -> OpResult:
        key = (op["entity"], op["record_id"])
        answer = {"op_id": op["op_id"], "entity": op["entity"], "record_id": op["record_id"]}
        refused = self.reject(op)
        if refused is not None:
            return refused
        fields = op["fields"]
        theirs = merge.Snapshot(
            {n: c["new"] for n, c in fields.items()}, deleted=op["kind"] == "delete"
        )
        base = (
            None
            if op["kind"] == "create"
            else merge.Snapshot({n: c["base"] for n, c in fields.items()})
        )
        held = self.records.get(key)
        mine = merge.Snapshot(held.values, held.clocks, held.deleted) if held else None
        self.clock.observe(op["hlc"])
        try:
            result = merge.merge(op["entity"], base, mine, theirs, theirs_clock=op["hlc"])
        except merge.MergeRejected as exc:
            return OpResult(
                **answer, status="rejected", code=exc.code, field=exc.field, reason=str(exc)
            )
        if result.kind == "unchanged" and held is not None:
            return OpResult(**answer, status="applied", version=held.version)
        stored = self._store(*key, result.values, result.clocks, result.deleted)
        if result.has_conflict:
            self.open_conflicts.add("k-" + op["op_id"][:8])
            return OpResult(
                **answer,
                status="conflict",
                version=stored.version,
                conflict_id="k-" + op["op_id"][:8],
                field=result.conflicts[0].field,
            )
        status = "merged" if result.kind == "merged" else "applied"
        return OpResult(**answer, status=status, version=stored.version)

    def _pull(self, request: PullRequest) -> httpx.Response:
        start = int(request.cursor or 0)
        chunk = self.feed[start : start + request.limit]
        end = start + len(chunk)
        return self._json(
            {
                "records": [s.model_dump() for s in chunk],
                "scope": [GRID],
                "cursor": str(end),
                "has_more": end < len(self.feed),
                "phase": "bootstrap" if request.cursor is None else "changes",
                "remaining": len(self.feed) - end,
                "open_conflicts": sorted(self.open_conflicts),
                "server_hlc": self.clock.now(),
            }
        )

    def pushed_op_ids(self) -> list[str]:
        return [
            op["op_id"]
            for path, body in self.requests
            if path.endswith("/push")
            for op in body["operations"]
        ]


def lose_response(server: FakeServer) -> Fault:
    """The server commits, then the answer never reaches the phone."""

    def fault(request: httpx.Request) -> httpx.Response:
        server.handler(request)
        raise httpx.ReadTimeout("connection dropped", request=request)

    return fault


def no_network(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("Network is unreachable", request=request)


@pytest.fixture
def server() -> FakeServer:
    return FakeServer()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(tmp_path / "device.db")
    yield store
    store.close()


@pytest.fixture
def http(server: FakeServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=httpx.MockTransport(server.handler), base_url="https://grid.example"
    ) as client:
        yield client


@pytest.fixture
def client(http: httpx.Client, store: Store) -> SyncClient:
    return SyncClient(http, store, token=TOKEN, app_version="0.1.0")


# --- sign-in and reachability ------------------------------------------------------------------


def test_login_saves_token_user_and_binds_the_device(
    http: httpx.Client, store: Store, server: FakeServer
) -> None:
    client = SyncClient(http, store, app_version="0.1.0")
    token = client.login("xiaoli", "right", device_name="小李的手机")
    assert token.access_token == TOKEN
    assert store.meta.token == TOKEN and store.meta.user_id == USER
    user = store.meta.user
    assert user is not None and user["grids"][0]["id"] == GRID
    [(_, body)] = server.requests
    assert body["device_id"] == store.device_id and body["app_version"] == "0.1.0"
    # The saved token is used from then on.
    assert client.sync().received == len(server.feed)


def test_wrong_password_asks_to_sign_in_again(http: httpx.Client, store: Store) -> None:
    with pytest.raises(SignInRequired, match="wrong username or password") as failed:
        SyncClient(http, store).login("xiaoli", "wrong")
    assert failed.value.code == "invalid_credentials"
    assert store.meta.token is None


def test_is_online_follows_the_health_check(client: SyncClient, server: FakeServer) -> None:
    assert client.is_online()
    server.faults["/api/v1/health"] = [no_network]
    assert not client.is_online()


# --- a whole sync ------------------------------------------------------------------------------


def test_sync_pushes_edits_and_pulls_the_grid(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()  # first sync: the device gets its grid
    assert store.get("resident", RESIDENT) is not None
    op = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    created = store.create(
        "house", {"grid_id": GRID, "building_id": BUILDING, "room": "102"}, user_id=USER
    )
    server.put("resident", RESIDENT, name="王芳(更正)")  # meanwhile, in the office

    seen: list[SyncProgress] = []
    report = client.sync(progress=seen.append)

    # Disjoint fields: the phone edit applies on top of the office's name change.
    assert (report.sent, report.applied, report.merged, report.rejected) == (2, 2, 0, 0)
    assert report.errors == []
    assert server.records[("resident", RESIDENT)].values["phone"] == "13900000002"
    resident = store.get("resident", RESIDENT)
    assert resident is not None
    assert (resident["name"], resident["phone"]) == ("王芳(更正)", "13900000002")
    assert resident.version == server.records[("resident", RESIDENT)].version
    house = store.get("house", created.record_id)
    assert house is not None and house.version == 1 and house.sync_state == "synced"
    assert store.pending_count() == 0 and store.meta.last_sync_at is not None
    assert [p.phase for p in seen] == ["push", "pull"]
    assert op is not None and server.pushed_op_ids() == [op.op_id, created.op_id]


def test_requests_are_gzipped_versioned_and_authorised(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    captured: list[httpx.Request] = []

    def spy(request: httpx.Request) -> None:
        captured.append(request)

    client.sync()
    store.update("resident", RESIDENT, {"note": "独居，每周探访"}, user_id=USER)
    server.faults["/api/v1/sync/push"] = [spy]
    client.sync()
    [request] = captured
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Accept-Encoding"] == "gzip"
    assert request.headers[PROTOCOL_HEADER] == str(PROTOCOL_VERSION)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = PushRequest.model_validate_json(gzip.decompress(request.content))
    assert body.device_id == store.device_id and len(body.operations) == 1


def test_pushes_in_batches_in_creation_order(
    http: httpx.Client, store: Store, server: FakeServer
) -> None:
    client = SyncClient(http, store, token=TOKEN, push_batch_size=3)
    client.sync()
    ops = [store.update("house", HOUSE, {"room": f"10{i}"}, user_id=USER) for i in range(7)]
    report = client.sync()
    sizes = [len(b["operations"]) for p, b in server.requests if p.endswith("/push")]
    assert sizes == [3, 3, 1]
    assert server.pushed_op_ids() == [op.op_id for op in ops if op is not None]
    assert report.sent == 7 and server.records[("house", HOUSE)].values["room"] == "106"


def test_a_new_resident_and_their_binding_are_never_split_between_batches(
    http: httpx.Client, store: Store, server: FakeServer
) -> None:
    """The server refuses a new resident no binding in the same push places in a house."""
    client = SyncClient(http, store, token=TOKEN, push_batch_size=4)
    client.sync()
    ops = [store.update("house", HOUSE, {"room": f"10{i}"}, user_id=USER) for i in range(3)]
    person = store.create("resident", {"name": "陈红", "id_number": id_number("456")}, user_id=USER)
    binding = {"resident_id": person.record_id, "house_id": HOUSE, "relation": "tenant"}
    bound = store.create("binding", binding | {"start_date": iso(-8)}, user_id=USER)
    ops += [person, bound]
    ops += [store.update("house", HOUSE, {"room": f"20{i}"}, user_id=USER) for i in range(2)]
    report = client.sync()
    batches = [
        [op["op_id"] for op in body["operations"]]
        for path, body in server.requests
        if path.endswith("/push")
    ]
    # Cut after the pair (4 would split it; 3 and 5 are as near, the fuller batch wins).
    assert [len(b) for b in batches] == [5, 2]
    assert {person.op_id, bound.op_id} <= set(batches[0])
    assert server.pushed_op_ids() == [op.op_id for op in ops if op is not None]
    assert report.sent == 7 and store.pending_count() == 0


def test_lost_push_response_is_retried_without_applying_twice(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    op = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    assert op is not None
    server.faults["/api/v1/sync/push"] = [lose_response(server)]

    with pytest.raises(Offline) as failed:
        client.sync()
    assert failed.value.report.sent == 0
    assert store.pending_ops() == [op], "without an answer the operation stays pending"
    version_after_commit = server.records[("resident", RESIDENT)].version

    report = client.sync()
    assert report.applied == 1 and store.pending_count() == 0
    assert server.pushed_op_ids() == [op.op_id, op.op_id], "the very same operation went again"
    assert server.records[("resident", RESIDENT)].version == version_after_commit
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["phone"] == "13900000002"
    assert resident.version == version_after_commit


def test_too_large_push_is_split_in_half(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    ops = [store.update("house", HOUSE, {"room": f"20{i}"}, user_id=USER) for i in range(5)]
    server.max_ops = 2
    report = client.sync()
    sizes = [len(b["operations"]) for p, b in server.requests if p.endswith("/push")]
    assert sizes == [5, 2, 3, 1, 2]  # 5 refused → 2 + 3; 3 refused → 1 + 2
    assert report.applied == 5 and store.pending_count() == 0
    assert list(server.results) == [op.op_id for op in ops if op is not None]


def test_a_single_operation_too_large_is_kept_as_a_problem(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    op = store.update("resident", RESIDENT, {"note": "很长的备注"}, user_id=USER)
    server.max_ops = 0
    report = client.sync()
    assert report.rejected == 1
    [problem_] = store.problems()
    assert op is not None and problem_.op.op_id == op.op_id and problem_.code == "too_large"


def test_rejected_operation_is_reported_and_kept(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    op = store.create("resident", {"name": "王芳", "id_number": id_number()}, user_id=USER)
    server.reject = lambda o: OpResult(
        op_id=o["op_id"],
        status="rejected",
        entity=o["entity"],
        record_id=o["record_id"],
        code="duplicate",
        field="id_number",
        reason="this ID number is already registered",
    )
    report = client.sync()
    assert report.rejected == 1 and report.sent == 1
    [problem_] = store.problems()
    assert (
        problem_.op.op_id == op.op_id and problem_.reason == "this ID number is already registered"
    )
    client.sync()
    assert server.pushed_op_ids() == [op.op_id], "a rejected operation is not pushed again"


def test_conflict_is_reported_and_kept(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    store.update("resident", RESIDENT, {"name": "王芳芳"}, user_id=USER)
    server.put("resident", RESIDENT, name="汪芳")
    report = client.sync()
    assert report.conflicts == 1
    [problem_] = store.problems_for("resident", RESIDENT)
    assert problem_.status == "conflict" and problem_.conflict_id
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["name"] == "汪芳"


def test_interrupted_pull_resumes_from_the_cursor(
    http: httpx.Client, store: Store, server: FakeServer
) -> None:
    client = SyncClient(http, store, token=TOKEN, pull_limit=2)
    server.faults["/api/v1/sync/pull"] = [lambda _r: None, no_network]  # the second page fails
    with pytest.raises(Offline) as failed:
        client.sync()
    assert failed.value.report.received == 2
    assert store.meta.cursor == "2"

    report = client.sync()
    assert report.received == len(server.feed) - 2
    cursors = [b["cursor"] for p, b in server.requests if p.endswith("/pull")]
    assert cursors == [None, "2"], "the failed request is repeated from the saved cursor"
    assert store.get("resident", RESIDENT) is not None
    assert store.db.execute("SELECT COUNT(*) FROM server_shadow").fetchone()[0] == 4


def test_outdated_app_must_update(http: httpx.Client, store: Store, server: FakeServer) -> None:
    server.faults["/api/v1/sync/push"] = [lambda _r: problem(426, "protocol_outdated")]
    store.meta.scope = [GRID]
    store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    with pytest.raises(UpdateRequired, match="update the app"):
        SyncClient(http, store, token=TOKEN).sync()
    assert store.pending_count() == 1

    server.faults["/api/v1/sync/pull"] = [lambda _r: problem(400, "protocol_outdated")]
    server.faults["/api/v1/sync/push"] = [lambda _r: problem(400, "protocol_outdated")]
    with pytest.raises(UpdateRequired):
        SyncClient(http, store, token=TOKEN).sync()


def test_expired_token_asks_to_sign_in(http: httpx.Client, store: Store) -> None:
    with pytest.raises(SignInRequired) as failed:
        SyncClient(http, store, token="stale").sync()
    assert failed.value.code == "token_expired"
    with pytest.raises(SignInRequired):
        SyncClient(http, store).sync()  # never signed in


def test_no_network_means_offline_and_nothing_lost(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    store.meta.scope = [GRID]
    op = store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    server.faults["/api/v1/sync/push"] = [no_network]
    with pytest.raises(Offline):
        client.sync()
    assert store.pending_ops() == [op]


def dropped_keep_alive(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError("Server disconnected without sending a response.")


def test_a_dropped_keep_alive_connection_is_retried_once(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    op = store.update("resident", RESIDENT, {"phone": "13900000003"}, user_id=USER)
    assert op is not None
    server.faults["/api/v1/sync/push"] = [dropped_keep_alive]
    server.faults["/api/v1/sync/pull"] = [dropped_keep_alive]
    report = client.sync()
    assert report.applied == 1 and store.pending_count() == 0
    assert server.records[("resident", RESIDENT)].values["phone"] == "13900000003"


def test_a_connection_dropped_twice_is_offline_and_keeps_the_edit(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    op = store.update("resident", RESIDENT, {"phone": "13900000004"}, user_id=USER)
    server.faults["/api/v1/sync/push"] = [dropped_keep_alive, dropped_keep_alive]
    with pytest.raises(Offline):
        client.sync()
    assert store.pending_ops() == [op]


def test_server_error_while_pushing_still_pulls(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    store.meta.scope = [GRID]
    store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    server.faults["/api/v1/sync/push"] = [
        lambda _r: problem(500, "internal_error", "database down")
    ]
    report = client.sync()
    assert len(report.errors) == 1 and "database down" in report.errors[0]
    assert report.received == len(server.feed)
    assert store.pending_count() == 1 and store.meta.last_sync_at is None


def test_malformed_answer_is_a_server_error(client: SyncClient, server: FakeServer) -> None:
    server.faults["/api/v1/sync/pull"] = [
        lambda _r: httpx.Response(200, text="<html>captive portal</html>")
    ]
    report = client.sync()
    assert report.errors and "PullResponse" in report.errors[0]
    server.faults["/api/v1/sync/pull"] = [lambda _r: httpx.Response(502, text="Bad Gateway")]
    with pytest.raises(ServerError, match="502"):
        client.pull()


def test_conflict_settled_by_an_admin_leaves_the_problem_list(
    client: SyncClient, store: Store, server: FakeServer
) -> None:
    client.sync()
    store.update("resident", RESIDENT, {"name": "王芳芳"}, user_id=USER)
    server.put("resident", RESIDENT, name="汪芳")
    report = client.sync()
    assert report.conflicts == 1
    assert [p.status for p in store.problems()] == ["conflict"]
    server.open_conflicts.clear()  # an admin settled it
    client.sync()
    assert store.problems() == []
