"""The device store, as a worker would notice it: edits that cannot be lost or half-written,
server answers that stay visible, pulls that resume cleanly, and pending edits kept over pulls."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from field_app.store import Record, RecordNotFound, Store, ValidationFailed, outbox, records
from shared import hlc
from shared.clock import ManualClock
from shared.protocol import OpResult, PullResponse, RecordRef, RecordState
from shared.schema import ENTITIES
from shared.validation import id_check_char
from tests.days import NOW, TODAY, iso

USER = "user-1"
GRID = "00000000-0000-4000-8000-000000000005"
OTHER_GRID = "00000000-0000-4000-8000-000000000006"
BUILDING = "00000000-0000-4000-8000-0000000000b1"
OTHER_BUILDING = "00000000-0000-4000-8000-0000000000b2"
HOUSE = "00000000-0000-4000-8000-0000000000a1"
OTHER_HOUSE = "00000000-0000-4000-8000-0000000000a2"
RESIDENT = "00000000-0000-4000-8000-0000000000c1"
BINDING = "00000000-0000-4000-8000-0000000000d1"
START_MS = int(NOW.timestamp() * 1000)
SERVER_TS = hlc.format_ts(START_MS - 60_000, 0, "server")


def id_number(birth: str = "19800101", seq: str = "123") -> str:
    first17 = f"350128{birth}{seq}"
    return first17 + id_check_char(first17)


def state(
    entity: str,
    record_id: str,
    version: int = 1,
    *,
    deleted: bool = False,
    clock: str = SERVER_TS,
    **values: Any,
) -> RecordState:
    return RecordState.model_validate(
        {
            "entity": entity,
            "id": record_id,
            "version": version,
            "deleted": deleted,
            "values": values,
            "clocks": dict.fromkeys(values, clock),
        }
    )


def page(
    *states: RecordState, cursor: str = "c1", has_more: bool = False, **extra: Any
) -> PullResponse:
    return PullResponse.model_validate(
        {
            "records": [s.model_dump() for s in states],
            "scope": [GRID, OTHER_GRID],
            "cursor": cursor,
            "has_more": has_more,
            "phase": "changes",
            "server_hlc": SERVER_TS,
            **extra,
        }
    )


def seed(store: Store) -> None:
    """One grid with a building, a house and 王芳 living in it, as a first pull brings them."""
    store.apply_pull(
        page(
            state("grid_node", GRID, level=5, code="G5-01", name="一网格", parent_id=None),
            state("building", BUILDING, grid_id=GRID, road="海坛路", number="8", name="8号楼"),
            state("house", HOUSE, grid_id=GRID, building_id=BUILDING, room="101", unit_id=None),
            state(
                "resident",
                RESIDENT,
                name="王芳",
                id_number=id_number(),
                phone="13800000001",
                residence_status="permanent",
                tags=["elderly_alone"],
                note="",
            ),
            state(
                "binding",
                BINDING,
                resident_id=RESIDENT,
                house_id=HOUSE,
                relation="head",
                start_date="2020-01-01",
                end_date=None,
            ),
            cursor="seed",
        )
    )


def applied(op_id: str, entity: str, record_id: str, version: int, **extra: Any) -> OpResult:
    return OpResult(
        op_id=op_id, status="applied", entity=entity, record_id=record_id, version=version, **extra
    )


def row_count(store: Store, table: str) -> int:
    return int(store.db.execute(f"SELECT COUNT(*) FROM [{table}]").fetchone()[0])


# --- the database ------------------------------------------------------------------------------


def test_opening_turns_on_wal_and_migrates_once(path: Path, phone_clock: ManualClock) -> None:
    store = Store.open(path, clock=phone_clock)
    device_id = store.device_id
    store.close()
    store = Store.open(path, clock=phone_clock)
    assert store.db.journal_mode == "wal"
    assert [r["name"] for r in store.db.query("SELECT name FROM _sqlite_migrations")] == [
        "m001_initial",
        "m002_visits_and_name_search",
        "m003_campaigns",
        "m004_conflict_detail",
        "m005_sealed_columns",
        "m006_visit_instants",
        "m007_photos",
        "m008_matters",
        "m009_photo_thumbs",
        "m011_businesses",
        "m012_business_matters",
        "m013_members",
        "m014_missed_kept",
    ]
    assert store.device_id == device_id, "the device keeps its id across restarts"
    uuid.UUID(device_id)
    store.close()


def test_an_older_apps_visit_times_become_utc_instants_on_update(
    path: Path, phone_clock: ManualClock
) -> None:
    # A store whose visit times are as the app before m006 wrote them (China time, offset): a
    # visit at 07:30 this morning, its server-confirmed state, a pending edit and a conflict
    # that carry the time, a notice, and one value that is no time at all.
    store = Store.open(path, clock=phone_clock)
    house, seen, odd = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    morning, last_night = f"{iso(0)}T07:30+08:00", f"{iso(-1)} 23:45"  # the second: no zone
    db = store.db.conn
    db.execute(
        "INSERT INTO house (id, version, grid_id, building_id, room) VALUES (?, 1, 'g', 'b', '1')",
        [house],
    )
    for visit_id, house_id, at_text in ((seen, house, morning), (odd, "elsewhere", "早上")):
        values = {"house_id": house_id, "outcome": "met", "visited_at": at_text}
        db.execute(
            "INSERT INTO visit (id, version, house_id, outcome, visited_at) VALUES (?, 1, ?, ?, ?)",
            [visit_id, house_id, "met", at_text],
        )
        db.execute(
            "INSERT INTO server_shadow (entity, id, version, deleted, field_values, clocks) "
            "VALUES ('visit', ?, 1, 0, ?, '{}')",
            [visit_id, json.dumps(values)],
        )
    change = json.dumps({"visited_at": {"base": morning, "new": last_night}})
    clash = [{"field": "visited_at", "base": morning, "server": morning, "device": last_night}]
    for op_id, status, detail in (("op-1", "pending", None), ("op-2", "conflict", clash)):
        db.execute(
            "INSERT INTO outbox (op_id, entity, record_id, kind, base_version, fields, hlc, "
            "device_id, user_id, status, detail) VALUES (?, 'visit', ?, 'update', 1, ?, ?, "
            "'d', 'u', ?, ?)",
            [op_id, seen, change, SERVER_TS, status, json.dumps(detail) if detail else None],
        )
    notice = {"op_id": "op-0", "kind": "superseded", "entity": "visit", "record_id": seen,
              "at": NOW.isoformat(), "typed": {"visited_at": last_night}, "resident_id": None}  # fmt: skip
    db.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('notices', ?)", [json.dumps([notice])]
    )
    db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm006_visit_instants'")
    db.commit()
    store.close()

    store = Store.open(path, clock=phone_clock)
    utc_morning, utc_last_night = f"{iso(-1)}T23:30:00.000Z", f"{iso(-1)}T15:45:00.000Z"
    assert store.get("visit", seen)["visited_at"] == utc_morning  # type: ignore[index]
    summary = store.house_summary(house, TODAY)
    assert summary is not None and summary.visited_today, "07:30 China time is still today"
    shadow = store.db.execute(
        "SELECT field_values FROM server_shadow WHERE id = ?", [seen]
    ).fetchone()
    assert json.loads(shadow[0])["visited_at"] == utc_morning
    [pending] = outbox.pending(store.db)
    assert pending.fields["visited_at"].base == utc_morning
    assert pending.fields["visited_at"].new == utc_last_night
    [problem] = store.problems()
    assert [(c.base, c.server, c.device) for c in problem.clashes] == [
        (utc_morning, utc_morning, utc_last_night)
    ]
    [told] = store.notices()
    assert told.typed == {"visited_at": utc_last_night}
    # Not a time: left for the server to judge, as before; the visit is not lost.
    assert store.get("visit", odd)["visited_at"] == "早上"  # type: ignore[index]
    store.close()


def test_every_schema_field_has_a_column(store: Store) -> None:
    # Fails when shared.schema grows a field without a migration adding its column.
    for entity, spec in ENTITIES.items():
        columns = set(store.db.table(entity).columns_dict)
        assert {"id", "version", "deleted", "clocks", *spec.fields} <= columns, entity


# --- edits and their operations ----------------------------------------------------------------


def test_create_writes_the_record_and_its_operation_together(store: Store) -> None:
    seed(store)
    op = store.create(
        "resident",
        {"name": " 李雷 ", "id_number": id_number(seq="135"), "tags": ["残疾"], "phone": ""},
        user_id=USER,
    )
    record = store.get("resident", op.record_id)
    assert record is not None
    assert record.values["name"] == "李雷"
    assert record.values["tags"] == ["disabled"], "Chinese labels are stored as enum values"
    assert record.version is None and record.sync_state == "pending"
    assert store.pending_ops() == [op]
    assert store.pending_count() == 1
    assert op.kind == "create" and op.base_version is None
    assert op.device_id == store.device_id and op.user_id == USER
    assert {n: (c.base, c.new) for n, c in op.fields.items()} == {
        "name": (None, "李雷"),
        "id_number": (None, id_number(seq="135")),
        "tags": (None, ["disabled"]),
    }
    assert record.clocks == dict.fromkeys(op.fields, op.hlc)
    uuid.UUID(op.op_id), uuid.UUID(op.record_id)


def test_failure_inside_the_edit_transaction_leaves_neither(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store)

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("battery died")

    monkeypatch.setattr(outbox, "enqueue", crash)  # after the record row was written
    with pytest.raises(RuntimeError):
        store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    with pytest.raises(RuntimeError):
        store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)

    assert [b.values["name"] for b in store.buildings_in_grid(GRID)] == ["8号楼"]
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["phone"] == "13800000001"
    assert store.pending_count() == 0


def test_process_killed_mid_edit_leaves_neither(path: Path, phone_clock: ManualClock) -> None:
    store = Store.open(path, clock=phone_clock)
    seed(store)
    store.close()
    # A real crash: the process dies between writing the record and its operation.
    script = textwrap.dedent(
        f"""
        import os
        from field_app.store import Store, outbox
        store = Store.open({str(path)!r})
        outbox.enqueue = lambda *a, **k: os._exit(9)
        store.update("resident", {RESIDENT!r}, {{"name": "王芳芳"}}, user_id="u")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    assert done.returncode == 9

    store = Store.open(path, clock=phone_clock)
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["name"] == "王芳"
    assert store.pending_count() == 0
    store.close()


