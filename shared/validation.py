"""Validators for residents' identity data: ID numbers (GB 11643-1999) and contact numbers
(mainland mobiles and landlines).

Each validator returns a normalised value or a `FieldError` naming the field and saying why; the
server, the importer and the app all call these, so one rule holds everywhere.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from shared.errors import FieldError

# GB 11643-1999: weights of the first 17 digits, and the check character for each sum mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# Province-level codes (GB/T 2260), the first two digits of every valid ID number.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
        "65", "71", "81", "82", "83", "91",
    }
)  # fmt: skip
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# A landline: an optional area code (010, 02x, or 0 and three digits), a local number of 7-8
# digits that never starts with 0 or 1, and an optional extension (转8001, -8001, ext 8001, #8001).
_LANDLINE = re.compile(
    r"^(?:(0(?:10|2\d|[3-9]\d{2}))-?)?([2-9]\d{6,7})(?:(?:-|转|ext\.?|x|#)(\d{1,6}))?$"
)
_AREA_IN_PARENS = re.compile(r"^\((\+?\d+)\)")


@dataclass(frozen=True)
class IdNumberInfo:
    """What an 18-character ID number says about its holder."""

    id_number: str
    birth_date: date
    sex: str  # "M" or "F"
    region_code: str
    # An old 15-digit number, as given, when `id_number` is its 18-digit form (GB 11643).
    converted_from: str | None = None

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(first17) != len(_WEIGHTS):
        raise ValueError("the check character is of the first 17 digits")
    total = sum(map(operator.mul, map(int, first17), _WEIGHTS))
    return _CHECK_CHARS[total % 11]


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+?\d+$")
_FLOAT_TEXT = re.compile(r"^\d{15,18}\.0+$")
_OLD_ID = re.compile(r"^\d{15}$")


def normalize_id_number(raw: object) -> str:
    """An ID number as typed, pasted or exported, in the one form it is kept in: full-width
    characters folded (NFKC: `３５０…` is `350…`), spaces and a leading apostrophe (Excel's way to
    keep digits as text) dropped, a lowercase x upper-cased."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return "".join(text.split()).lstrip("'").upper()


