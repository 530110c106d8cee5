"""A push's answers and a pull's pages are taken in bulk; what the worker sees must not change:
answers to one record in one list, confirmed deletes, records that left the device, and pages
mixing records with and without unsent edits."""

from __future__ import annotations

from field_app.store import Store, records
from shared.protocol import OpResult, PullResponse
from tests.days import TODAY
from tests.field_app.test_store import (
    BINDING,
    BUILDING,
    GRID,
    HOUSE,
    OTHER_HOUSE,
    RESIDENT,
    SERVER_TS,
    USER,
    applied,
    id_number,
    page,
    row_count,
    seed,
    state,
)


def rejected(op_id: str, entity: str, record_id: str) -> OpResult:
    return OpResult(
        op_id=op_id, status="rejected", entity=entity, record_id=record_id, code="duplicate"
    )


# --- a push's answers --------------------------------------------------------------------------


def test_create_and_update_of_one_record_answered_in_one_list(store: Store) -> None:
    seed(store)
    created = store.create("building", {"grid_id": GRID, "name": "9号楼"}, user_id=USER)
    edited = store.update("building", created.record_id, {"road": "海坛路"}, user_id=USER)
    assert edited is not None and edited.base_version is None
    store.record_results(
        [
            applied(created.op_id, "building", created.record_id, 1),
            applied(edited.op_id, "building", created.record_id, 2),
        ]
    )
    building = store.get("building", created.record_id)
    assert building is not None and building.version == 2 and building.sync_state == "synced"
    assert (building["name"], building["road"]) == ("9号楼", "海坛路")
    shadow = records.read_shadow(store.db, "building", created.record_id)
    assert shadow is not None and shadow.version == 2
    assert shadow.snapshot.values == {"grid_id": GRID, "name": "9号楼", "road": "海坛路"}
    again = store.update("building", created.record_id, {"number": "9"}, user_id=USER)
    assert again is not None and again.base_version == 2


def test_confirmed_delete_forgets_the_record(store: Store) -> None:
    seed(store)
    op = store.delete("resident", RESIDENT, user_id=USER)
    store.record_results([applied(op.op_id, "resident", RESIDENT, 2)])
    assert store.get("resident", RESIDENT) is None
    assert records.read_shadow(store.db, "resident", RESIDENT) is None
    assert store.pending_count() == 0


def test_create_edit_and_delete_answered_together_leave_nothing(store: Store) -> None:
    seed(store)
    created = store.create("building", {"grid_id": GRID, "name": "临时楼"}, user_id=USER)
    edited = store.update("building", created.record_id, {"name": "临时楼2"}, user_id=USER)
    deleted = store.delete("building", created.record_id, user_id=USER)
    assert edited is not None
    store.record_results(
        [
            applied(created.op_id, "building", created.record_id, 1),
            applied(edited.op_id, "building", created.record_id, 2),
            applied(deleted.op_id, "building", created.record_id, 3),
        ]
    )
    assert store.get("building", created.record_id) is None
    assert records.read_shadow(store.db, "building", created.record_id) is None
    assert store.pending_count() == 0


def test_confirmed_delete_with_an_earlier_edit_unanswered_keeps_the_tombstone(
    store: Store,
) -> None:
    seed(store)
    edited = store.update("resident", RESIDENT, {"note": "搬走了"}, user_id=USER)
    deleted = store.delete("resident", RESIDENT, user_id=USER)
    assert edited is not None
    store.record_results([applied(deleted.op_id, "resident", RESIDENT, 3)])
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.deleted and resident.version == 3
    assert resident.sync_state == "pending", "the edit still waits for its answer"
    assert store.pending_ops() == [edited]


def test_answer_for_a_record_that_left_the_device_changes_no_record(store: Store) -> None:
    seed(store)
    op = store.update("house", HOUSE, {"room": "101室"}, user_id=USER)
    assert op is not None
    store.apply_pull(
        PullResponse(
            records=[],
            removed_grids=[GRID],
            scope=[],
            cursor="c2",
            has_more=False,
            phase="changes",
            server_hlc=SERVER_TS,
        )
    )
    store.record_results([applied(op.op_id, "house", HOUSE, 2)])
    assert store.get("house", HOUSE) is None, "an answer does not bring the record back"
    assert records.read_shadow(store.db, "house", HOUSE) is None
    assert store.pending_count() == 0 and store.problems() == []


