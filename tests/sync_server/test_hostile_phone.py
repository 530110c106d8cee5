"""A hostile phone among honest ones (hypothesis): a worker of grid A sends arbitrary operations
of every entity and kind, naming ids of grid B, deleted and unknown records, with forged and
truncated cursors, far-future and malformed clocks and odd strings, interleaved with honest
phones of A and B. After every step: nothing of B is in what A's phone received, nothing of B
changed, the stored grid is whole, every request got a 2xx or a documented 4xx, and every
operation got a result."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from shared import hlc
from shared.schema import ENTITIES
from tests.factories import TinyGrid
from tests.sync_server.invariants import (
    broken_invariants,
    residents_a_worker_may_hold,
    scope_snapshot,
)
from tests.sync_server.wire_device import WireDevice

GRID_A, GRID_B = "T1-1-1-1-1", "T1-1-1-1-2"
PUSH_ANSWERS = {200, 400, 413, 422}
_WORLDS: dict[int, tuple[WireDevice, WireDevice, WireDevice]] = {}
_IDS: dict[int, dict[str, list[str]]] = {}
PULL_ANSWERS = {200, 400, 409, 422}

ODD = [
    "\udfff",
    "a\x00b",
    "x" * 5000,
    "\u202e反向",
    "🏠",
    '=HYPERLINK("http://x")',
    "",
    " ",
    "1e30",
]


def _pick(draw: st.DrawFn, items: list[str]) -> str:
    """One of `items`, drawn the same way however many there are (the world grows between
    examples; hypothesis needs each draw's shape to stay the same)."""
    return items[draw(st.integers(0, 999)) % len(items)]


def _value(draw: st.DrawFn, ids: dict[str, list[str]]) -> Any:
    kind = draw(
        st.sampled_from(["ref_a", "ref_b", "unknown", "odd", "int", "list", "none", "date"])
    )
    if kind == "ref_a":
        return _pick(draw, ids["a"])
    if kind == "ref_b":
        return _pick(draw, ids["b"])
    if kind == "unknown":
        return str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1))))
    if kind == "odd":
        return draw(st.sampled_from(ODD))
    if kind == "int":
        return draw(st.sampled_from([0, -1, 2**63, 10**30]))
    if kind == "list":
        return draw(st.lists(st.sampled_from(["elderly_alone", "\udfff", "x", 1]), max_size=3))
    if kind == "date":
        return draw(st.sampled_from(["2024-05-01", "2100-01-01", "not a date"]))
    return None


@st.composite
def hostile_op(draw: st.DrawFn, ids: dict[str, list[str]]) -> dict[str, Any]:
    entity = draw(st.sampled_from(sorted(ENTITIES)))
    kind = draw(st.sampled_from(["create", "update", "delete"]))
    names = [*sorted(ENTITIES[entity].fields), "no_such_field"]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=4))
    side = draw(st.sampled_from(["a", "b", "gone", "new"]))
    if side == "new" and kind == "create":
        record_id = str(uuid.uuid4())
    else:
        # Mostly a record of the op's own entity: that is where the rules have work to do.
        pool = ids.get(f"{side}:{entity}") or ids.get(side) or ids["gone"]
        record_id = _pick(draw, pool)
    clock = draw(
        st.sampled_from(
            [
                "now",
                hlc.format_ts(4_102_444_800_000, 0, "dev-future"),  # the year 2100
                "not-a-clock",
                hlc.format_ts(0, 0, "dev-past"),
            ]
        )
    )
    return {
        "entity": entity,
        "kind": kind,
        "record_id": record_id,
        "base_version": None if kind == "create" else draw(st.sampled_from([0, 1, 2, 999])),
        "fields": {n: {"base": _value(draw, ids), "new": _value(draw, ids)} for n in chosen},
        "hlc": clock,
    }


@st.composite
def plausible_op(draw: st.DrawFn, ids: dict[str, list[str]]) -> dict[str, Any]:
    """A well-formed create or edit whose references are drawn from A, B and the unknown: the
    values pass, so only the rules about references and scope stand in the way."""

    def ref(entity: str) -> str:
        side = draw(st.sampled_from(["a", "b", "gone"]))
        return _pick(draw, ids.get(f"{side}:{entity}") or ids["gone"])

    entity = draw(st.sampled_from(["binding", "visit", "house", "unit", "building", "outcome"]))
    values: dict[str, Any] = {
        "binding": lambda: {
            "resident_id": ref("resident"),
            "house_id": ref("house"),
            "relation": "member",
            "start_date": "2024-05-01",
        },
        "visit": lambda: {
            "house_id": ref("house"),
            "resident_id": ref("resident"),
            "outcome": "met",
            "visited_at": "2026-01-01T10:00+08:00",
        },
        "house": lambda: {
            "grid_id": ref("grid_node"),
            "building_id": ref("building"),
            "unit_id": ref("unit"),
            "room": "0909",
        },
        "unit": lambda: {"building_id": ref("building"), "name": "9单元"},
        "building": lambda: {"grid_id": ref("grid_node"), "name": "9号楼"},
        "outcome": lambda: {
            "campaign_id": str(uuid.UUID(int=9)),
            "resident_id": ref("resident"),
            "outcome": "done",
            "recorded_at": "2026-01-01T10:00:00Z",
        },
    }[entity]()
    if draw(st.booleans()) and ids.get(f"a:{entity}"):
        # An edit of one of A's records, moving its references somewhere else.
        name = draw(st.sampled_from(sorted(values)))
        return {
            "entity": entity,
            "kind": "update",
            "record_id": _pick(draw, ids[f"a:{entity}"]),
            "base_version": 1,
            "fields": {name: {"base": None, "new": values[name]}},
            "hlc": "now",
        }
    return {
        "entity": entity,
        "kind": "create",
        "record_id": str(uuid.uuid4()),
        "base_version": None,
        "fields": {k: {"base": None, "new": v} for k, v in values.items()},
        "hlc": "now",
    }


