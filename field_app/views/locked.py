"""The one screen shown when the device database cannot be decrypted (`StoreLocked`).

Nothing else can work without the store, so instead of a blank page or a traceback the worker
reads what happened and what to do, in Chinese with the English below it for whoever helps.
"""

from __future__ import annotations

import flet as ft

from field_app.i18n import LANGUAGES, Translator
from field_app.store import StoreLocked
from field_app.views import theme
from field_app.views.widgets import padded, text


def render(error: StoreLocked) -> list[ft.Control]:
    controls: list[ft.Control] = []
    for language in LANGUAGES:
        t = Translator(language)
        controls.append(text(t("locked.title"), size=theme.TITLE, bold=True, color=theme.BAD))
        controls.append(text(t(error.message_key)))
    controls.append(text(str(error.path), size=theme.SMALL, color=theme.MUTED, selectable=True))
    return [padded(*controls, key="store-locked")]


def message(error: StoreLocked) -> str:
    """The same texts for a terminal (`gridsweep-app` refusing to start)."""
    return "\n".join(
        f"{Translator(language)('locked.title')}: {Translator(language)(error.message_key)}"
        for language in LANGUAGES
    )
