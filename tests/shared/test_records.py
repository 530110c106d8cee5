"""The one set of value rules the phone and the server share."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.messages import ZH, message_zh
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


@pytest.mark.parametrize("entity, name", [("visit", "visited_at"), ("outcome", "recorded_at")])
@pytest.mark.parametrize(
    "sent",
    [
        "2026-11-28T23:30+08:00",  # China time with its offset (what older apps send)
        "2026-11-28T15:30:00Z",
        "2026-11-28T10:30:00-05:00",  # a phone in New York
        "2026-11-28 23:30",  # no zone: China time
        datetime(2026, 11, 28, 10, 30, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 11, 28, 23, 30),  # naive: China time
    ],
)
def test_a_time_is_stored_as_its_utc_instant_whatever_zone_it_came_in(
    entity: str, name: str, sent: object
) -> None:
    values, errors = check_values(entity, {name: sent}, creating=False, today=TODAY)
    assert errors == [] and values == {name: "2026-11-28T15:30:00.000Z"}


@pytest.mark.parametrize(
    "sent, code",
    [
        ("9999-06-01T10:00+08:00", "datetime_range"),
        ("9999-12-31T23:59-08:00", "datetime_range"),  # overflows once moved to UTC
        ("0001-01-01T00:00+08:00", "datetime_range"),
        ("1999-12-31T23:59+08:00", "datetime_range"),
        ("2026-11-30T00:00+08:00", "datetime_range"),  # the day after tomorrow
        ("nonsense", "datetime_format"),
        ("23:30", "datetime_format"),
        ("2026-11-28T25:00+08:00", "datetime_format"),
        ("2026-11-28T23:30+24:00", "datetime_format"),
        (1764343800, "datetime_format"),
        (True, "datetime_format"),
        (["2026-11-28T23:30+08:00"], "datetime_format"),
        ("2026-11-28T23:30+08:00" + "x" * 100_000, "datetime_format"),
    ],
)
def test_a_time_that_is_no_plausible_time_gets_a_clear_field_error(sent: object, code: str) -> None:
    _, errors = check_values("visit", {"visited_at": sent}, creating=False, today=TODAY)
    [error] = errors
    assert (error.field, error.code) == ("visited_at", code)
    assert len(error.message) < 200, "a hostile value is not echoed back whole"
    zh = message_zh(error)
    assert zh.startswith("走访时间“") and zh != error.message
    if code == "datetime_range":
        assert "2000-01-01至2026-11-29" in zh


def test_the_last_moment_of_tomorrow_is_still_a_plausible_time() -> None:
    # A phone's clock a little fast is no reason to refuse a visit; a day is the margin.
    values, errors = check_values(
        "visit", {"visited_at": "2026-11-29T23:59:59+08:00"}, creating=False, today=TODAY
    )
    assert errors == [] and values["visited_at"] == "2026-11-29T15:59:59.000Z"