def test_update_carries_the_base_of_each_changed_field(store: Store) -> None:
    seed(store)
    first = store.update(
        "resident", RESIDENT, {"phone": "139 0000 0002", "name": "王芳"}, user_id=USER
    )
    second = store.update("resident", RESIDENT, {"phone": "13900000003"}, user_id=USER)
    assert first is not None and second is not None
    assert first.kind == "update" and first.base_version == 1
    assert {n: (c.base, c.new) for n, c in first.fields.items()} == {
        "phone": ("13800000001", "13900000002")
    }, "unchanged fields are not sent; the phone is normalised"
    assert second.fields["phone"].base == "13900000002", "the base is the value before this edit"
    assert second.hlc > first.hlc
    assert store.pending_ops() == [first, second]
    assert store.pending_ops(limit=1) == [first]
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["phone"] == "13900000003"


def test_update_that_changes_nothing_writes_nothing(store: Store) -> None:
    seed(store)
    clock = store.meta.hlc
    same = {"name": "王芳", "tags": ["elderly_alone"], "note": None, "phone": "+86 138-0000-0001"}
    assert store.update("resident", RESIDENT, same, user_id=USER) is None
    assert store.pending_count() == 0
    assert store.meta.hlc == clock


def test_a_landline_is_a_phone_number_in_the_form_the_server_keeps(store: Store) -> None:
    seed(store)
    store.update("resident", RESIDENT, {"phone": "(0591) 8765 4321"}, user_id=USER)
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident["phone"] == "0591-87654321"


