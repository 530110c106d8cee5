"""ID numbers (GB 11643), mainland mobile numbers and landlines: known-good and known-bad values."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import FieldError
from shared.messages import message_zh
from shared.validation import (
    IdNumberInfo,
    id_check_char,
    mask_id_number,
    mask_phone,
    normalize_id_number,
    normalize_mobile,
    normalize_phone,
    parse_id_number,
    upgrade_old_id,
)

# Published examples with correct check characters (GB 11643-1999 annex and common references).
GOOD_IDS = [
    ("11010519491231002X", date(1949, 12, 31), "F"),
    ("440524188001010014", date(1880, 1, 1), "M"),
    ("350128199003074519", date(1990, 3, 7), "M"),
]

# The caller's today (shared/ never reads the wall clock); any fixed day will do.
TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(("raw", "birth", "sex"), GOOD_IDS)
def test_valid_id_numbers_give_birth_date_and_sex(raw: str, birth: date, sex: str) -> None:
    info = parse_id_number(raw, today=TODAY)
    assert isinstance(info, IdNumberInfo)
    assert info.birth_date == birth
    assert info.sex == sex


def test_lowercase_x_and_spaces_are_accepted_and_normalised() -> None:
    info = parse_id_number(" 11010519491231002x ", today=TODAY)
    assert isinstance(info, IdNumberInfo)
    assert info.id_number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("11010519491231002", "id_length"),
        ("1101051949123100211", "id_length"),
        ("11010519491231002Y", "id_characters"),
        ("A1010519491231002X", "id_characters"),
        ("00010519491231002X", "id_region"),
        ("110105194902300028", "id_birth_date"),  # 30 February
        ("110105209912310025", "id_birth_date"),  # born in the future
        ("110105194912310021", "id_check_digit"),
    ],
)
def test_bad_id_numbers_name_the_field_and_the_reason(raw: str, code: str) -> None:
    error = parse_id_number(raw, field="身份证号", today=date(2026, 11, 28))
    assert isinstance(error, FieldError)
    assert error.code == code
    assert error.field == "身份证号"
    assert error.message


def test_check_digit_error_says_what_it_should_be_in_chinese() -> None:
    error = parse_id_number("110105194912310021", today=TODAY)
    assert isinstance(error, FieldError)
    assert error.params == {"got": "1", "expected": "X"}
    assert message_zh(error) == "身份证号校验位为1，应为X，可能有数字输错"


@given(st.from_regex(r"35012819[5-9]\d(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}", fullmatch=True))
def test_any_17_digits_with_their_computed_check_char_are_valid(first17: str) -> None:
    assert isinstance(parse_id_number(first17 + id_check_char(first17), today=TODAY), IdNumberInfo)


@given(
    st.from_regex(r"35012819[5-9]\d(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])\d{3}", fullmatch=True),
    st.integers(0, 16),
    st.integers(1, 9),
)
def test_any_single_digit_typo_is_caught(first17: str, position: int, delta: int) -> None:
    good = first17 + id_check_char(first17)
    typo = good[:position] + str((int(good[position]) + delta) % 10) + good[position + 1 :]
    result = parse_id_number(typo, today=TODAY)
    assert isinstance(result, FieldError)


def test_age_counts_the_birthday() -> None:
    info = parse_id_number("350128199003074519", today=TODAY)
    assert isinstance(info, IdNumberInfo)
    assert info.age_on(date(2026, 3, 6)) == 35
    assert info.age_on(date(2026, 3, 7)) == 36


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-19912345678", "19912345678"),
        ("166-1234-5678", "16612345678"),
    ],
)
def test_valid_mobiles_are_normalised(raw: str, normalised: str) -> None:
    assert normalize_mobile(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("1381234567", "phone_length"),
        ("138123456789", "phone_length"),
        ("12812345678", "phone_prefix"),
        ("0591-8765-4321", "phone_length"),
        ("05918765432", "phone_prefix"),
        ("138abc45678", "phone_characters"),
    ],
)
def test_bad_mobiles_name_the_field_and_the_reason(raw: str, code: str) -> None:
    error = normalize_mobile(raw, field="phone")
    assert isinstance(error, FieldError)
    assert (error.field, error.code) == ("phone", code)
    assert message_zh(error).startswith("手机号")


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0591-87654321", "0591-87654321"),
        ("0591 87654321", "0591-87654321"),
        ("059187654321", "0591-87654321"),
        ("(0591)87654321", "0591-87654321"),
        ("（0591）8765-4321", "0591-87654321"),
        ("+86 591 87654321", "0591-87654321"),
        ("010-62345678", "010-62345678"),
        ("021 6543 2100", "021-65432100"),
        ("87654321", "87654321"),
        ("8765432", "8765432"),
        ("0591-87654321转8001", "0591-87654321转8001"),
        ("0591-87654321-8001", "0591-87654321转8001"),
        ("87654321 ext 12", "87654321转12"),
        ("０５９１－８７６５４３２１", "0591-87654321"),
    ],
)
def test_contact_numbers_are_mobiles_or_landlines(raw: str, normalised: str) -> None:
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("12345", "phone_length"),  # starts with 1: judged as a mobile
        ("12812345678", "phone_prefix"),
        ("2345", "phone_format"),
        ("0591-123", "phone_format"),
        ("0591-07654321", "phone_format"),  # a local number never starts with 0
        ("电话", "phone_format"),
    ],
)
def test_bad_contact_numbers_name_the_field_and_the_reason(raw: str, code: str) -> None:
    error = normalize_phone(raw, field="phone")
    assert isinstance(error, FieldError)
    assert (error.field, error.code) == ("phone", code)
    assert message_zh(error)


def test_masks_show_only_what_a_list_needs() -> None:
    assert mask_id_number("350128199003074519") == "**************4519"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number(None) == ""


def test_every_rejection_code_the_server_sends_has_chinese_text() -> None:
    from shared.messages import ZH

    server_codes = {
        "out_of_scope", "unbound_resident", "unknown_reference", "grid_level", "no_such_record",
        "not_device_writable", "not_device_creatable", "date_order", "not_a_set", "unknown_field",
        "wrong_author", "bad_clock", "constraint", "too_large", "missing_base", "missing_clock",
        "required", "choice", "too_long", "date_format", "phone_length", "id_check_digit",
    }  # fmt: skip
    assert server_codes <= set(ZH)
    assert (
        message_zh(FieldError("phone", "too_long", "x", {"max": 20}))
        == "手机号过长（最多20个字符）"
    )


def test_full_width_digits_apostrophes_and_spaces_are_the_same_number() -> None:
    # What the importer, the API and the app all get: one normaliser (issue: ３５ is Fujian).
    for typed in (
        "３５０１２８１９９００３０７４５１９",
        "'350128199003074519",
        "3501 2819 9003 0745 19",
    ):
        info = parse_id_number(typed, today=TODAY)
        assert isinstance(info, IdNumberInfo), typed
        assert info.id_number == "350128199003074519" and info.converted_from is None
    assert normalize_id_number("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_an_old_15_digit_number_becomes_its_18_digits() -> None:
    info = parse_id_number("350128900307451", today=TODAY)
    assert isinstance(info, IdNumberInfo)
    assert info.id_number == upgrade_old_id("350128900307451")
    assert info.id_number[:17] == "35012819900307451"
    assert info.id_number[17] == id_check_char("35012819900307451")
    assert info.converted_from == "350128900307451"
    assert info.birth_date == date(1990, 3, 7) and info.sex == "M"


@pytest.mark.parametrize(
    "damaged",
    [
        350128199003074519,  # a number cell: Excel keeps 15 digits of it
        3.50128199003074e17,
        "3.50128E+17",  # a CSV saved by Excel
        "350128199003074519.0",
        "350128199003074000",  # the last three digits cut to zeros
    ],
)
def test_a_number_excel_has_damaged_is_told_as_such(damaged: object) -> None:
    error = parse_id_number(damaged, today=TODAY)
    assert isinstance(error, FieldError) and error.code == "id_numeric_cell", error
    assert "Excel" in message_zh(error)
