"""The three-way field merge: each rule as a doorstep scenario, then the properties it must keep.

In the scenarios the server row is `mine` and a worker's phone sends `theirs` (the fields it
changed) with `base` (what the phone showed before the edit).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ValidationFailed
from shared.hlc import format_ts
from shared.merge import (
    DELETED,
    RECORD,
    FieldConflict,
    MergeRejected,
    MergeResult,
    Snapshot,
    diff_fields,
    merge,
    rebase,
)

T0 = 1_764_339_600_000


def ts(seconds: int, node: str = "phone-a", logical: int = 0) -> str:
    """A timestamp `seconds` after the start of the sweep day."""
    return format_ts(T0 + seconds * 1000, logical, node)


ROW: dict[str, Any] = {
    "name": "张三",
    "id_number": "110101199003074514",
    "phone": "13800000000",
    "residence_status": "permanent",
    "tags": ["elderly_alone"],
    "note": "",
}
ROW_CLOCKS = {name: ts(0, "server") for name in ROW}


def server_row(**changes: Any) -> Snapshot:
    """The server's resident row, optionally after another worker's sync (clocks at +50 s)."""
    clocks = dict(ROW_CLOCKS)
    clocks.update({name: ts(50, "phone-b") for name in changes})
    return Snapshot({**ROW, **changes}, clocks)


def op(clock: str, **changes: Any) -> tuple[Snapshot, Snapshot]:
    """A phone's operation on ROW: (base of the changed fields, the change)."""
    base = Snapshot({name: ROW[name] for name in changes}, {n: ROW_CLOCKS[n] for n in changes})
    return base, Snapshot(changes, {name: clock for name in changes})


def apply(mine: Snapshot, change: tuple[Snapshot, Snapshot]) -> MergeResult:
    base, theirs = change
    return merge("resident", base, mine, theirs)


# --- edits to different fields ---------------------------------------------------------------


def test_worker_a_fixes_the_phone_while_worker_b_adds_a_tag_both_survive() -> None:
    a = op(ts(10, "phone-a"), phone="13912345678")
    # Worker B's phone sends the whole row it saw as the base, so the server can tell that
    # someone else changed the record meanwhile ("merged" rather than "applied").
    b_change = Snapshot({"tags": ["elderly_alone", "disabled"]}, {"tags": ts(20, "phone-b")})
    b = (Snapshot(ROW, ROW_CLOCKS), b_change)
    first = apply(server_row(), a)
    assert first.kind == "applied"
    assert first.changed == {"phone"}
    second = apply(first.snapshot(), b)
    assert second.kind == "merged"
    assert second.changed == {"tags"}
    assert second.values["phone"] == "13912345678"
    assert second.values["tags"] == ["disabled", "elderly_alone"]
    assert second.clocks["phone"] == ts(10, "phone-a")
    assert second.clocks["tags"] == ts(20, "phone-b")
    assert second.conflicts == ()


def test_fields_the_phone_did_not_send_keep_the_servers_values() -> None:
    result = apply(server_row(note="门口有狗"), op(ts(10), phone="13912345678"))
    assert result.values["note"] == "门口有狗"
    assert result.values["name"] == "张三"


def test_server_only_columns_pass_through_untouched() -> None:
    mine = Snapshot({**ROW, "id": "r-1", "version": 7}, ROW_CLOCKS)
    base, theirs = op(ts(10), note="新搬来")
    result = merge("resident", base, mine, theirs)
    assert result.values["id"] == "r-1"
    assert result.values["version"] == 7
    assert result.changed == {"note"}


def test_with_only_the_changed_fields_as_base_an_edit_elsewhere_goes_unnoticed() -> None:
    # "merged" can only be judged over the fields the base holds.
    assert apply(server_row(note="已走访"), op(ts(10), phone="13912345678")).kind == "applied"


def test_a_full_base_shows_the_server_changed_something_else_so_the_merge_is_merged() -> None:
    mine = server_row(note="已走访")
    base = Snapshot(ROW, ROW_CLOCKS)
    theirs = Snapshot({"phone": "13912345678"}, {"phone": ts(10)})
    assert merge("resident", base, mine, theirs).kind == "merged"


# --- the same field on both sides --------------------------------------------------------------


def test_two_workers_record_the_same_new_phone_no_conflict() -> None:
    mine = server_row(phone="13912345678")
    result = apply(mine, op(ts(10), phone="13912345678"))
    assert result.conflicts == ()
    assert result.values["phone"] == "13912345678"
    assert result.changed == frozenset()