def excel_damage(raw: object, *, field: str = "id_number") -> FieldError | None:
    """The error for an ID number Excel has turned into a number, losing its last digits, or
    None. Wherever it comes from (a cell, a CSV Excel saved, a paste into the app): a number of
    16 or more digits, scientific notation (`3.50128E+17`), a float's `.0`."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        shown = f"{raw:.0f}" if isinstance(raw, float) else str(raw)
        if len(shown) >= 16:
            return _numeric_cell(field, shown)
        return None
    text = normalize_id_number(raw)
    if _SCIENTIFIC.match(text) or _FLOAT_TEXT.match(text):
        return _numeric_cell(field, text)
    return None


def _numeric_cell(field: str, shown: str) -> FieldError:
    return FieldError(
        field,
        "id_numeric_cell",
        "the ID number was stored as a number (Excel keeps 15 digits of one), so its last digits "
        "are lost; format the column as text and type the numbers again",
        {"value": shown},
    )


def upgrade_old_id(value: str) -> str:
    """The 18-digit form of a 15-digit ID number (issued before 1999): the year gains its
    century (19), and the check character is computed."""
    first17 = value[:6] + "19" + value[6:15]
    return first17 + id_check_char(first17)


def parse_id_number(
    raw: object, *, today: date | None, field: str = "id_number"
) -> IdNumberInfo | FieldError:
    """Check a resident ID number and derive birth date and sex from it.

    The value is normalised first (`normalize_id_number`); an old 15-digit number is converted
    to its 18 digits (`converted_from` says so, for a warning); one Excel has damaged is told as
    such. `today` (the caller's clock, in China time) refuses a birth date after it; None skips
    that one check, for numbers already checked when they were stored.
    """
    if raw is None or str(raw).strip() == "":
        return FieldError(field, "required", "ID number is required")
    damaged = excel_damage(raw, field=field)
    if damaged is not None:
        return damaged
    value = normalize_id_number(raw)
    converted_from = None
    if _OLD_ID.match(value):
        converted_from, value = value, upgrade_old_id(value)
    if len(value) != 18:
        return FieldError(
            field,
            "id_length",
            f"ID number must have 18 characters, got {len(value)}",
            {"length": len(value)},
        )
    if not _ID_SHAPE.match(value):
        return FieldError(
            field,
            "id_characters",
            "ID number must be 17 digits followed by a digit or X",
        )
    if value[:2] not in PROVINCE_CODES:
        return FieldError(
            field,
            "id_region",
            f"ID number starts with {value[:2]}, which is no province code",
            {"code": value[:2]},
        )
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return FieldError(
            field,
            "id_birth_date",
            f"ID number holds an impossible birth date {value[6:14]}",
            {"date": value[6:14]},
        )
    if (today is not None and birth > today) or birth.year < 1880:
        return FieldError(
            field,
            "id_birth_date",
            f"ID number holds a birth date {birth.isoformat()} that cannot be right",
            {"date": birth.isoformat()},
        )
    expected = id_check_char(value[:17])
    if value[17] != expected and value.endswith("000") and value[:15].isdigit():
        # Excel keeps 15 significant digits of a number: the last three come back as zeros.
        return _numeric_cell(field, value)
    if value[17] != expected:
        return FieldError(
            field,
            "id_check_digit",
            f"ID number check character is {value[17]}, should be {expected}: "
            "a digit is probably mistyped",
            {"got": value[17], "expected": expected},
        )
    sex = "M" if int(value[16]) % 2 == 1 else "F"
    return IdNumberInfo(
        id_number=value,
        birth_date=birth,
        sex=sex,
        region_code=value[:6],
        converted_from=converted_from,
    )


def normalize_mobile(raw: object, *, field: str = "phone") -> str | FieldError:
    """Check a mainland China mobile number; accepts +86/0086 prefixes, spaces and dashes."""
    if raw is None or str(raw).strip() == "":
        return FieldError(field, "required", "mobile number is required")
    value = re.sub(r"[\s\-()]", "", str(raw).strip())
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    if not value.isdigit():
        return FieldError(field, "phone_characters", "mobile number may contain only digits")
    if len(value) != 11:
        return FieldError(
            field,
            "phone_length",
            f"mobile number must have 11 digits, got {len(value)}",
            {"length": len(value)},
        )
    if not _MOBILE.match(value):
        return FieldError(
            field,
            "phone_prefix",
            f"mobile number must start with 13-19, not {value[:2]}",
            {"prefix": value[:2]},
        )
    return value


def normalize_phone(raw: object, *, field: str = "phone") -> str | FieldError:
    """A contact number: a mainland mobile (stored as its 11 digits) or a landline, stored as
    `0591-87654321`, `87654321` (no area code given) or `0591-87654321转8001`.

    Offices and households list landlines as contact numbers as often as mobiles, so a
    resident's one phone field holds either (a number starting with 1 is judged as a mobile).
    """
    if isinstance(raw, str) and _MOBILE.fullmatch(raw):
        return raw  # the common case, already in its stored form: nothing to clean
    if raw is None or str(raw).strip() == "":
        return FieldError(field, "required", "phone number is required")
    text = "".join(unicodedata.normalize("NFKC", str(raw)).lower().split())
    text = _AREA_IN_PARENS.sub(r"\1-", text)  # (0591)87654321
    international = text.startswith(("+86", "0086"))
    if international:
        text = text.removeprefix("+86").removeprefix("0086").lstrip("-")
    if text.replace("-", "").startswith("1"):
        return normalize_mobile(text, field=field)
    if international:
        text = "0" + text  # +86 591 87654321: the area code loses its 0 abroad
    # A local number written in groups (0591-8765-4321) reads as one number, not an extension.
    found = _LANDLINE.match(text) or _LANDLINE.match(text.replace("-", ""))
    if found is None:
        shown = str(raw).strip()
        return FieldError(
            field,
            "phone_format",
            f"{shown!r} is neither a mobile number (11 digits) nor a landline (an area code "
            "and 7-8 digits, such as 0591-87654321)",
            {"value": shown},
        )
    area, local, extension = found.groups()
    number = f"{area}-{local}" if area else local
    return f"{number}转{extension}" if extension else number


def mask_id_number(value: str | None) -> str:
    """Show only the last four characters of an ID number (privacy default in lists)."""
    if not value:
        return ""
    return "*" * (len(value) - 4) + value[-4:]


def mask_phone(value: str | None) -> str:
    """Show the first three and last four digits of a phone number."""
    if not value:
        return ""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "****" + value[-4:]