def _pull_raw(device: WireDevice, cursor: str | None) -> Any:
    return device.client.post(
        "/api/v1/sync/pull",
        json={"protocol_version": 1, "device_id": device.device_id, "cursor": cursor, "limit": 50},
        headers=device.headers,
    )


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_hostile_phone_cannot_read_or_change_another_grid(
    client: TestClient, tiny: TinyGrid, session_factory: sessionmaker[Session], data: st.DataObject
) -> None:
    # Signed in once per test (argon2 is slow on purpose); the examples share the database and
    # the phones, so each example starts from whatever the earlier ones left.
    world = _WORLDS.get(id(client))
    if world is None:
        world = _WORLDS[id(client)] = (
            WireDevice(client, "w11"),
            WireDevice(client, "w11"),
            WireDevice(client, "w12"),
        )
    hostile, honest_a, honest_b = world
    for device in world:
        device.pull()
    grid_a, grid_b = tiny.nodes[GRID_A].id, tiny.nodes[GRID_B].id
    # Records of B alone: the grid nodes above both grids are A's too.
    b_ids = {rid for (_, rid) in honest_b.records} - {rid for (_, rid) in hostile.records}
    ids = _IDS.get(id(client))
    if ids is None:
        ids = {"a": sorted(rid for (_, rid) in hostile.records), "b": sorted(b_ids)}
        ids["gone"] = [str(uuid.UUID(int=7))]
        for entity, rid in sorted(hostile.records):
            ids.setdefault(f"a:{entity}", []).append(rid)
        for entity, rid in sorted(honest_b.records):
            if rid in b_ids:
                ids.setdefault(f"b:{entity}", []).append(rid)
        _IDS[id(client)] = ids
    received: set[str] = set()

    def check(session: Session) -> None:
        assert broken_invariants(session) == []
        held = {rid for (entity, rid) in hostile.records if entity == "resident"}
        assert held <= residents_a_worker_may_hold(session, {grid_a})

    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        action = data.draw(st.sampled_from(["ops", "ops", "cursor", "honest_a", "honest_b"]))
        with session_factory() as session:
            before_b = scope_snapshot(session, {grid_b})
        if action == "ops":
            ops = []
            drawn = st.one_of(hostile_op(ids), plausible_op(ids))
            for spec in data.draw(st.lists(drawn, min_size=1, max_size=8), label="ops"):
                op = hostile.op(spec["entity"], spec["record_id"], spec["kind"], base_version=1)
                op.update(
                    base_version=spec["base_version"],
                    fields=spec["fields"],
                    hlc=op["hlc"] if spec["hlc"] == "now" else spec["hlc"],
                )
                ops.append(op)
            response = hostile.push_raw(ops)
            assert response.status_code in PUSH_ANSWERS, response.text
            if response.status_code == 200:
                results = response.json()["results"]
                assert [r["op_id"] for r in results] == [o["op_id"] for o in ops]
        elif action == "cursor":
            cursor = hostile.cursor or ""
            forged = data.draw(
                st.sampled_from(
                    [cursor[:-4], cursor[::-1], "e30", cursor.replace(".", ""), "a.b", cursor + "x"]
                ),
                label="forged cursor",
            )
            response = _pull_raw(hostile, forged)
            assert response.status_code in PULL_ANSWERS, response.text
            if response.status_code == 200:
                received |= {r["id"] for r in response.json()["records"]}
        elif action == "honest_a":
            honest_a.pull()
            rid = next((r for (e, r) in sorted(honest_a.records) if e == "resident"), None)
            if rid is not None:
                honest_a.push([honest_a.edit("resident", rid, note=str(uuid.uuid4())[:8])])
        else:
            honest_b.pull()
            rid = next((r for (e, r) in sorted(honest_b.records) if e == "resident"), None)
            if rid is not None:
                honest_b.push([honest_b.edit("resident", rid, note=str(uuid.uuid4())[:8])])
            with session_factory() as session:
                before_b = scope_snapshot(session, {grid_b})  # B's own change is not the test's
        for page in hostile.pull():
            received |= {r["id"] for r in page["records"]}
        with session_factory() as session:
            if action != "honest_b":
                assert scope_snapshot(session, {grid_b}) == before_b, action
            check(session)
        assert not received & b_ids, "the hostile phone received records of grid B"