def test_two_workers_type_the_same_new_name_no_conflict() -> None:
    result = apply(server_row(name="张珊"), op(ts(10), name="张珊"))
    assert result.kind == "unchanged"
    assert result.conflicts == ()


def test_two_workers_type_different_names_the_admin_decides_and_the_server_name_stays() -> None:
    result = apply(server_row(name="张珊"), op(ts(60), name="张山"))
    assert result.kind == "conflict"
    assert result.has_conflict
    assert result.values["name"] == "张珊"
    assert result.conflicts == (FieldConflict("name", "张三", "张珊", "张山"),)
    assert result.changed == frozenset()


def test_a_name_conflict_does_not_hold_back_the_phone_fixed_in_the_same_visit() -> None:
    result = apply(server_row(name="张珊"), op(ts(60), name="张山", phone="13912345678"))
    assert result.kind == "conflict"
    assert [c.field for c in result.conflicts] == ["name"]
    assert result.values["phone"] == "13912345678"
    assert result.changed == {"phone"}


def test_two_workers_bind_a_resident_to_different_houses_is_a_conflict() -> None:
    base = Snapshot({"resident_id": "r-1", "house_id": "h-101", "relation": "member"})
    mine = Snapshot({**base.values, "house_id": "h-202"}, {"house_id": ts(30, "phone-b")})
    theirs = Snapshot({"house_id": "h-303"}, {"house_id": ts(40, "phone-a")})
    result = merge("binding", base, mine, theirs)
    assert result.conflicts == (FieldConflict("house_id", "h-101", "h-202", "h-303"),)
    assert result.values["house_id"] == "h-202"


def test_two_workers_change_the_phone_the_later_edit_wins_whichever_syncs_first() -> None:
    early = op(ts(10, "phone-a"), phone="13911111111")
    late = op(ts(20, "phone-b"), phone="13922222222")
    for first, second in ((early, late), (late, early)):
        result = apply(apply(server_row(), first).snapshot(), second)
        assert result.values["phone"] == "13922222222"
        assert result.clocks["phone"] == ts(20, "phone-b")
        assert result.conflicts == ()


def test_an_earlier_phone_edit_synced_later_is_superseded_not_silently_dropped() -> None:
    mine = server_row(phone="13922222222")  # another worker's edit at +50 s
    result = apply(mine, op(ts(10), phone="13911111111"))
    assert result.values["phone"] == "13922222222"
    assert result.superseded == {"phone"}
    assert result.kind == "unchanged"


def test_a_later_edit_wins_even_over_a_server_value_equal_to_the_base() -> None:
    # The server row was changed and changed back; the phone's later write still wins because
    # LWW fields are a register ordered by clocks, not by who saw what.
    mine = server_row()
    result = apply(mine, op(ts(10), phone="13911111111"))
    assert result.values["phone"] == "13911111111"
    assert result.kind == "applied"


def test_equal_clocks_break_the_tie_the_same_way_on_every_node() -> None:
    same = ts(10, "phone-a")
    one = Snapshot({"phone": "13911111111"}, {"phone": same})
    other = Snapshot({"phone": "13922222222"}, {"phone": same})
    base = Snapshot({"phone": ROW["phone"]})
    assert (
        merge("resident", base, one, other).values["phone"]
        == merge("resident", base, other, one).values["phone"]
    )


def test_the_same_phone_written_later_moves_the_clock_so_the_server_stores_it() -> None:
    mine = server_row(phone="13912345678")
    result = apply(mine, op(ts(90), phone="13912345678"))
    assert result.values["phone"] == "13912345678"
    assert result.clocks["phone"] == ts(90)
    assert result.kind == "merged"
    assert result.changed == frozenset()


def test_one_worker_marks_elderly_alone_off_while_another_adds_hardship_both_apply() -> None:
    mine = server_row(tags=["elderly_alone", "hardship"])
    result = apply(mine, op(ts(60), tags=[]))
    assert result.values["tags"] == ["hardship"]
    assert result.kind == "merged"


def test_both_workers_add_different_tags_the_union_is_kept_sorted() -> None:
    mine = server_row(tags=["elderly_alone", "left_behind_child"])
    result = apply(mine, op(ts(60), tags=["hardship", "elderly_alone", "disabled"]))
    assert result.values["tags"] == ["disabled", "elderly_alone", "hardship", "left_behind_child"]
    assert result.clocks["tags"] == ts(60)


