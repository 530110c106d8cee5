"""Cells a spreadsheet will not run: the one rule every export (xlsx and csv) writes through.

Excel, WPS and LibreOffice treat a cell whose text starts with `=`, `+`, `-` or `@` as a
formula (tab and carriage return as the start of one), so a resident's name pushed from a phone
as `=HYPERLINK(...)` would run on a supervisor's machine. Such text is written with a leading
apostrophe (OWASP's guidance on CSV injection): shown as text, the original whole after it.
Numbers stay numbers; ID numbers and phone numbers never start with those characters once
validated, so they stay exact.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: object) -> object:
    """`value` as a cell that cannot run: text that a spreadsheet would read as a formula gets a
    leading apostrophe; everything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutral_row(values: Iterable[object]) -> list[object]:
    """`neutral` of each value of a row (None becomes an empty cell's "")."""
    return ["" if v is None else neutral(v) for v in values]
