"""Both catalogues carry every key; every key the app uses exists; enumerations and errors read
properly in both languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from field_app.i18n import CATALOGUES, LANGUAGES, Msg, Translator
from shared.campaigns import OUTCOME_ZH
from shared.errors import FieldError
from shared.schema import RELATION_ZH, RESIDENCE_STATUS_ZH, TAG_ZH, VISIT_OUTCOME_ZH

APP = Path(__file__).resolve().parents[2] / "field_app"
# t("key"...), Msg("key"...), Msg.of("key"...) with a literal key.
USED = re.compile(r"""(?:\bt|Msg|Msg\.of)\(\s*f?["']([a-z_]+\.[a-z_.{}]+)["']""")


def keys_used() -> set[str]:
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        found.update(USED.findall(path.read_text(encoding="utf-8")))
    return found


def test_both_catalogues_have_the_same_keys() -> None:
    zh, en = set(CATALOGUES["zh-CN"]), set(CATALOGUES["en"])
    assert sorted(zh - en) == [], "missing in English"
    assert sorted(en - zh) == [], "missing in Chinese"


def test_every_literal_key_in_the_app_is_in_the_catalogues() -> None:
    used = keys_used()
    assert len(used) > 50, "the scan finds the app's keys"
    plain = {k for k in used if "{" not in k}
    missing = sorted(k for k in plain if k not in CATALOGUES["zh-CN"])
    assert missing == []
    # Keys built with an f-string: every value they can take must be present.
    for prefix, values in {
        "relation": RELATION_ZH,
        "residence_status": RESIDENCE_STATUS_ZH,
        "tag": TAG_ZH,
        "outcome": VISIT_OUTCOME_ZH,
        "campaign_outcome": OUTCOME_ZH,
        "failure": ("offline", "sign_in", "credentials", "update", "server"),
        "state": ("pending", "conflict", "rejected"),
        "kind": ("create", "update", "delete"),
        "status.progress": ("push", "pull"),
    }.items():
        for value in values:
            for language in LANGUAGES:
                assert f"{prefix}.{value}" in CATALOGUES[language], (language, prefix, value)


def test_placeholders_agree_between_languages() -> None:
    field = re.compile(r"{(\w+)}")
    for key, zh in CATALOGUES["zh-CN"].items():
        assert set(field.findall(zh)) == set(field.findall(CATALOGUES["en"][key])), key


@pytest.mark.parametrize(
    ("language", "expected"),
    [("zh-CN", "户主"), ("en", "Head of household")],
)
def test_enumerations_are_labelled(language: str, expected: str) -> None:
    t = Translator(language)
    assert t.choice("relation", "head") == expected
    assert t.choice("relation", None) == ""
    assert t.choice("relation", "unheard_of") == "unheard_of"


def test_field_errors_read_in_the_workers_language() -> None:
    error = FieldError(
        "phone", "phone_length", "mobile number must have 11 digits, got 3", {"length": 3}
    )
    assert Translator("zh-CN").field_error(error) == "手机号应为11位，当前为3位"
    assert Translator("en").field_error(error) == "Mobile number must have 11 digits, got 3"
    visit = FieldError("outcome", "required", "outcome is required.")
    assert Translator("zh-CN").field_error(visit) == "走访结果为必填项"


def test_messages_and_unknown_keys() -> None:
    t = Translator("zh-CN")
    assert t.msg(Msg.of("status.pending", n=3)) == "3 条待同步"
    assert t("no.such.key") == "no.such.key"
    assert Translator("xx").language == "zh-CN"