def test_a_tag_removed_on_the_server_is_not_restored_by_a_phone_that_only_added_one() -> None:
    mine = server_row(tags=[])
    result = apply(mine, op(ts(60), tags=["elderly_alone", "disabled"]))
    assert result.values["tags"] == ["disabled"]


def test_reordered_tags_are_not_a_change() -> None:
    mine = server_row(tags=["disabled", "elderly_alone"])
    result = apply(mine, op(ts(60), tags=["elderly_alone"]))  # same set as the base
    assert result.kind == "unchanged"
    base = Snapshot({"tags": ["elderly_alone", "disabled"]})
    theirs = Snapshot({"tags": ["disabled", "elderly_alone"]}, {"tags": ts(60)})
    assert merge("resident", base, mine, theirs).kind == "unchanged"


# --- deletion --------------------------------------------------------------------------------


def test_deleting_a_resident_nobody_else_touched_is_applied() -> None:
    base = Snapshot(ROW, ROW_CLOCKS)
    result = merge("resident", base, server_row(), Snapshot({}, deleted=True))
    assert result.kind == "applied"
    assert result.deleted
    assert result.values == ROW  # the tombstone keeps the last values for history


def test_deleting_a_resident_another_worker_just_edited_is_a_delete_conflict() -> None:
    base = Snapshot(ROW, ROW_CLOCKS)
    result = merge("resident", base, server_row(phone="13912345678"), Snapshot({}, deleted=True))
    assert result.kind == "delete_conflict"
    assert result.has_conflict
    assert not result.deleted
    assert result.conflicts == (FieldConflict(DELETED, False, False, True),)
    assert result.values["phone"] == "13912345678"


def test_editing_a_resident_someone_deleted_is_a_delete_conflict_and_it_stays_deleted() -> None:
    mine = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    result = apply(mine, op(ts(60), phone="13912345678"))
    assert result.kind == "delete_conflict"
    assert result.deleted
    assert result.conflicts == (FieldConflict(DELETED, False, True, False),)
    assert result.values == ROW


def test_deleting_twice_changes_nothing() -> None:
    base = Snapshot(ROW, ROW_CLOCKS)
    mine = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    assert merge("resident", base, mine, Snapshot({}, deleted=True)).kind == "unchanged"


def test_a_no_op_sent_for_a_deleted_resident_changes_nothing() -> None:
    mine = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    assert apply(mine, op(ts(60), phone=ROW["phone"])).kind == "unchanged"


def test_restoring_a_wrongly_deleted_resident_undeletes_and_applies_the_fix() -> None:
    base = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    mine = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    theirs = Snapshot({"residence_status": "away"}, {"residence_status": ts(60)})
    result = merge("resident", base, mine, theirs)
    assert not result.deleted
    assert result.values["residence_status"] == "away"
    assert result.kind == "applied"


def test_a_delete_of_a_record_already_deleted_in_base_ignores_what_the_server_did() -> None:
    base = Snapshot(ROW, ROW_CLOCKS, deleted=True)
    mine = Snapshot(ROW, ROW_CLOCKS)  # an admin restored it
    assert merge("resident", base, mine, Snapshot({}, deleted=True)).kind == "unchanged"


# --- creation --------------------------------------------------------------------------------


def test_a_tenant_found_at_the_door_is_created_as_entered() -> None:
    theirs = Snapshot(
        {"name": "李四", "phone": "13700000000", "tags": ["hardship", "disabled", "hardship"]}
    )
    result = merge("resident", None, None, theirs, theirs_clock=ts(5))
    assert result.kind == "applied"
    assert result.values == {
        "name": "李四",
        "phone": "13700000000",
        "tags": ["disabled", "hardship"],
    }
    assert result.clocks == {"name": ts(5), "phone": ts(5), "tags": ts(5)}
    assert result.changed == {"name", "phone", "tags"}
    assert not result.deleted


