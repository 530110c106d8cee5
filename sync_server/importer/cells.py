"""Turning one spreadsheet cell into a clean value: text, code, level, date.

Cells come as openpyxl gives them (str, int, float, datetime, bool, None) or as CSV text. Excel
turns codes and numbers into floats and dates into datetimes or serial numbers; users type
full-width digits and stray spaces. Everything is normalised here, once, before row rules apply.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import TypeGuard

from openpyxl.utils.datetime import from_excel

from shared.errors import FieldError
from shared.validation import excel_damage, normalize_id_number

_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_LEVEL_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_LEVEL_TEXT = re.compile(r"^([1-5一二三四五])(?:级(?:网格)?)?$")
# Serials in this range are 1954-2119, so a real date typed into a cell formatted as a number
# still reads as a date.
_EXCEL_SERIALS = range(20000, 80000)


def text(value: object) -> str:
    """A cell as trimmed text: full-width characters folded, whitespace runs collapsed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # codes and room numbers typed into numeric cells
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    out = str(value)
    if not unicodedata.is_normalized("NFKC", out):  # the check is far cheaper than normalising
        out = unicodedata.normalize("NFKC", out)
    # split/join collapses whitespace runs and trims in one C pass. A leading apostrophe is how
    # people force Excel to keep digits as text.
    return " ".join(out.split()).lstrip("'").lstrip()


def too_long(field: str, value: str, limit: int) -> FieldError | None:
    if len(value) <= limit:
        return None
    return FieldError(
        field,
        "too_long",
        f"{field} is too long ({len(value)} characters, at most {limit})",
        {"max": limit},
    )


def level(field: str, value: object) -> int | FieldError:
    raw = text(value)
    m = _LEVEL_TEXT.match(raw)
    if m is None:
        return FieldError(field, "grid_level", f"level must be 1-5, got {raw!r}", {"value": raw})
    digit = m.group(1)
    return _LEVEL_WORDS.get(digit) or int(digit)


def id_number_text(field: str, value: object) -> str | FieldError:
    """An ID number cell as text in its one stored form (`shared.validation`), or the error for
    a number Excel has already cut."""
    damaged = excel_damage(value, field=field)
    if damaged is not None:
        return damaged
    return "" if value is None else normalize_id_number(value)


def parse_date(field: str, value: object, *, today: date) -> date | FieldError | None:
    """A date cell: Excel date, YYYY-MM-DD, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301."""
    if value is None:
        return None
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        parsed = _from_number(value)
        if parsed is None:
            return _bad_date(field, text(value))
        day = parsed
    else:
        raw = text(value)
        if not raw:
            return None
        raw = raw.split(" ")[0]  # "2024-03-01 00:00:00" from a datetime pasted as text
        m = _DATE_PARTS.match(raw) or _COMPACT_DATE.match(raw)
        if m is None:
            return _bad_date(field, raw)
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return _bad_date(field, raw)
    if day > today:
        return FieldError(
            field,
            "date_future",
            f"{field} {day.isoformat()} is after today",
            {"value": day.isoformat()},
        )
    return day


def _from_number(value: float) -> date | None:
    if float(value).is_integer():
        n = int(value)
        compact = _COMPACT_DATE.match(str(n))
        if compact:
            try:
                return date(int(compact.group(1)), int(compact.group(2)), int(compact.group(3)))
            except ValueError:
                return None
        if n in _EXCEL_SERIALS:
            return excel_serial(n).date()
    return None


def is_excel_serial(value: object) -> TypeGuard[int | float]:
    """Whether a numeric cell can be an Excel date (1954-2119) rather than some other number."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and _EXCEL_SERIALS.start <= value < _EXCEL_SERIALS.stop
    )


def excel_serial(value: float) -> datetime:
    """An Excel serial date-time as a naive datetime, to the second (openpyxl's conversion:
    day 0 is 1899-12-30, Excel's 1900 leap-year bug folded in)."""
    moment = from_excel(value)
    return (moment + timedelta(microseconds=500_000)).replace(microsecond=0)


def _bad_date(field: str, raw: str) -> FieldError:
    return FieldError(
        field,
        "date_format",
        f"{raw!r} is not a date (use YYYY-MM-DD)",
        {"value": raw},
    )
