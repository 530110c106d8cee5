"""Look and feel for a phone held at arm's length: the bundled CJK font, large type, big targets.

The font is WenQuanYi Micro Hei (Apache-2.0, from Debian's fonts-wqy-microhei), cut down to the
characters GBK can encode by tools/subset_cjk_font.py; offline Flutter web has no other source of
Chinese glyphs. See field_app/assets/fonts/README.md.
"""

from __future__ import annotations

import flet as ft

FONT_FAMILY = "CJK"
FONT_URL = "/fonts/wqy-microhei-gbk.ttf"  # relative to field_app/assets, served by Flet

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


def theme() -> ft.Theme:
    # Every text style names the family itself (here and in button styles): a style without one
    # falls back to Roboto, which has no Chinese glyphs (empty boxes offline).
    def style(size: float) -> ft.TextStyle:
        return ft.TextStyle(size=size, font_family=FONT_FAMILY)

    return ft.Theme(
        font_family=FONT_FAMILY,
        color_scheme_seed=ft.Colors.TEAL,
        text_theme=ft.TextTheme(
            body_large=style(BODY + 1),
            body_medium=style(BODY),
            body_small=style(SMALL),
            title_large=style(TITLE + 2),
            title_medium=style(TITLE - 1),
            title_small=style(BODY),
            label_large=style(BODY),
            label_medium=style(SMALL),
            label_small=style(SMALL - 1),
            headline_small=style(TITLE + 4),
        ),
    )


def button_style() -> ft.ButtonStyle:
    return ft.ButtonStyle(
        padding=ft.Padding.symmetric(horizontal=18, vertical=12),
        text_style=ft.TextStyle(size=BODY, font_family=FONT_FAMILY),
    )