def test_two_phones_create_the_same_record_agreeing_fields_merge_differing_names_conflict() -> None:
    mine = Snapshot(
        {"name": "王五", "phone": "13700000000", "tags": ["disabled"], "note": None},
        {"name": ts(5, "phone-b"), "phone": ts(5, "phone-b"), "tags": ts(5, "phone-b")},
    )
    theirs = Snapshot(
        {"name": "王伍", "phone": "13700000000", "tags": ["hardship"], "note": "二楼"}
    )
    result = merge("resident", None, mine, theirs, theirs_clock=ts(9, "phone-a"))
    assert result.conflicts == (FieldConflict("name", None, "王五", "王伍"),)
    assert result.values["phone"] == "13700000000"
    assert result.values["tags"] == ["disabled", "hardship"]
    assert result.values["note"] == "二楼"


# --- idempotence and rebase ------------------------------------------------------------------


def test_resending_the_same_change_after_a_lost_reply_changes_nothing_further() -> None:
    change = op(ts(60), phone="13912345678", tags=["disabled"])
    first = apply(server_row(), change)
    second = apply(first.snapshot(), change)
    assert second.kind == "unchanged"
    assert second.values == first.values
    assert second.clocks == first.clocks


def test_a_change_equal_to_the_server_row_is_unchanged() -> None:
    mine = server_row(phone="13912345678")
    assert merge("resident", Snapshot(ROW, ROW_CLOCKS), mine, mine).kind == "unchanged"


def test_the_phone_previews_what_the_server_will_hold_after_a_pull() -> None:
    pulled = server_row(name="张珊", tags=["elderly_alone", "hardship"])
    pending = [op(ts(10), phone="13912345678"), op(ts(11), tags=["disabled"])]
    state: Snapshot | None = pulled
    results = []
    for base, theirs in pending:
        result = rebase("resident", base, state, theirs)
        results.append(result)
        state = result.snapshot()
    assert state is not None
    assert state.values["name"] == "张珊"
    assert state.values["phone"] == "13912345678"
    assert state.values["tags"] == ["disabled", "hardship"]
    # The server, applying the same operations to the same row, ends in the same state.
    server = pulled
    for base, theirs in pending:
        server = merge("resident", base, server, theirs).snapshot()
    assert server == state


def test_diff_fields_gives_old_and_new_values() -> None:
    before = {"phone": "138", "note": None, "name": "张三"}
    after = {"phone": "139", "name": "张三", "tags": ["disabled"]}
    assert diff_fields(before, after) == {"phone": ("138", "139"), "tags": (None, ["disabled"])}
    assert diff_fields(before, before) == {}


# --- rejections ------------------------------------------------------------------------------


def _rejected(code: str, field: str, call: Any) -> None:
    with pytest.raises(MergeRejected) as info:
        call()
    assert isinstance(info.value, ValidationFailed)
    assert (info.value.code, info.value.field) == (code, field)
    assert info.value.errors[0].message.endswith(".")


def test_a_field_the_schema_does_not_know_is_rejected_by_name() -> None:
    theirs = Snapshot({"shoe_size": 42}, {"shoe_size": ts(1)})
    _rejected(
        "unknown_field",
        "shoe_size",
        lambda: merge("resident", Snapshot({"shoe_size": 41}), server_row(), theirs),
    )


def test_a_phone_cannot_rename_a_grid_but_an_admin_can() -> None:
    base = Snapshot({"name": "一网格"})
    mine = Snapshot({"name": "一网格", "code": "G1"})
    theirs = Snapshot({"name": "二网格"})
    _rejected("not_device_writable", "name", lambda: merge("grid_node", base, mine, theirs))
    result = merge("grid_node", base, mine, theirs, from_device=False)
    assert result.values["name"] == "二网格"


def test_a_phone_cannot_create_a_grid() -> None:
    _rejected("not_device_creatable", RECORD, lambda: merge("grid_node", None, None, Snapshot({})))
    assert merge("grid_node", None, None, Snapshot({}), from_device=False).kind == "applied"


def test_a_change_without_its_base_value_is_rejected() -> None:
    theirs = Snapshot({"phone": "13912345678"}, {"phone": ts(1)})
    _rejected(
        "missing_base", "phone", lambda: merge("resident", Snapshot({}), server_row(), theirs)
    )


def test_a_last_writer_wins_change_without_a_clock_is_rejected() -> None:
    base, theirs = op(ts(1), phone="13912345678")
    unclocked = Snapshot(theirs.values)
    _rejected("missing_clock", "phone", lambda: merge("resident", base, server_row(), unclocked))
    _rejected("missing_clock", "phone", lambda: merge("resident", None, None, unclocked))


