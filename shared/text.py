"""Text a record may hold: valid Unicode, with no lone surrogate and no NUL.

JSON can carry `"\\udfff"` (a lone surrogate), which no database and no UTF-8 encoder accepts,
and `"\\u0000"`, which PostgreSQL refuses in text. Both sides check every string an operation
carries with `first_bad_text` before anything else, so such a value is one operation's
`invalid_characters` rejection naming the field, never an error for the whole sync; `scrub`
makes a copy safe to log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_BAD = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def bad_text(value: Any) -> bool:
    """Whether `value`, or any string inside it (list items, mapping keys and values), is bad."""
    if isinstance(value, str):
        return _BAD.search(value) is not None
    if isinstance(value, dict):
        return any(bad_text(k) or bad_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(bad_text(item) for item in value)
    return False


def first_bad_text(named: Iterable[tuple[str, Any]]) -> str | None:
    """The name of the first (name, value) pair whose name or value holds bad text."""
    for name, value in named:
        if bad_text(name) or bad_text(value):
            return scrub(name)
    return None


def any_bad(values: Iterable[Any]) -> bool:
    """Whether any of `values` holds bad text: one search over the strings joined, which is what
    a push of thousands of operations can afford per operation (`first_bad_text` then finds the
    field, only for the rare operation that has one)."""
    strings: list[str] = []
    for value in values:
        if isinstance(value, str):
            strings.append(value)
        elif not isinstance(value, int | float | bool | None) and bad_text(value):
            return True
    return _BAD.search("".join(strings)) is not None


def scrub(value: Any) -> Any:
    """A copy of `value` with every bad character replaced by U+FFFD, safe to store or send."""
    if isinstance(value, str):
        return _BAD.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value
