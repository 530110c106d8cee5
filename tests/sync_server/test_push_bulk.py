"""The set-based write of a push's decisions answers and stores exactly what the one-at-a-time
fallback does (each operation re-decided against the stored data in its own savepoint), for
batches mixing everything: rejections, held duplicates, references to records made or deleted
earlier in the batch, a repeated operation, edits against older versions, conflicts. A fixed
morning's batch, and random batches drawn from it (hypothesis)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.validation import id_check_char
from sync_server.models import Binding, Change, OperationLog, Resident
from sync_server.records import MODELS, values_of
from sync_server.services import push as push_mod
from tests.factories import TinyGrid
from tests.sync_server.wire_device import WireDevice


def _id_number(run: int, n: int) -> str:
    """The run's n-th ID number: the birth day tells the runs apart."""
    first17 = f"3501281990{run // 28 % 12 + 1:02d}{run % 28 + 1:02d}{n:03d}"
    return first17 + id_check_char(first17)


def _person(run: int, n: int, **extra: Any) -> dict[str, Any]:
    return {"name": f"林{n}", "id_number": _id_number(run, n), "phone": "13800000000", **extra}


def _scenario(
    dev: WireDevice, tiny: TinyGrid, grid: str, other: str, run: int, stranger: str
) -> list[Any]:
    """A morning's batch in `grid`; returns the operations (ids are new for each run).
    `stranger` is a resident living in the other grid."""
    ids = [str(uuid.uuid4()) for _ in range(12)]
    building, unit, h1, r1, r2, r3, unit2, r4, r5, r6, h_out, h_bad = ids
    grid_id, other_id = tiny.nodes[grid].id, tiny.nodes[other].id
    existing_house = tiny.houses[grid][1]  # house 1 has one resident
    ops: list[Any] = []

    def create(entity: str, record_id: str, **values: Any) -> dict[str, Any]:
        op = dev.op(entity, record_id, "create", {k: (None, v) for k, v in values.items()})
        ops.append(op)
        return op

    def bind(record_resident: str, house: str) -> None:
        create(
            "binding",
            str(uuid.uuid4()),
            resident_id=record_resident,
            house_id=house,
            relation="member",
            start_date="2024-03-01",
        )

    create("building", building, grid_id=grid_id, road="榕华路", number="8号", name="8栋")
    create("unit", unit, building_id=building, name="1单元")
    create("house", h1, grid_id=grid_id, building_id=building, unit_id=unit, room="101")
    create("resident", r1, **_person(run, 1))
    bind(r1, h1)
    # A unit of another building; a person from the other grid who also lives here now.
    create(
        "house",
        str(uuid.uuid4()),
        grid_id=grid_id,
        building_id=building,
        unit_id=tiny.houses[grid][0].unit_id,
        room="105",
    )
    bind(stranger, h1)
    create("resident", r2, **_person(run, 2), id_number_override=None)  # an unknown field
    bind(r2, h1)
    create("house", h_out, grid_id=other_id, building_id=building, room="102")  # not theirs
    create("house", h_bad, grid_id=grid_id, building_id=str(uuid.uuid4()), room="103")
    bind(r3, h1)  # before its resident exists
    create("resident", r3, **_person(run, 3))  # and then no binding after it
    ops.append(dev.op("house", h1, "update", {"room": ("101", "101室")}, base_version=1))
    create("unit", unit2, building_id=building, name="2单元")
    ops.append(dev.op("unit", unit2, "delete", {}, base_version=1))
    create(
        "house", str(uuid.uuid4()), grid_id=grid_id, building_id=building, unit_id=unit2, room="104"
    )
    create("resident", r4, **_person(run, 4, phone="12"))  # a bad phone number
    bind(r4, h1)
    create("resident", r5, **_person(run, 5))
    bind(r5, existing_house.id)
    ops.append(ops[-2])  # the same operation twice
    create("resident", r6, **_person(run, 5))  # a second person with r5's ID number
    bind(r6, h1)
    with_taken = create("resident", str(uuid.uuid4()), **_person(run, 7))
    with_taken["fields"]["id_number"]["new"] = _taken_id_number(dev, tiny, grid)
    bind(with_taken["record_id"], h1)
    # Edits of people already living there: plain, then a bad value; against an older version,
    # then a name someone else changed first; someone in the other grid. (people[2] is the other
    # run's stranger, in two grids.)
    people = _people(dev, tiny, grid)
    ops.append(dev.edit("resident", people[0], phone="13911112222"))
    ops.append(dev.edit("resident", people[0], phone="12"))
    stale = dev.edit("resident", people[1], note="旧版本上改")
    stale["base_version"] = 0
    ops.append(stale)
    clash = dev.edit("resident", people[1], name="林改")
    clash["fields"]["name"]["base"] = "别人改过"
    ops.append(clash)
    ops.append(dev.op("resident", stranger, "update", {"note": ("", "越界")}, base_version=1))
    return ops


def _people(dev: WireDevice, tiny: TinyGrid, grid: str) -> list[str]:
    """The people already living in `grid`, in the same order in every grid: by house, head
    first."""
    order = {house.id: n for n, house in enumerate(tiny.houses[grid])}
    bindings = sorted(
        (
            order[b["values"]["house_id"]],
            b["values"]["relation"] != "head",
            b["values"]["resident_id"],
        )
        for b in dev.of("binding").values()
        if b["values"]["house_id"] in order and b["values"]["start_date"] == "2020-01-01"
    )
    return [resident for *_, resident in bindings]