def test_a_malformed_clock_is_rejected() -> None:
    base, theirs = op("yesterday", phone="13912345678")
    _rejected("bad_clock", "phone", lambda: merge("resident", base, server_row(), theirs))
    _rejected(
        "bad_clock",
        "clock",
        lambda: merge("resident", base, server_row(), Snapshot({}), theirs_clock="now"),
    )


@pytest.mark.parametrize("bad", ["disabled", [1, 2], {"disabled": True}, 7])
def test_tags_that_are_not_a_list_of_strings_are_rejected(bad: Any) -> None:
    base, theirs = op(ts(1), tags=bad)
    _rejected("not_a_set", "tags", lambda: merge("resident", base, server_row(), theirs))


def test_an_unknown_entity_is_rejected() -> None:
    _rejected("unknown_entity", "entity", lambda: merge("spaceship", None, None, Snapshot({})))


def test_an_edit_of_a_record_the_server_never_had_is_rejected() -> None:
    base, theirs = op(ts(1), phone="13912345678")
    _rejected("no_such_record", RECORD, lambda: merge("resident", base, None, theirs))


# --- properties ------------------------------------------------------------------------------

NAMES = ["张三", "李四", "王五", None]
PHONES = ["13800000000", "13911111111", "13722222222", None]
NOTES = ["", "独居", "门口有狗"]
TAGS = ["elderly_alone", "disabled", "hardship", "left_behind_child"]
TAG_SETS: st.SearchStrategy[list[str]] = st.lists(st.sampled_from(TAGS), unique=True).map(sorted)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.sampled_from(NAMES),
    "id_number": st.sampled_from(["110101199003074514", "11010119900307451X"]),
    "phone": st.sampled_from(PHONES),
    "note": st.sampled_from(NOTES),
    "tags": TAG_SETS,
}
LWW_FIELDS = {"phone", "note"}


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    return {name: draw(values) for name, values in FIELDS.items()}


@st.composite
def edits(draw: st.DrawFn, row: dict[str, Any], fields: set[str] | None = None) -> dict[str, Any]:
    """Changes to some of `fields` (all by default), each different from `row`."""
    allowed = sorted(fields if fields is not None else FIELDS)
    chosen = draw(st.lists(st.sampled_from(allowed), unique=True)) if allowed else []
    return {name: draw(FIELDS[name].filter(differs_from(name, row[name]))) for name in chosen}


def differs_from(name: str, current: Any) -> Callable[[Any], bool]:
    """A filter for values that are a real change of `current` (tags compare as sets)."""

    def key(value: Any) -> Any:
        return frozenset(value or ()) if name == "tags" else value

    return lambda value: bool(key(value) != key(current))


clocks_after_base = st.integers(min_value=1, max_value=1000)
devices = st.sampled_from(["phone-a", "phone-b", "phone-c"])


def make_op(row: dict[str, Any], changes: dict[str, Any], clock: str) -> tuple[Snapshot, Snapshot]:
    return Snapshot({n: row[n] for n in changes}), Snapshot(changes, {n: clock for n in changes})


def base_snapshot(row: dict[str, Any]) -> Snapshot:
    return Snapshot(row, {n: ts(0, "server") for n in row})


@given(st.data())
def test_merging_the_servers_own_state_is_unchanged(data: st.DataObject) -> None:
    base = data.draw(rows())
    mine_row = {**base, **data.draw(edits(base))}
    mine = Snapshot(mine_row, {n: ts(data.draw(clocks_after_base)) for n in mine_row})
    assert merge("resident", base_snapshot(base), mine, mine).kind == "unchanged"


@given(st.data())
def test_applying_the_same_change_twice_changes_nothing_further(data: st.DataObject) -> None:
    base = data.draw(rows())
    server = {**base, **data.draw(edits(base))}
    mine = Snapshot(server, {n: ts(data.draw(clocks_after_base), "phone-b") for n in server})
    deleting = data.draw(st.booleans())
    if deleting:
        change = (base_snapshot(base), Snapshot({}, deleted=True))
    else:
        change = make_op(base, data.draw(edits(base)), ts(data.draw(clocks_after_base)))
    first = merge("resident", change[0], mine, change[1])
    second = merge("resident", change[0], first.snapshot(), change[1])
    assert (second.values, second.clocks, second.deleted) == (
        first.values,
        first.clocks,
        first.deleted,
    )
    # A conflict is reported again (the admin has not resolved it yet), nothing else is.
    assert second.conflicts == first.conflicts
    assert second.kind == (first.kind if first.has_conflict else "unchanged")


