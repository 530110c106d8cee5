"""The one set of value rules the phone and the server share."""

from __future__ import annotations

from datetime import date, timedelta

from shared.messages import ZH
from shared.records import check_values

# The caller's today (shared/ never reads the wall clock); any fixed day will do.
TODAY = date(2026, 11, 28)


def test_chinese_labels_are_stored_as_their_values() -> None:
    values, errors = check_values(
        "resident",
        {"residence_status": "流动", "tags": ["独居老人", "残疾", "独居老人"]},
        creating=False,
        today=TODAY,
    )
    assert errors == []
    assert values == {"residence_status": "floating", "tags": ["disabled", "elderly_alone"]}


def test_a_new_resident_needs_name_and_id_number_and_every_problem_is_listed() -> None:
    _, errors = check_values("resident", {"phone": "12345"}, creating=True, today=TODAY)
    assert sorted((e.field, e.code) for e in errors) == [
        ("id_number", "required"),
        ("name", "required"),
        ("phone", "phone_length"),
    ]


def test_move_out_before_move_in_is_refused() -> None:
    _, errors = check_values(
        "binding",
        {"start_date": "2026-05-01", "end_date": "2026-04-30"},
        creating=False,
        today=TODAY,
    )
    assert [(e.field, e.code) for e in errors] == [("end_date", "date_order")]


def test_a_move_out_is_dated_today_at_the_latest() -> None:
    today = TODAY.isoformat()
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    _, errors = check_values("binding", {"end_date": tomorrow}, creating=False, today=TODAY)
    assert [(e.field, e.code) for e in errors] == [("end_date", "future_date")]
    assert ZH["future_date"].format(**errors[0].params) == f"迁出日期不能晚于今天（{today}）"
    values, errors = check_values("binding", {"end_date": today}, creating=False, today=TODAY)
    assert (values, errors) == ({"end_date": today}, [])


def test_devices_cannot_edit_the_grid_but_an_admin_can() -> None:
    _, errors = check_values("grid_node", {"name": "新网格"}, creating=False, today=TODAY)
    assert [e.code for e in errors] == ["not_device_writable"]
    values, errors = check_values(
        "grid_node", {"name": "新网格"}, creating=False, today=TODAY, from_device=False
    )
    assert (values, errors) == ({"name": "新网格"}, [])


def test_unknown_fields_and_overlong_notes_are_named() -> None:
    _, errors = check_values(
        "resident", {"age": 3, "note": "长" * 2001}, creating=False, today=TODAY
    )
    assert sorted((e.field, e.code) for e in errors) == [
        ("age", "unknown_field"),
        ("note", "too_long"),
    ]


def test_a_nul_character_is_refused_before_any_database_sees_it() -> None:
    _, errors = check_values("resident", {"note": "门口\x00遇到"}, creating=False, today=TODAY)
    assert [(e.field, e.code) for e in errors] == [("note", "invalid_characters")]
