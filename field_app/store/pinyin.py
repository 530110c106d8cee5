"""Search keys for residents' names: pinyin initials (`zs` for 张三) and full pinyin.

Computed when a resident's row is written (`records.write_view`) and kept in two columns of the
`resident` table, so a search is a plain LIKE over precomputed text instead of converting 4,500
names on every keystroke. A surname can have several readings (曾 zeng/ceng, 单 shan/dan, 区
ou/qu): every reading of the first character is kept, space-separated, so `zxm` and `cxm` both
find 曾小明. Other characters take pypinyin's reading in context.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin, pinyin

# Columns this module fills on the resident table (added by migration m002).
INITIALS = "search_initials"
FULL = "search_pinyin"

# Surname readings beyond this many add noise, not hits.
_MAX_SURNAME_READINGS = 3


# A pure function of the name, and pypinyin is slow (~0.2 ms a name): a record's view row is
# rewritten at every edit, push answer and pulled page, each time with the same name.
@lru_cache(maxsize=16_384)
def name_keys(name: str | None) -> tuple[str, str]:
    """(initials, full pinyin) of a name, each a space-separated list of variants, lower case.

    Characters pypinyin does not know (Latin letters, digits) are kept as they are, so a name
    like "Anna李" still finds by "anna".
    """
    name = "".join((name or "").split()).lower()
    if not name:
        return "", ""
    first, rest = name[0], name[1:]
    if not "\u4e00" <= first <= "\u9fff":
        # Not a Chinese surname: no alternative readings to offer.
        syllables = lazy_pinyin(name, errors=_keep)
        return "".join(s[0] for s in syllables if s), "".join(syllables)
    rest_syllables = lazy_pinyin(rest, errors=_keep) if rest else []
    readings = pinyin(first, style=Style.NORMAL, heteronym=True, errors=_keep)[0]
    # The reading pypinyin picks for the whole name comes first: it is the likeliest.
    default_first = lazy_pinyin(name, errors=_keep)[0]
    ordered = [default_first, *(r for r in readings if r != default_first)]
    initials: list[str] = []
    full: list[str] = []
    for reading in ordered[:_MAX_SURNAME_READINGS]:
        syllables = [reading, *rest_syllables]
        _add(initials, "".join(s[0] for s in syllables if s))
        _add(full, "".join(syllables))
    return " ".join(initials), " ".join(full)


def derived_columns(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Extra columns to store with a record's view row (only residents have any)."""
    if entity != "resident":
        return {}
    initials, full = name_keys(values.get("name"))
    return {INITIALS: initials, FULL: full}


def _keep(chars: str) -> str:
    # Letters and digits pass through as one syllable ("Anna李" → anna li).
    return "".join(c for c in chars if c.isalnum())


def _add(variants: list[str], value: str) -> None:
    if value and value not in variants:
        variants.append(value)