@given(st.data())
def test_edits_to_different_fields_commute(data: st.DataObject) -> None:
    base = data.draw(rows())
    a_fields = set(data.draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True)))
    a = make_op(base, data.draw(edits(base, a_fields)), ts(data.draw(clocks_after_base), "a"))
    b_changes = data.draw(edits(base, set(FIELDS) - a_fields))
    b = make_op(base, b_changes, ts(data.draw(clocks_after_base), "b"))
    server = base_snapshot(base)
    ab = merge("resident", b[0], merge("resident", a[0], server, a[1]).snapshot(), b[1])
    ba = merge("resident", a[0], merge("resident", b[0], server, b[1]).snapshot(), a[1])
    assert ab.values == ba.values
    assert ab.clocks == ba.clocks
    assert ab.values == {**base, **a[1].values, **b[1].values}
    assert ab.conflicts == ba.conflicts == ()


@given(st.data())
def test_two_phones_last_writer_wins_fields_converge_in_either_sync_order(
    data: st.DataObject,
) -> None:
    base = data.draw(rows())
    node_a, node_b = "phone-a", "phone-b"
    a = make_op(base, data.draw(edits(base, LWW_FIELDS)), ts(data.draw(clocks_after_base), node_a))
    b = make_op(base, data.draw(edits(base, LWW_FIELDS)), ts(data.draw(clocks_after_base), node_b))
    server = base_snapshot(base)
    ab = merge("resident", b[0], merge("resident", a[0], server, a[1]).snapshot(), b[1])
    ba = merge("resident", a[0], merge("resident", b[0], server, b[1]).snapshot(), a[1])
    assert (ab.values, ab.clocks) == (ba.values, ba.clocks)
    for name in LWW_FIELDS:
        writes = [(s.clocks[name], s.values[name]) for _, s in (a, b) if name in s.values]
        if writes:  # the write with the latest clock is the one that stays
            assert ab.values[name] == max(writes)[1]


@given(st.data())
def test_tag_additions_and_removals_of_both_phones_all_apply(data: st.DataObject) -> None:
    base = data.draw(rows())
    a_tags = data.draw(TAG_SETS)
    b_tags = data.draw(TAG_SETS)
    a = make_op(base, {"tags": a_tags}, ts(data.draw(clocks_after_base), "a"))
    b = make_op(base, {"tags": b_tags}, ts(data.draw(clocks_after_base), "b"))
    server = base_snapshot(base)
    ab = merge("resident", b[0], merge("resident", a[0], server, a[1]).snapshot(), b[1])
    ba = merge("resident", a[0], merge("resident", b[0], server, b[1]).snapshot(), a[1])
    before, in_a, in_b = set(base["tags"]), set(a_tags), set(b_tags)
    expected = (before | (in_a - before) | (in_b - before)) - (before - in_a) - (before - in_b)
    assert ab.values["tags"] == ba.values["tags"] == sorted(expected)


@settings(max_examples=300)
@given(st.data())
def test_no_edit_is_silently_lost(data: st.DataObject) -> None:
    base = data.draw(rows())
    mine_row = {**base, **data.draw(edits(base))}
    mine_clocks = {n: ts(data.draw(clocks_after_base), "phone-b") for n in mine_row}
    mine = Snapshot(mine_row, mine_clocks, deleted=data.draw(st.booleans()))
    changes = data.draw(edits(base))
    clock = ts(data.draw(clocks_after_base), "phone-a")
    op_base, theirs = make_op(base, changes, clock)
    result = merge("resident", op_base, mine, theirs)

    conflicted = {c.field for c in result.conflicts}
    if DELETED in conflicted:
        assert result.values == mine_row  # nothing applied; the admin sees the whole operation
        return
    for name, value in changes.items():
        got = result.values[name]
        if name == "tags":  # theirs' additions are in, theirs' removals are out
            assert set(value) - set(base["tags"]) <= set(got)
            assert not (set(base["tags"]) - set(value)) & set(got)
        elif got != value:
            assert name in conflicted or name in result.superseded
            if name in result.superseded:
                assert (mine_clocks[name], str(mine_row[name])) >= (clock, str(value))
    for name in mine_row.keys() - changes.keys():
        assert result.values[name] == mine_row[name]  # what theirs did not touch stays mine's
