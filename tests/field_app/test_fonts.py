"""The bundled fonts draw every character a resident's name may use (issue 18, item 7): all of
GBK from the main font, and from its fall-back the rarer ones GBK lacks (䶮, 𬌗): CJK Extension
A and GB 18030-2022 up to implementation level 2. A missing glyph is a box on a worker's phone
and in the console, so a failure names the first code points missing."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import flet as ft
import pytest
from fontTools.ttLib import TTFont

from field_app.config import ASSETS_DIR
from field_app.views import theme

FONTS = ASSETS_DIR / "fonts"
MAIN = FONTS / "wqy-microhei-gbk.ttf"
FALLBACK = FONTS / "cjk-ext-fallback.ttf"
LEVEL2 = FONTS / "gb18030-2022-level2.txt"


@cache
def cmap(path: Path) -> frozenset[int]:
    return frozenset(TTFont(path, lazy=True).getBestCmap())


def missing(points: Iterable[int], *fonts: Path) -> list[str]:
    have = frozenset().union(*(cmap(font) for font in fonts))
    gaps = sorted(set(points) - have)
    return [f"U+{point:04X} {chr(point)}" for point in gaps[:20]] + (
        [f"... {len(gaps)} in all"] if len(gaps) > 20 else []
    )


def level2() -> list[int]:
    lines = LEVEL2.read_text(encoding="utf-8").splitlines()
    return [int(line.split()[0][2:], 16) for line in lines if line and not line.startswith("#")]


def gb18030_two_byte() -> set[int]:
    """GBK and what GB 18030 added to the two-byte area, private use left out."""
    points = set()
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            try:
                point = ord(bytes((lead, trail)).decode("gb18030"))
            except UnicodeDecodeError:
                continue
            if not 0xE000 <= point <= 0xF8FF:
                points.add(point)
    return points


def test_the_level_2_list_is_the_196_ideographs_of_the_general_standard_table() -> None:
    points = level2()
    assert len(points) == len(set(points)) == 196
    assert all(0x20000 <= point <= 0x3134F for point in points)  # Extensions B to G
    assert 0x2C317 in points  # 𬌗
    # Five level-2 characters a font maintainer named (noto-cjk issue 239): 𫓧 𬴂 𩽾 𫄧 𫠆.
    assert {0x2B4E7, 0x2CD02, 0x29F7E, 0x2B127, 0x2B806} <= set(points)
    assert "Source:" in LEVEL2.read_text(encoding="utf-8")


def test_the_main_font_has_every_character_gbk_can_encode() -> None:
    gbk = {ord(bytes((lead, trail)).decode("gbk")) for lead, trail in _gbk_pairs()}
    assert len(gbk) > 21_000
    # Three GBK symbols WenQuanYi lacks (ɑ ɡ ☉) come from the fall-back.
    assert missing(gbk, MAIN) == ["U+0251 ɑ", "U+0261 ɡ", "U+2609 ☉"]
    assert missing(gbk, MAIN, FALLBACK) == []


def _gbk_pairs() -> Iterable[tuple[int, int]]:
    for lead in range(0x81, 0xFF):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFF)):
            try:
                bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            yield lead, trail


@pytest.mark.parametrize(
    ("what", "points"),
    [
        ("CJK Extension A", range(0x3400, 0x4DC0)),
        ("GB 18030-2022 level 2", level2()),
        ("the URO after GBK (level 1 to U+9FEF)", range(0x9FA6, 0xA000)),
        ("GB 18030's two-byte area", gb18030_two_byte()),
        # Former private-use positions GB 18030-2022 maps to real characters.
        ("2022's re-mappings", [*range(0xFE10, 0xFE1A), 0x1E3F, 0x20087, 0x20089, 0x200CC]),
        ("2022's re-mappings in Extension B", [0x215D7, 0x2298F, 0x241FE]),
        ("rare name characters", [ord("䶮"), ord("𬌗"), ord("喆"), ord("堃"), ord("玥")]),
    ],
)
def test_the_two_fonts_together_draw(what: str, points: Iterable[int]) -> None:
    assert missing(points, MAIN, FALLBACK) == [], what


def test_the_fallback_holds_only_what_the_main_font_lacks_and_stays_small() -> None:
    assert cmap(FALLBACK).isdisjoint(cmap(MAIN) - {0x20})
    assert FALLBACK.stat().st_size < 4_000_000


def test_the_fallback_states_its_licence_and_ships_the_licence_texts() -> None:
    names = TTFont(FALLBACK, lazy=True)["name"]
    assert "Arphic Public License" in str(names.getDebugName(13))
    assert "Modified on" in str(names.getDebugName(10))  # the notice the licence asks for
    readme = (FONTS / "README.md").read_text(encoding="utf-8")
    for text in ("ARPHICPL.TXT", "LICENSE-hanazono.txt"):
        assert (FONTS / text).is_file()
        assert text in readme
    assert (FONTS / "ARPHICPL.TXT").read_text(encoding="utf-8").startswith("ARPHIC PUBLIC LICENSE")


def test_the_app_loads_both_fonts_and_every_text_style_falls_back() -> None:
    assert theme.FONTS == {
        theme.FONT_FAMILY: theme.FONT_URL,
        theme.FALLBACK_FAMILY: theme.FALLBACK_URL,
    }
    assert (ASSETS_DIR / theme.FONT_URL.lstrip("/")).resolve() == MAIN.resolve()
    assert (ASSETS_DIR / theme.FALLBACK_URL.lstrip("/")).resolve() == FALLBACK.resolve()
    text_theme = theme.theme().text_theme
    assert text_theme is not None
    styles = [getattr(text_theme, field.name) for field in dataclasses.fields(text_theme)]
    styles = [style for style in styles if isinstance(style, ft.TextStyle)]
    styles.append(theme.button_style().text_style)
    assert len(styles) >= 10
    for style in styles:
        assert style.font_family == theme.FONT_FAMILY
        assert style.font_family_fallback == [theme.FALLBACK_FAMILY]
