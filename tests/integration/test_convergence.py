"""Convergence: random offline edits on several phones, random sync order, lost answers.

When every phone has synced, each phone equals the server within its grid, no operation is
pending, every operation reached the server exactly once, and every edit is in the server's
state, or lost to a later edit of the same field, or waiting in a conflict record, or shown to
the worker as rejected: nothing silently lost.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from field_app.store.errors import RecordNotFound
from field_app.sync_client import Offline
from shared.errors import ValidationFailed
from shared.schema import Role
from sync_server.db import make_engine, make_sessionmaker
from sync_server.main import create_app
from sync_server.models import ConflictRecord, OperationLog
from sync_server.records import MODELS, values_of
from sync_server.services.users import create_user
from tests.conftest import sqlite_settings
from tests.days import iso
from tests.factories import make_id_number, make_tiny_grid, password_hash
from tests.integration.harness import Phone, assert_device_equals_server, server_scope

PHONES = ["13800000001", "13900000002", "15000000003", "18600000004"]
NAMES = ["张伟", "王芳", "李娜", "刘洋"]
NOTES = ["不在家", "已走访", "需复查", ""]
STATUSES = ["permanent", "floating", "away"]
TAGS = ["elderly_alone", "disabled", "hardship"]

device = st.integers(0, 2)
pick = st.integers(0, 50)
step = st.one_of(
    st.tuples(
        st.just("edit"),
        device,
        pick,
        st.sampled_from(["phone", "note", "name", "residence_status"]),
        st.integers(0, 3),
    ),
    st.tuples(st.just("tag"), device, pick, st.sampled_from(TAGS), st.booleans()),
    st.tuples(st.just("add_person"), device, pick),
    st.tuples(st.just("move"), device, pick, pick),
    st.tuples(st.just("delete_binding"), device, pick),
    st.tuples(st.just("sync"), device, st.booleans()),
)


def _value(field: str, index: int) -> Any:
    return {"phone": PHONES, "name": NAMES, "note": NOTES, "residence_status": STATUSES}[field][
        index % (3 if field == "residence_status" else 4)
    ]


def _nth(items: dict[str, Any], index: int) -> str | None:
    keys = sorted(items)
    return keys[index % len(keys)] if keys else None


# More examples for a long hunt: GRIDSWEEP_CONVERGENCE_EXAMPLES=500 pytest tests/integration
EXAMPLES = int(os.environ.get("GRIDSWEEP_CONVERGENCE_EXAMPLES", "25"))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=5, max_size=30), seed=st.integers(0, 10_000))
def test_phones_converge_and_nothing_is_silently_lost(
    steps: list[tuple[Any, ...]], seed: int, migrated_template: Path
) -> None:
    work = Path(tempfile.mkdtemp())
    try:
        _run(steps, seed, work, migrated_template)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(steps: list[tuple[Any, ...]], seed: int, work: Path, template: Path) -> None:
    rng = random.Random(seed)
    shutil.copy(template, work / "server.db")
    settings_ = sqlite_settings(work / "server.db")
    factory = make_sessionmaker(make_engine(settings_))
    with factory() as session, session.begin():
        tiny = make_tiny_grid(session)
        create_user(
            session=session,
            username="w11b",
            password_hash=password_hash(),
            role=Role.WORKER,
            grids=[tiny.nodes["T1-1-1-1-1"]],
        )
    grid_id = tiny.nodes["T1-1-1-1-1"].id
    app = create_app(settings_)
    phones = [
        Phone(app, work / "a.db", "w11"),
        Phone(app, work / "b.db", "w11b"),
        Phone(app, work / "c.db", "w11"),
    ]
    made: dict[str, Phone] = {}
    try:
        for p in phones:
            p.sync()
        for action, who, *args in steps:
            phone = phones[who]
            ops = []
            # The app refuses an edit of a record gone meanwhile: nothing written, nothing to sync.
            with contextlib.suppress(ValidationFailed, RecordNotFound):
                ops = _act(phone, action, args, rng)
            for op in ops:
                made[op.op_id] = phone
        for _ in range(3):
            for p in phones:
                p.sync()
        with factory() as session:
            for p in phones:
                assert p.store.pending_count() == 0
                assert_device_equals_server(p, session, {grid_id})
            _nothing_silently_lost(session, made)
            entities = list(server_scope(session, {grid_id}))
        # And record for record what a new phone of the same grid downloads now.
        fresh = Phone(app, work / "fresh.db", "w11")
        phones.append(fresh)
        fresh.sync()
        for entity in entities:
            bootstrap = fresh.records(entity)
            for p in phones[:-1]:
                assert p.records(entity) == bootstrap, f"{p.username}'s {entity} != a bootstrap"
    finally:
        for p in phones:
            p.close()
        app.state.engine.dispose()
        factory.kw["bind"].dispose()


def _act(phone: Phone, action: str, args: list[Any], rng: random.Random) -> list[Any]:
    store, user = phone.store, phone.user_id
    residents = phone.records("resident")
    if action == "sync":
        phone.transport.lose_next = bool(args[0])
        with contextlib.suppress(Offline):
            phone.sync()
        phone.transport.lose_next = False  # with nothing to push, no answer was there to lose
        return []
    if action == "edit":
        rid = _nth(residents, args[0])
        if rid is None:
            return []
        op = store.update("resident", rid, {args[1]: _value(args[1], args[2])}, user_id=user)
        return [op] if op else []
    if action == "tag":
        rid = _nth(residents, args[0])
        if rid is None:
            return []
        tags = set(residents[rid][1]["tags"] or [])
        tags = tags | {args[1]} if args[2] else tags - {args[1]}
        op = store.update("resident", rid, {"tags": sorted(tags)}, user_id=user)
        return [op] if op else []
    houses = phone.records("house")
    if action == "add_person":
        house = _nth(houses, args[0])
        if house is None:
            return []
        with store.transaction():
            person = store.create(
                "resident",
                {"name": rng.choice(NAMES), "id_number": make_id_number(rng)},
                user_id=user,
            )
            binding = store.create(
                "binding",
                {
                    "resident_id": person.record_id,
                    "house_id": house,
                    "relation": "tenant",
                    "start_date": iso(-27),
                },
                user_id=user,
            )
        return [person, binding]
    bindings = {k: v for k, v in phone.records("binding").items() if v[1]["end_date"] is None}
    if action == "move":
        binding_id = _nth(bindings, args[0])
        house = _nth(houses, args[1])
        if binding_id is None or house is None:
            return []
        resident = bindings[binding_id][1]["resident_id"]
        with store.transaction():
            closed = store.update("binding", binding_id, {"end_date": iso(-3)}, user_id=user)
            opened = store.create(
                "binding",
                {
                    "resident_id": resident,
                    "house_id": house,
                    "relation": "member",
                    "start_date": iso(-3),
                },
                user_id=user,
            )
        return [op for op in (closed, opened) if op]
    if action == "delete_binding":
        binding_id = _nth(bindings, args[0])
        return [store.delete("binding", binding_id, user_id=user)] if binding_id else []
    raise AssertionError(action)


def _nothing_silently_lost(session: Any, made: dict[str, Phone]) -> None:
    # Ops of one batch share a timestamp; within a device the clock gives the order they were made.
    logs = session.scalars(
        select(OperationLog).order_by(OperationLog.received_at, OperationLog.hlc)
    ).all()
    by_id = {log.op_id: log for log in logs}
    missing = set(made) - set(by_id)
    assert not missing, f"operations never reached the server: {missing}"
    for index, log in enumerate(logs):
        if log.status == "rejected":
            problems = {p.op.op_id for p in made[log.op_id].store.problems()}
            assert log.op_id in problems, f"rejected op {log.op_id} vanished from the phone"
            continue
        if log.status == "conflict":
            conflict = session.get(ConflictRecord, log.result["conflict_id"])
            assert conflict is not None
            continue
        if log.kind != "update":
            continue
        row = session.get(MODELS[log.entity], log.record_id)
        current = values_of(log.entity, row)
        later = logs[index + 1 :]
        for name, change in log.fields.items():
            if name == "tags" or current.get(name) == change["new"]:
                continue
            same_field = [
                other
                for other in logs
                if other is not log
                and other.entity == log.entity
                and other.record_id == log.record_id
                and (name in other.fields or other.kind == "delete")
                and other.status in ("applied", "merged")
            ]
            # Overwritten by a change the server received later, or (last writer wins) lost to a
            # change made later by the clock, which the result told the phone about.
            overwritten = (
                any(other in later for other in same_field)
                or any(other.hlc > log.hlc for other in same_field)
                or row.deleted
            )
            assert overwritten, f"{log.entity}.{name} = {change['new']!r} of {log.op_id} was lost"