def test_a_newer_pulled_state_wins_over_the_confirmation(store: Store) -> None:
    seed(store)
    op = store.update("house", HOUSE, {"room": "101A"}, user_id=USER)
    assert op is not None
    store.apply_pull(page(state("house", HOUSE, 3, grid_id=GRID, building_id=BUILDING, room="B")))
    store.record_results([applied(op.op_id, "house", HOUSE, 2)])
    house = store.get("house", HOUSE)
    shadow = records.read_shadow(store.db, "house", HOUSE)
    assert house is not None and house.version == 3 and house.sync_state == "synced"
    assert shadow is not None and (shadow.version, shadow.snapshot.values["room"]) == (3, "B")


def test_merged_answer_keeps_the_servers_other_fields_in_the_guess(store: Store) -> None:
    seed(store)
    op = store.update("resident", RESIDENT, {"note": "独居"}, user_id=USER)
    assert op is not None
    merged = OpResult(
        op_id=op.op_id, status="merged", entity="resident", record_id=RESIDENT, version=4
    )
    store.record_results([merged])
    shadow = records.read_shadow(store.db, "resident", RESIDENT)
    assert shadow is not None and shadow.version == 4
    assert shadow.snapshot.values["note"] == "独居"
    assert shadow.snapshot.values["name"] == "王芳", "fields the operation left alone stay"
    assert shadow.snapshot.clocks["note"] == op.hlc
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.version == 4


def test_rejection_between_applied_answers_of_one_record(store: Store) -> None:
    seed(store)
    phone = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    note = store.update("resident", RESIDENT, {"note": "查无此人"}, user_id=USER)
    name = store.update("resident", RESIDENT, {"name": "王芳芳"}, user_id=USER)
    other = store.create("building", {"grid_id": GRID, "name": "10号楼"}, user_id=USER)
    assert phone is not None and note is not None and name is not None
    store.record_results(
        [
            applied(phone.op_id, "resident", RESIDENT, 2),
            rejected(note.op_id, "resident", RESIDENT),
            applied(name.op_id, "resident", RESIDENT, 3),
            applied(other.op_id, "building", other.record_id, 1),
        ]
    )
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.version == 3
    assert (resident["phone"], resident["name"]) == ("13900000002", "王芳芳")
    assert resident["note"] == "", "the rejected note is not what the server holds"
    assert resident.sync_state == "rejected"
    [problem] = store.problems()
    assert problem.op == note
    building = store.get("building", other.record_id)
    assert building is not None and building.version == 1 and building.sync_state == "synced"
    assert store.pending_count() == 0
    # The pinyin keys follow the confirmed name.
    assert [h.resident.id for h in store.search_residents("wff", day=TODAY)] == [RESIDENT]


def test_an_answer_repeated_in_one_list_counts_once(store: Store) -> None:
    seed(store)
    op = store.update("house", HOUSE, {"room": "101A"}, user_id=USER)
    assert op is not None
    store.record_results([applied(op.op_id, "house", HOUSE, 2), rejected(op.op_id, "house", HOUSE)])
    house = store.get("house", HOUSE)
    assert house is not None and house.version == 2 and house["room"] == "101A"
    assert store.problems() == [] and store.pending_count() == 0


def test_more_answers_than_one_query_binds(store: Store) -> None:
    store.meta.scope = [GRID]
    with store.transaction():
        ops = [
            store.create("building", {"grid_id": GRID, "name": f"{i}号楼"}, user_id=USER)
            for i in range(1_203)
        ]
    store.record_results([applied(op.op_id, "building", op.record_id, 1) for op in ops])
    assert store.pending_count() == 0
    versions = store.db.execute("SELECT DISTINCT version FROM building").fetchall()
    assert versions == [(1,)]
    assert row_count(store, "server_shadow") == 1_203


