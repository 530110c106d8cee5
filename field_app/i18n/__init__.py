"""The app's texts in zh-CN (default) and English: `Translator(language)(key, **params)`.

View-models speak in `Msg` (a key and its parameters); views turn them into text.
"""

from field_app.i18n.catalogue import CATALOGUES, DEFAULT_LANGUAGE, LANGUAGES, Translator
from field_app.i18n.messages import Msg

__all__ = ["CATALOGUES", "DEFAULT_LANGUAGE", "LANGUAGES", "Msg", "Translator"]
