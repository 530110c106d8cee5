"""Look and feel for a phone held at arm's length: the bundled CJK fonts, large type, big targets.

Offline Flutter web has no other source of Chinese glyphs, so the app ships two fonts (both made
by tools/subset_cjk_font.py; licences in field_app/assets/fonts/README.md): WenQuanYi Micro Hei
cut down to the characters GBK can encode, and behind it a fall-back for the rarer name
characters GBK lacks (䶮, 𬌗): CJK Extension A and the rest of GB 18030-2022 to level 2.
"""

from __future__ import annotations

import flet as ft

FONT_FAMILY = "CJK"
FONT_URL = "/fonts/wqy-microhei-gbk.ttf"  # relative to field_app/assets, served by Flet
FALLBACK_FAMILY = "CJK Ext"
FALLBACK_URL = "/fonts/cjk-ext-fallback.ttf"
FONTS = {FONT_FAMILY: FONT_URL, FALLBACK_FAMILY: FALLBACK_URL}  # for page.fonts

# Touch targets of at least 48 logical pixels (Material guidance); body text a notch larger
# than Material's default so it reads at arm's length in daylight.
TARGET = 52
BODY = 17
SMALL = 15
TITLE = 20
GAP = 12
PAD = 16

OK = ft.Colors.GREEN_700
WARN = ft.Colors.ORANGE_800
BAD = ft.Colors.RED_700
MUTED = ft.Colors.GREY_700
ONLINE = ft.Colors.GREEN_600
OFFLINE = ft.Colors.GREY_600


def text_style(size: float) -> ft.TextStyle:
    """Every text style names the families itself (here and in button styles): a style without
    them falls back to Roboto, which has no Chinese glyphs (empty boxes offline). Flet's Theme
    has no fall-back list, so the fall-back font rides on each style."""
    return ft.TextStyle(size=size, font_family=FONT_FAMILY, font_family_fallback=[FALLBACK_FAMILY])


def theme() -> ft.Theme:
    return ft.Theme(
        font_family=FONT_FAMILY,
        color_scheme_seed=ft.Colors.TEAL,
        text_theme=ft.TextTheme(
            body_large=text_style(BODY + 1),
            body_medium=text_style(BODY),
            body_small=text_style(SMALL),
            title_large=text_style(TITLE + 2),
            title_medium=text_style(TITLE - 1),
            title_small=text_style(BODY),
            label_large=text_style(BODY),
            label_medium=text_style(SMALL),
            label_small=text_style(SMALL - 1),
            headline_small=text_style(TITLE + 4),
        ),
    )


def button_style() -> ft.ButtonStyle:
    return ft.ButtonStyle(
        padding=ft.Padding.symmetric(horizontal=18, vertical=12),
        text_style=text_style(BODY),
    )