# --- a pull's pages ----------------------------------------------------------------------------


def test_page_mixing_records_with_and_without_pending_edits(store: Store) -> None:
    seed(store)
    edit = store.update("resident", RESIDENT, {"phone": "13900000002"}, user_id=USER)
    assert edit is not None
    newcomer = "00000000-0000-4000-8000-0000000000c9"
    result = store.apply_pull(
        page(
            state("resident", RESIDENT, 2, name="王芳(更正)", phone="13800000001"),
            state("house", HOUSE, 2, grid_id=GRID, building_id=BUILDING, room="101A"),
            state("house", OTHER_HOUSE, grid_id=GRID, building_id=BUILDING, room="102"),
            state("resident", newcomer, name="曾小明", id_number=id_number(seq="246")),
            state("binding", BINDING, 2, deleted=True, resident_id=RESIDENT, house_id=HOUSE),
            state("building", BUILDING, 0, grid_id=GRID, name="旧名"),  # older than held
            cursor="c2",
        )
    )
    assert result.received == 5
    resident = store.get("resident", RESIDENT)
    assert resident is not None and resident.sync_state == "pending"
    assert (resident["name"], resident["phone"]) == ("王芳(更正)", "13900000002")
    assert store.pending_ops() == [edit]
    assert [h["room"] for h in store.houses_in_grid(GRID)] == ["101A", "102"]
    house = store.get("house", HOUSE)
    assert house is not None and house.version == 2
    assert store.get("binding", BINDING) is None
    assert records.read_shadow(store.db, "binding", BINDING) is None
    building = store.get("building", BUILDING)
    assert building is not None and building["name"] == "8号楼"
    # Search keys are written with the bulk rows: both readings of 曾 find the newcomer.
    for text in ("zxm", "cxm", "zengxiaoming"):
        assert [h.resident.id for h in store.search_residents(text, day=TODAY)] == [newcomer]
    shadow = records.read_shadow(store.db, "house", OTHER_HOUSE)
    assert shadow is not None and shadow.snapshot.values["room"] == "102"


def test_two_states_of_one_record_in_a_page_keep_the_later(store: Store) -> None:
    seed(store)
    result = store.apply_pull(
        page(
            state("house", HOUSE, 3, grid_id=GRID, building_id=BUILDING, room="C"),
            state("house", HOUSE, 2, grid_id=GRID, building_id=BUILDING, room="B"),
            state("house", OTHER_HOUSE, 1, deleted=True, grid_id=GRID, building_id=BUILDING),
            state("house", OTHER_HOUSE, 2, grid_id=GRID, building_id=BUILDING, room="102"),
        )
    )
    assert result.received == 3, "the older state of HOUSE is ignored"
    rooms = {h.id: (h.version, h["room"]) for h in store.houses_in_grid(GRID)}
    assert rooms == {HOUSE: (3, "C"), OTHER_HOUSE: (2, "102")}
    assert row_count(store, "server_shadow") == 6


def test_a_bootstrap_page_larger_than_one_query_binds(store: Store) -> None:
    houses = [f"00000000-0000-4000-8000-{i:012d}" for i in range(1_100)]
    store.apply_pull(
        page(
            state("grid_node", GRID, level=5, code="G5-01", name="一网格", parent_id=None),
            *(state("house", h, grid_id=GRID, room=str(i)) for i, h in enumerate(houses)),
        )
    )
    assert row_count(store, "house") == 1_100 and row_count(store, "server_shadow") == 1_101
    # A second page repeating them with one tombstone: versions held are compared in bulk.
    result = store.apply_pull(
        page(
            *(state("house", h, grid_id=GRID, room=str(i)) for i, h in enumerate(houses)),
            state("house", houses[0], 2, deleted=True),
            cursor="c2",
        )
    )
    assert result.received == 1_101
    assert row_count(store, "house") == 1_099 and store.get("house", houses[0]) is None
