"""Every console text exists in Chinese and English, and every key the console uses exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

from shared.schema import RELATION_ZH, RESIDENCE_STATUS_ZH, ROLE_ZH, TAG_ZH
from sync_server.console import i18n

CONSOLE = Path(i18n.__file__).parent
STATIC_KEY = re.compile(r"""\bt\(\s*["']([a-z_0-9]+\.[a-z_0-9.]+)["']\s*[,)]""")
DYNAMIC_KEY = re.compile(r"""\bt\(\s*["']([a-z_0-9.]+\.)["']\s*~""")


def _sources() -> str:
    files = [*CONSOLE.glob("templates/*.html"), *CONSOLE.glob("**/*.py")]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders() -> None:
    for key, (zh, en) in i18n.CATALOGUE.items():
        assert zh.strip() and en.strip(), key
        assert _placeholders(zh) == _placeholders(en), key


def test_every_key_used_by_templates_and_routes_exists() -> None:
    used = set(STATIC_KEY.findall(_sources()))
    assert used, "the scan found no keys: the pattern is wrong"
    missing = sorted(k for k in used if k not in i18n.CATALOGUE)
    assert missing == []


def test_every_dynamic_key_family_has_members() -> None:
    families = set(DYNAMIC_KEY.findall(_sources()))
    assert {"flash.", "error.", "review.tab.", "login.error."} <= families
    for prefix in families:
        assert any(k.startswith(prefix) for k in i18n.CATALOGUE), prefix


def test_flash_messages_named_in_redirects_exist() -> None:
    named = set(re.findall(r"msg=([a-z_]+)", _sources()))
    assert named
    assert sorted(n for n in named if f"flash.{n}" not in i18n.CATALOGUE) == []


def test_enumerations_are_named_in_both_languages() -> None:
    for kind, table in (
        ("relation", RELATION_ZH),
        ("status", RESIDENCE_STATUS_ZH),
        ("tag", TAG_ZH),
        ("role", ROLE_ZH),
    ):
        for value, zh in table.items():
            assert i18n.CATALOGUE[f"{kind}.{value}"][0] == zh


def test_translator_falls_back_visibly() -> None:
    t = i18n.Translator("en")
    assert t("pager.page", n=3) == "Page 3"
    assert t("no.such.key") == "no.such.key"
    assert i18n.Translator("fr")("nav.review") == "审核"