def _taken_id_number(dev: WireDevice, tiny: TinyGrid, grid: str) -> str:
    """The ID number of someone already living in `grid` (the head of its house 2)."""
    return str(dev.records[("resident", _people(dev, tiny, grid)[1])]["values"]["id_number"])


def _outcome(
    client: TestClient,
    tiny: TinyGrid,
    factory: sessionmaker[Session],
    worker: str,
    grid: str,
    other: str,
    run: int,
    order: list[int] | None = None,
) -> list[Any]:
    """Each operation's answer, stored row, logged status and change grids, named by position
    (ids, grids and the run's ID numbers replaced), so two runs can be compared. `order` picks
    the scenario's operations by index (modulo its length) instead of taking them all."""
    dev = WireDevice(client, worker)
    dev.pull()
    with factory() as session:
        stranger = session.scalars(
            select(Binding.resident_id).where(
                Binding.house_id == tiny.houses[other][2].id, Binding.relation == "member"
            )
        ).one()
        before = session.scalar(select(func.max(Change.seq))) or 0
    ops = _scenario(dev, tiny, grid, other, run, stranger)
    if order is not None:
        ops = [ops[i % len(ops)] for i in order]
    results = dev.push(ops)
    names = {tiny.nodes[grid].id: "GRID", tiny.nodes[other].id: "OTHER"}
    for position, op in enumerate(ops):
        names.setdefault(op["record_id"], f"#{position}")
    for n in range(1, 8):
        names[_id_number(run, n)] = f"ID{n}"
    for n, house in enumerate(tiny.houses[grid]):
        names[house.id] = f"HOUSE{n}"
    names[_taken_id_number(dev, tiny, grid)] = "TAKEN"
    names[stranger] = "STRANGER"
    with factory() as session:
        for name, value in values_of("resident", session.get(Resident, stranger)).items():
            if isinstance(value, str):
                names.setdefault(value, f"STRANGER.{name}")
    for n, person in enumerate(_people(dev, tiny, grid)):
        names[person] = f"PERSON{n}"
        for name in ("name", "phone", "id_number"):
            names.setdefault(dev.records[("resident", person)]["values"][name], f"PERSON{n}.{name}")

    def named(value: Any) -> Any:
        return names.get(value, value) if isinstance(value, str) else value

    out: list[Any] = []
    with factory() as session:
        for op, result in zip(ops, results, strict=True):
            row = session.get(MODELS[op["entity"]], op["record_id"])
            stored = None
            if row is not None:
                stored = (
                    row.version,
                    row.deleted,
                    {k: named(v) for k, v in values_of(op["entity"], row).items()},
                    sorted(row.clocks or {}),
                )
            logged = session.scalar(
                select(OperationLog.status).where(OperationLog.op_id == op["op_id"])
            )
            grids = sorted(
                (named(grid), "ME" if echo == dev.device_id else echo)
                for grid, echo in session.execute(
                    select(Change.grid_id, Change.echo_device_id).where(
                        Change.record_id == op["record_id"], Change.seq > before
                    )
                )
            )
            answer = {k: named(result.get(k)) for k in ("status", "code", "field", "version")}
            out.append((answer, stored, logged, grids))
    return out


def _one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the next push's grouped write fail, so every operation takes the fallback."""
    real = push_mod.write
    failed: list[bool] = []

    def failing_once(*args: Any, **kwargs: Any) -> None:
        if not failed:
            failed.append(True)
            raise IntegrityError("grouped write", {}, Exception("forced by the test"))
        real(*args, **kwargs)

    monkeypatch.setattr(push_mod, "write", failing_once)


def test_the_set_based_write_answers_and_stores_what_one_at_a_time_does(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        _one_at_a_time(patch)
        one_by_one = _outcome(client, tiny, session_factory, "w11", "T1-1-1-1-1", "T1-1-1-1-2", 1)
    grouped = _outcome(client, tiny, session_factory, "w12", "T1-1-1-1-2", "T1-1-1-1-1", 2)

    assert grouped == one_by_one
    statuses = [answer["status"] for answer, *_ in grouped]
    assert statuses.count("applied") >= 10
    assert {"rejected", "conflict"} <= set(statuses)
    # The device's own creates, stored as sent, are not sent back to it; the rest are.
    echoes = [echo for *_, changes in grouped for _, echo in changes]
    assert "ME" in echoes and None in echoes


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=st.lists(st.integers(0, 40), min_size=1, max_size=45))
def test_random_batches_are_written_alike_both_ways(
    client: TestClient,
    tiny: TinyGrid,
    session_factory: sessionmaker[Session],
    order: list[int],
) -> None:
    """Operations of the morning's batch, drawn in any order, repeated or left out: references
    that come before what they name, edits of records not made yet, duplicates in any place."""
    run = _RUNS.setdefault(id(client), [10])
    run[0] += 2
    with pytest.MonkeyPatch.context() as patch:
        _one_at_a_time(patch)
        one_by_one = _outcome(
            client, tiny, session_factory, "w21", "T1-1-1-2-1", "T1-1-1-2-2", run[0], order
        )
    grouped = _outcome(
        client, tiny, session_factory, "w22", "T1-1-1-2-2", "T1-1-1-2-1", run[0] + 1, order
    )
    assert grouped == one_by_one


_RUNS: dict[int, list[int]] = {}
