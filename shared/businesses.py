"""Businesses (商户) and the checklist sweep (排查整治): the rules, once, for server and phone.

- A business is a place kind in a level-5 grid: a name, a type from the admin-managed list
  (`business_type`), an optional licence number (`check_licence`: the 18-character unified social
  credit code, GB 32100-2015, or the older 15-digit registration number, each with its check
  character), a contact (personal) and a status (营业 / 停业 / 注销).
- A checklist item belongs to one business type; a `business_check` is one visit's answers for
  one business in one `business_inspection` campaign: a list of results, one per item, each
  pass / fail / not applicable, a failed one with a note and optionally photos
  (`check_results`). `check_against_checklist` judges the results against the items of the
  business's type, and names the field and the item when one does not belong.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from shared.errors import FieldError
from shared.matters import check_photos
from shared.messages import ZH


class BusinessStatus(StrEnum):
    OPEN = "open"  # 营业
    SUSPENDED = "suspended"  # 停业
    CLOSED = "closed"  # 注销


BUSINESS_STATUS_ZH: dict[str, str] = {"open": "营业", "suspended": "停业", "closed": "注销"}
BUSINESS_STATUS_EN: dict[str, str] = {"open": "open", "suspended": "suspended", "closed": "closed"}


class CheckResult(StrEnum):
    PASS = "pass"  # 合格
    FAIL = "fail"  # 不合格
    NA = "na"  # 不适用


CHECK_RESULT_ZH: dict[str, str] = {"pass": "合格", "fail": "不合格", "na": "不适用"}
CHECK_RESULT_EN: dict[str, str] = {"pass": "pass", "fail": "fail", "na": "not applicable"}

# The business types a new server starts with (code, 中文, English); admins add and retire more.
DEFAULT_BUSINESS_TYPES: tuple[tuple[str, str, str], ...] = (
    ("catering", "餐饮", "Catering"),
    ("lodging", "住宿", "Lodging"),
    ("retail", "商超", "Shops and supermarkets"),
    ("beauty", "理发美容", "Hair and beauty"),
    ("repair", "维修", "Repairs"),
    ("other", "其他", "Other"),
)

TYPE_NAMESPACE = uuid.UUID("0b5e3a8c-2f41-4d7a-9c1e-6a2d8f3b5c70")


def default_type_id(code: str) -> str:
    """The id of a seeded business type (the server's migration 0015 uses the same)."""
    return str(uuid.uuid5(TYPE_NAMESPACE, code))


MAX_RESULTS = 100
MAX_NOTE = 500

# GB 32100-2015: the alphabet (no I, O, Z, S, V), the weights of the first 17 characters.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    """The check character of a unified social credit code's first 17 characters."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def registration_check_digit(first14: str) -> str:
    """The ISO 7064 MOD 11,10 check digit of an old 15-digit registration number (注册号)."""
    product = 10
    for digit in first14:
        total = (int(digit) + product) % 10 or 10
        product = (total * 2) % 11
    return str((11 - product) % 10)


def check_licence(raw: Any, *, field: str = "licence_number") -> str | FieldError:
    """A licence number normalised (upper case, no spaces), or why it is not one."""
    text = "".join(str(raw).split()).upper()
    shown = str(raw)[:40]
    if len(text) == 18:
        if not set(text) <= set(_USCC_ALPHABET):
            return FieldError(
                field,
                "licence_characters",
                f"{shown!r}: a unified social credit code uses digits and capital letters "
                "other than I, O, Z, S and V.",
                {"value": shown},
            )
        expected = uscc_check_char(text[:17])
        if text[17] != expected:
            return FieldError(
                field,
                "licence_check",
                f"{shown!r}: the check character is {text[17]}, it should be {expected}; "
                "a character may be mistyped.",
                {"value": shown, "got": text[17], "expected": expected},
            )
        return text
    if len(text) == 15 and text.isdigit():
        expected = registration_check_digit(text[:14])
        if text[14] != expected:
            return FieldError(
                field,
                "licence_check",
                f"{shown!r}: the check digit is {text[14]}, it should be {expected}; "
                "a digit may be mistyped.",
                {"value": shown, "got": text[14], "expected": expected},
            )
        return text
    return FieldError(
        field,
        "licence_length",
        f"{shown!r} is not a licence number: a unified social credit code has 18 characters, "
        f"an old registration number 15 digits (this has {len(text)}).",
        {"value": shown, "length": len(text)},
    )


def check_results(raw: Any, *, field: str = "results") -> list[dict[str, Any]] | FieldError:
    """A check's results normalised: a list of {item_id, result, note, photos}, each item once;
    a failed item needs a note (what is wrong, which the matter it becomes will say)."""
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        return FieldError(field, "not_a_list", "results must be a list of checklist answers.")
    if not raw:
        return FieldError(field, "required", "a check answers at least one checklist item.")
    if len(raw) > MAX_RESULTS:
        return FieldError(
            field, "too_many_results", f"At most {MAX_RESULTS} answers.", {"max": MAX_RESULTS}
        )
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"{field}[{index}]"
        if not isinstance(entry, Mapping):
            return FieldError(where, "not_an_answer", f"{where} must be an object.")
        unknown = set(entry) - {"item_id", "result", "note", "photos"}
        if unknown:
            return FieldError(
                where, "unknown_field", f"{where} has no field {sorted(unknown)[0]!r}."
            )
        item_id = entry.get("item_id")
        if not isinstance(item_id, str) or not 0 < len(item_id) <= 36:
            return FieldError(f"{where}.item_id", "required", f"{where}.item_id is required.")
        if item_id in seen:
            return FieldError(
                f"{where}.item_id",
                "duplicate",
                f"checklist item {item_id} is answered twice.",
                {"value": item_id},
            )
        seen.add(item_id)
        result = entry.get("result")
        label = _result_value(result)
        if label is None:
            return FieldError(
                f"{where}.result",
                "choice",
                f"{result!r} is not a result; choose one of {', '.join(CHECK_RESULT_ZH)}.",
                {"value": str(result)[:40], "choices": "、".join(CHECK_RESULT_ZH.values())},
            )
        note = entry.get("note") or ""
        if not isinstance(note, str) or "\x00" in note:
            return FieldError(f"{where}.note", "not_text", f"{where}.note must be text.")
        note = note.strip()
        if len(note) > MAX_NOTE:
            return FieldError(
                f"{where}.note",
                "too_long",
                f"{where}.note is longer than {MAX_NOTE} characters.",
                {"max": MAX_NOTE},
            )
        photos = check_photos(entry.get("photos") or [])
        if isinstance(photos, FieldError):
            return FieldError(f"{where}.photos", photos.code, photos.message, photos.params)
        if label == CheckResult.FAIL and not note:
            return FieldError(
                f"{where}.note",
                "fail_needs_note",
                f"{where}: a failed item needs a note saying what is wrong.",
            )
        if label != CheckResult.FAIL and photos:
            photos = []  # photos document a failure; a passed item keeps none
        out.append({"item_id": item_id, "result": label, "note": note, "photos": photos})
    return out


def _result_value(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text in CHECK_RESULT_ZH:
        return text
    for value, zh in CHECK_RESULT_ZH.items():
        if text == zh:
            return value
    return None


# How a business's fields are named where they differ from a resident's (`name` is 姓名 there).
BUSINESS_FIELD_ZH: dict[str, str] = {"name": "商户名称", "address": "地址"}


def worded_for_business(error: FieldError) -> FieldError:
    """The error with its Chinese sentence naming the business's field (商户名称, not 姓名)."""
    label = BUSINESS_FIELD_ZH.get(error.field)
    template = ZH.get(error.code)
    if label is None or template is None:
        return error
    try:
        worded = template.format(field_zh=label, **error.params)
    except (KeyError, IndexError):
        return error
    return FieldError(
        error.field, error.code, error.message, {**error.params, "message_zh": worded}
    )


def check_against_checklist(
    results: Iterable[Mapping[str, Any]], items_of_type: Mapping[str, str]
) -> FieldError | None:
    """The first answer whose item is not in the business type's checklist (`items_of_type`:
    item id -> its code), naming the answer's place in the list and the item."""
    for index, entry in enumerate(results):
        item_id = entry.get("item_id")
        if item_id not in items_of_type:
            return FieldError(
                f"results[{index}].item_id",
                "item_not_in_checklist",
                f"checklist item {item_id} is not on this business type's checklist.",
                {"value": item_id},
            )
    return None


def failed_items(results: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The answers that failed, in the order of the checklist as answered."""
    return [r for r in results if r.get("result") == CheckResult.FAIL]


def is_target(
    business: Mapping[str, Any],
    *,
    grid_chain: Iterable[str],
    campaign_grid_id: str,
    types: Iterable[str],
) -> bool:
    """Whether a business is a target of a business_inspection campaign: live, not struck off
    (注销), in the campaign's subtree (`grid_chain`: the business's grid and its ancestors, as
    `shared.campaigns.lives_under` gives them), and of one of its types (none named: every
    type)."""
    wanted = frozenset(types)
    return (
        not business.get("deleted")
        and business.get("status") != BusinessStatus.CLOSED
        and campaign_grid_id in frozenset(grid_chain)
        and (not wanted or business.get("business_type_id") in wanted)
    )
