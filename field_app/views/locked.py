"""The one screen shown when the device database cannot be decrypted (`StoreLocked`).

Nothing else can work without the store, so instead of a blank page or a traceback the worker
reads what happened and what to do, in Chinese with the English below it for whoever helps. When
the key is gone or does not fit, a button clears the phone's data (`Store.erase`) so the worker
can sign in and download again (`on_reset`, given by `main`).
"""

from __future__ import annotations

from collections.abc import Callable

import flet as ft

from field_app.i18n import LANGUAGES, Translator
from field_app.store import KeyMissing, StoreLocked, WrongKey
from field_app.views import theme
from field_app.views.widgets import padded, text


def render(error: StoreLocked, on_reset: Callable[[], object] | None = None) -> list[ft.Control]:
    controls: list[ft.Control] = []
    for language in LANGUAGES:
        t = Translator(language)
        controls.append(text(t("locked.title"), size=theme.TITLE, bold=True, color=theme.BAD))
        controls.append(text(t(error.message_key)))
    controls.append(text(str(error.path), size=theme.SMALL, color=theme.MUTED, selectable=True))
    if on_reset is not None and resettable(error):
        zh, en = (Translator(language) for language in LANGUAGES)
        controls.append(text(f"{zh('locked.reset_note')}\n{en('locked.reset_note')}"))
        controls.append(
            ft.FilledButton(
                f"{zh('locked.reset')} / {en('locked.reset')}",
                key="store-reset",
                on_click=lambda _e: on_reset(),
            )
        )
    return [padded(*controls, key="store-locked")]


def resettable(error: StoreLocked) -> bool:
    """A store whose key is gone or wrong can be cleared and downloaded again; a build without
    its encryption cannot help itself that way."""
    return isinstance(error, KeyMissing | WrongKey)


def message(error: StoreLocked) -> str:
    """The same texts for a terminal (`gridsweep-app` refusing to start)."""
    return "\n".join(
        f"{Translator(language)('locked.title')}: {Translator(language)(error.message_key)}"
        for language in LANGUAGES
    )