def test_invalid_values_name_the_field_and_write_nothing(store: Store) -> None:
    seed(store)
    bad_id = id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1")
    with pytest.raises(ValidationFailed) as failed:
        store.create("resident", {"name": "", "id_number": bad_id, "phone": "12345"}, user_id=USER)
    assert {(e.field, e.code) for e in failed.value.errors} == {
        ("name", "required"),
        ("id_number", "id_check_digit"),
        ("phone", "phone_length"),
    }
    assert "id_number" in str(failed.value)

    with pytest.raises(ValidationFailed) as failed:
        store.create(
            "binding",
            {
                "resident_id": RESIDENT,
                "house_id": str(uuid.uuid4()),
                "relation": "租客",
                "start_date": "2024-13-01",
            },
            user_id=USER,
        )
    assert {(e.field, e.code) for e in failed.value.errors} == {
        ("relation", "choice"),
        ("start_date", "date_format"),
    }
    with pytest.raises(ValidationFailed) as failed:
        store.create(
            "binding",
            {
                "resident_id": RESIDENT,
                "house_id": str(uuid.uuid4()),
                "relation": "租户",
                "start_date": "2024-03-01",
            },
            user_id=USER,
        )
    assert [(e.field, e.code) for e in failed.value.errors] == [("house_id", "unknown_reference")]
    with pytest.raises(ValidationFailed) as failed:
        store.update("grid_node", GRID, {"name": "改名"}, user_id=USER)
    assert failed.value.errors[0].code == "not_device_writable"

    assert store.pending_count() == 0
    assert row_count(store, "binding") == 1 and row_count(store, "resident") == 1


