"""The app's languages and the `Translator` that turns keys, enumerations and errors into text.

zh-CN is the default (the workers' language); English is one tap away in the app bar. A key
missing from a catalogue shows as the key itself rather than crashing a screen at a door, and
tests/field_app/test_i18n.py fails the build when any key is missing from either catalogue.
"""

from __future__ import annotations

from typing import Any

from field_app.i18n import en, zh_cn
from field_app.i18n.messages import Msg
from shared.errors import FieldError
from shared.messages import FIELD_NAMES_ZH, ZH

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
CATALOGUES: dict[str, dict[str, str]] = {"zh-CN": zh_cn.MESSAGES, "en": en.MESSAGES}


class Translator:
    """Text in one language."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in CATALOGUES else DEFAULT_LANGUAGE
        self._messages = CATALOGUES[self.language]

    def __call__(self, key: str, **params: Any) -> str:
        template = self._messages.get(key, key)
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template

    def msg(self, message: Msg) -> str:
        return self(message.key, **message.params)

    def choice(self, kind: str, value: str | None) -> str:
        """The label of an enumeration value: choice("relation", "head") → 户主."""
        if not value:
            return ""
        key = f"{kind}.{value}"
        return self(key) if key in self._messages else value

    def field_error(self, error: FieldError) -> str:
        """An error under a field, in this language."""
        if self.language == "zh-CN" and error.params.get("message_zh"):
            return str(error.params["message_zh"])  # a rule that words its refusal (matters)
        if self.language == "zh-CN":
            template = ZH.get(error.code)
            if template is not None:
                label = self._messages.get(f"field.{error.field}") or FIELD_NAMES_ZH.get(
                    error.field, error.field
                )
                try:
                    return template.format(field_zh=label, **error.params)
                except (KeyError, IndexError):
                    pass
        message = error.message
        return message[:1].upper() + message[1:] if message else error.code

    def rejection(self, code: str | None, field: str | None, reason: str | None) -> str:
        """Why the server rejected a change (the server's English reason when no template fits)."""
        error = FieldError(field or "", code or "", reason or "")
        if self.language == "zh-CN" and code in ZH:
            text = self.field_error(error)
            if text != error.message[:1].upper() + error.message[1:]:
                return text
        return reason or code or ""