def test_edits_of_a_missing_or_deleted_record_are_refused(store: Store) -> None:
    seed(store)
    with pytest.raises(RecordNotFound, match="no resident"):
        store.update("resident", str(uuid.uuid4()), {"name": "某某"}, user_id=USER)
    store.delete("binding", BINDING, user_id=USER)
    with pytest.raises(RecordNotFound):
        store.update("binding", BINDING, {"relation": "member"}, user_id=USER)


def test_delete_keeps_a_tombstone_and_sends_every_base(store: Store) -> None:
    seed(store)
    op = store.delete("binding", BINDING, user_id=USER)
    assert op.kind == "delete" and op.base_version == 1
    assert set(op.fields) == set(ENTITIES["binding"].fields)
    assert all(c.base == c.new for c in op.fields.values())
    binding = store.get("binding", BINDING)
    assert binding is not None and binding.deleted
    assert store.residents_of_house(HOUSE) == []


def test_several_edits_in_one_transaction_land_together(store: Store) -> None:
    seed(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.update("binding", BINDING, {"end_date": "2024-05-01"}, user_id=USER)
        raise RuntimeError("the new binding's form was cancelled")
    binding = store.get("binding", BINDING)
    assert binding is not None and binding["end_date"] is None
    assert store.pending_count() == 0


# --- results of a push -------------------------------------------------------------------------


def test_applied_result_settles_the_operation_and_moves_the_version(store: Store) -> None:
    seed(store)
    created = store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    edited = store.update("resident", RESIDENT, {"note": "腿脚不便"}, user_id=USER)
    assert edited is not None
    store.record_results(
        [
            applied(created.op_id, "building", created.record_id, 1),
            applied(edited.op_id, "resident", RESIDENT, 2),
        ],
        server_hlc=SERVER_TS,
    )
    assert store.pending_count() == 0 and store.problems() == []
    building = store.get("building", created.record_id)
    resident = store.get("resident", RESIDENT)
    assert building is not None and building.version == 1 and building.sync_state == "synced"
    assert resident is not None and resident.version == 2 and resident["note"] == "腿脚不便"
    # The next edit builds on the confirmed version.
    again = store.update("resident", RESIDENT, {"note": ""}, user_id=USER)
    assert again is not None and again.base_version == 2


def test_rejected_operation_stays_visible_with_its_reason(store: Store) -> None:
    seed(store)
    op = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    assert op is not None
    rejection = OpResult(
        op_id=op.op_id,
        status="rejected",
        entity="resident",
        record_id=RESIDENT,
        code="duplicate",
        field="phone",
        reason="phone 13900000002 belongs to another resident",
    )
    store.record_results([rejection])
    store.record_results([rejection])  # a retried push answers again: still one problem

    [problem] = store.problems()
    assert problem.op == op and problem.status == "rejected"
    assert (problem.code, problem.field) == ("duplicate", "phone")
    assert "another resident" in (problem.reason or "")
    assert store.problems_for("resident", RESIDENT) == [problem]
    counts = store.counts()
    assert (counts.pending, counts.rejected) == (0, 1)
    assert store.pending_ops() == [], "a rejected operation is not pushed again"
    resident = store.get("resident", RESIDENT)
    assert resident is not None
    assert resident["phone"] == "13800000001", "the record shows what the server holds"
    assert resident.sync_state == "rejected"

    assert store.dismiss_problem(op.op_id)
    assert store.problems() == [] and not store.dismiss_problem(op.op_id)


def test_rejected_create_leaves_the_device_but_not_the_problem_list(store: Store) -> None:
    seed(store)
    op = store.create("resident", {"name": "李雷", "id_number": id_number(seq="135")}, user_id=USER)
    store.record_results(
        [
            OpResult(
                op_id=op.op_id,
                status="rejected",
                entity="resident",
                record_id=op.record_id,
                code="duplicate",
                field="id_number",
                reason="already registered in another grid",
            )
        ]
    )
    assert store.get("resident", op.record_id) is None
    [problem] = store.problems()
    assert problem.op.fields["name"].new == "李雷", "what the worker typed is still there"


def test_conflict_keeps_the_operation_with_its_conflict_id(store: Store) -> None:
    seed(store)
    op = store.update("resident", RESIDENT, {"name": "王芳芳"}, user_id=USER)
    assert op is not None
    store.record_results(
        [
            OpResult(
                op_id=op.op_id,
                status="conflict",
                entity="resident",
                record_id=RESIDENT,
                version=1,
                conflict_id="k-1",
                field="name",
            )
        ]
    )
    [problem] = store.problems_for("resident", RESIDENT)
    assert (problem.status, problem.conflict_id) == ("conflict", "k-1")
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.sync_state == "conflict"
    assert resident["name"] == "王芳", "the server keeps its value until an admin decides"
    assert store.counts().conflict == 1 and store.pending_count() == 0


# --- pulls -------------------------------------------------------------------------------------


def test_pull_page_and_cursor_are_saved_together(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(store)
    real = records.write_views
    calls: list[str] = []

    def die_on_second(db: Any, entity: str, views: Any) -> None:
        # The page is written in bulk, one entity after the other: die after the first.
        calls.append(entity)
        if len(calls) == 2:
            raise RuntimeError("killed mid-page")
        real(db, entity, views)

    monkeypatch.setattr(records, "write_views", die_on_second)
    second = page(
        state("house", OTHER_HOUSE, grid_id=GRID, building_id=BUILDING, room="102"),
        state("resident", RESIDENT, 2, name="王芳", phone="13800000009"),
        cursor="c2",
    )
    with pytest.raises(RuntimeError):
        store.apply_pull(second)
    assert store.meta.cursor == "seed"
    assert store.get("house", OTHER_HOUSE) is None, "the first record of the page is undone too"
    shadow = records.read_shadow(store.db, "resident", RESIDENT)
    assert shadow is not None and shadow.version == 1, "and so is a shadow already written"

    monkeypatch.setattr(records, "write_views", real)
    store.apply_pull(second)
    assert store.meta.cursor == "c2"
    assert store.get("house", OTHER_HOUSE) is not None


def test_killed_between_pages_resumes_from_the_cursor(path: Path, phone_clock: ManualClock) -> None:
    store = Store.open(path, clock=phone_clock)
    seed(store)
    first = page(state("house", OTHER_HOUSE, grid_id=GRID, building_id=BUILDING, room="102"))
    assert store.apply_pull(first).received == 1
    store.close()  # the app is killed before the next page

    store = Store.open(path, clock=phone_clock)
    assert store.meta.cursor == "c1"
    # The server may repeat a state at a page boundary; it must not duplicate anything.
    second = page(
        state("house", OTHER_HOUSE, grid_id=GRID, building_id=BUILDING, room="102"),
        state("house", HOUSE, 2, grid_id=GRID, building_id=BUILDING, room="101A"),
        cursor="c2",
    )
    store.apply_pull(second)
    assert [h["room"] for h in store.houses_in_grid(GRID)] == ["101A", "102"]
    assert row_count(store, "house") == 2 and row_count(store, "server_shadow") == 6
    store.close()


def test_a_state_older_than_the_one_held_is_ignored(store: Store) -> None:
    seed(store)
    store.apply_pull(page(state("house", HOUSE, 3, grid_id=GRID, building_id=BUILDING, room="B")))
    result = store.apply_pull(
        page(state("house", HOUSE, 2, grid_id=GRID, building_id=BUILDING, room="A"))
    )
    house = store.get("house", HOUSE)
    assert result.received == 0
    assert house is not None and (house.version, house["room"]) == (3, "B")


def test_pending_phone_edit_survives_a_pulled_name_change(store: Store) -> None:
    seed(store)
    op = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    assert op is not None
    store.apply_pull(
        page(
            state(
                "resident",
                RESIDENT,
                2,
                name="王芳(更正)",
                id_number=id_number(),
                phone="13800000001",
                residence_status="permanent",
                tags=["elderly_alone"],
                note="",
            )
        )
    )
    resident = store.get("resident", RESIDENT)
    assert resident is not None
    assert resident["name"] == "王芳(更正)", "the office's correction arrives"
    assert resident["phone"] == "13900000002", "the worker's unsent edit stays on screen"
    assert resident.version == 2 and resident.sync_state == "pending"
    assert store.pending_ops() == [op], "the operation still pushes, with its original base"
    shadow = records.read_shadow(store.db, "resident", RESIDENT)
    assert shadow is not None and shadow.snapshot.values["phone"] == "13800000001"


def test_pending_tags_merge_with_pulled_tags(store: Store) -> None:
    seed(store)
    store.update("resident", RESIDENT, {"tags": ["elderly_alone", "disabled"]}, user_id=USER)
    store.apply_pull(page(state("resident", RESIDENT, 2, tags=["elderly_alone", "hardship"])))
    resident = store.get("resident", RESIDENT)
    assert resident is not None
    assert resident["tags"] == ["disabled", "elderly_alone", "hardship"]


def test_pulled_deletion_forgets_a_record_unless_an_edit_is_pending(store: Store) -> None:
    seed(store)
    store.update("resident", RESIDENT, {"note": "新号码待核实"}, user_id=USER)
    store.apply_pull(
        page(
            state("binding", BINDING, 2, deleted=True, resident_id=RESIDENT, house_id=HOUSE),
            state("resident", RESIDENT, 2, deleted=True, name="王芳"),
        )
    )
    assert store.get("binding", BINDING) is None
    assert records.read_shadow(store.db, "binding", BINDING) is None
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.deleted, "delete-vs-edit: the server keeps it deleted"
    assert store.pending_count() == 1, "the edit still pushes; the admin sees the conflict"


def test_records_that_left_the_scope_are_dropped(store: Store) -> None:
    seed(store)
    result = store.apply_pull(page(removed=[RecordRef(entity="binding", id=BINDING)]))
    assert result.removed == 1
    assert store.get("binding", BINDING) is None


def test_removed_grid_drops_its_data_but_keeps_pending_operations(store: Store) -> None:
    seed(store)
    mover = "00000000-0000-4000-8000-0000000000c2"
    store.apply_pull(
        page(
            state("grid_node", OTHER_GRID, level=5, code="G5-02", name="二网格"),
            state("building", OTHER_BUILDING, grid_id=OTHER_GRID, name="1号楼"),
            state("house", OTHER_HOUSE, grid_id=OTHER_GRID, building_id=OTHER_BUILDING, room="1"),
            state("resident", mover, name="赵强", id_number=id_number(seq="157")),
            # 赵强 is bound in both grids, 王芳 only in the first.
            state(
                "binding",
                "00000000-0000-4000-8000-0000000000d2",
                resident_id=mover,
                house_id=OTHER_HOUSE,
                relation="head",
                start_date="2021-01-01",
            ),
            state(
                "binding",
                "00000000-0000-4000-8000-0000000000d3",
                resident_id=mover,
                house_id=HOUSE,
                relation="tenant",
                start_date="2023-01-01",
            ),
        )
    )
    op = store.update("house", HOUSE, {"room": "101室"}, user_id=USER)
    assert op is not None

    result = store.apply_pull(
        PullResponse(
            records=[],
            removed_grids=[GRID],
            scope=[OTHER_GRID],
            cursor="c3",
            has_more=False,
            phase="changes",
            server_hlc=SERVER_TS,
        )
    )
    assert store.meta.scope == [OTHER_GRID]
    assert store.houses_in_grid(GRID) == [] and store.buildings_in_grid(GRID) == []
    assert store.get("resident", RESIDENT) is None, "王芳 lived only in the removed grid"
    assert store.get("resident", mover) is not None, "赵强 is still bound in the second grid"
    assert [g.id for g in store.my_grids()] == [OTHER_GRID]
    assert result.removed == 6  # grid, building, house, two bindings, one resident
    assert store.pending_ops() == [op], "the edit still pushes; the server will say why not"
    assert row_count(store, "server_shadow") == 5


# --- the clock ---------------------------------------------------------------------------------


def test_clock_stays_monotonic_across_restarts_when_the_wall_clock_goes_back(
    path: Path, phone_clock: ManualClock
) -> None:
    store = Store.open(path, clock=phone_clock)
    seed(store)
    first = store.update("house", HOUSE, {"room": "A"}, user_id=USER)
    store.close()

    phone_clock.advance(hours=-1)  # the phone's clock was reset an hour back
    store = Store.open(path, clock=phone_clock)
    second = store.update("house", HOUSE, {"room": "B"}, user_id=USER)
    assert first is not None and second is not None
    assert hlc.parse(second.hlc) > hlc.parse(first.hlc)
    store.close()


def test_clock_moves_past_what_the_server_has_seen(store: Store) -> None:
    ahead = hlc.format_ts(START_MS + 600_000, 3, "other-device")
    store.apply_pull(page(state("house", HOUSE, grid_id=GRID, room="1", clock=ahead)))
    op = store.update("house", HOUSE, {"room": "2"}, user_id=USER)
    assert op is not None and op.hlc > ahead
    house = store.get("house", HOUSE)
    assert house is not None and house["room"] == "2"


def test_two_connections_to_one_file_never_reuse_a_timestamp(
    path: Path, phone_clock: ManualClock
) -> None:
    ui = Store.open(path, clock=phone_clock)
    seed(ui)
    background = Store.open(path, clock=phone_clock)
    stamps = []
    for i in range(3):
        for who in (ui, background):
            op = who.update("house", HOUSE, {"room": f"{i}-{id(who)}"}, user_id=USER)
            assert op is not None
            stamps.append(op.hlc)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    ui.close()
    background.close()


# --- queries -----------------------------------------------------------------------------------


def test_residents_of_a_house_are_those_with_an_open_binding(store: Store) -> None:
    seed(store)
    child = store.create(
        "resident", {"name": "王小明", "id_number": id_number("20150601", "246")}, user_id=USER
    )
    store.create(
        "binding",
        {
            "resident_id": child.record_id,
            "house_id": HOUSE,
            "relation": "子女",
            "start_date": "2015-06-01",
        },
        user_id=USER,
    )
    moved_out = store.create(
        "resident", {"name": "刘租", "id_number": id_number("19900202", "357")}, user_id=USER
    )
    store.create(
        "binding",
        {
            "resident_id": moved_out.record_id,
            "house_id": HOUSE,
            "relation": "tenant",
            "start_date": "2022-01-01",
            "end_date": "2023-01-01",
        },
        user_id=USER,
    )
    occupants = store.residents_of_house(HOUSE)
    assert [(o.resident["name"], o.binding["relation"]) for o in occupants] == [
        ("王芳", "head"),
        ("王小明", "child"),
    ]
    assert {r.id for r in store.find_residents("王")} == {RESIDENT, child.record_id}
    assert [r.id for r in store.find_residents(id_number()[-4:])] == [RESIDENT]
    assert store.find_residents("%") == []


def test_records_read_back_as_they_were_written(store: Store) -> None:
    seed(store)
    record = store.get("resident", RESIDENT)
    assert isinstance(record, Record)
    assert record.values["tags"] == ["elderly_alone"]
    assert record.clocks == dict.fromkeys(
        ["name", "id_number", "phone", "residence_status", "tags", "note"], SERVER_TS
    )
    raw = store.db.execute("SELECT tags FROM resident").fetchone()[0]
    assert raw.startswith("gs1:") and "elderly" not in raw, "tags are stored sealed"
