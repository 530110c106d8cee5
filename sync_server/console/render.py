"""Rendering console pages: the Jinja2 environment, and how values are shown to a viewer.

Templates never format data themselves: they call `fmt` (a `Formatter` bound to the viewer's
language and role), which is the one place that masks ID numbers and phones, names enumerations
in the viewer's language and shows times in China Standard Time.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from shared.clock import china_minutes, china_timestamp_text
from shared.schema import ENTITIES, Role
from shared.validation import mask_id_number, mask_phone
from sync_server.api.deps import get_clock
from sync_server.console.deps import Viewer
from sync_server.console.i18n import Translator, has_key

TEMPLATES = Path(__file__).parent / "templates"
# Fields holding an instant (a visit's or an outcome's time): their wire text is UTC, which
# nobody in a grid office reads; they are shown in China time like every other time here.
_INSTANT_FIELDS = frozenset(
    f.name for spec in ENTITIES.values() for f in spec.fields.values() if f.kind == "datetime"
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a misspelt variable fails the page test instead of vanishing
    trim_blocks=True,
    lstrip_blocks=True,
)

# Scripts, styles and forms only from the console itself: an injected tag or attribute cannot
# load or run anything, and no page can be framed by another site. Pages hold personal data,
# so no cache keeps a copy.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_ENUM_FIELDS = {"relation": "relation", "residence_status": "status", "outcome": "outcome"}
# An ID number typed into free text (a send-back reason): 17 digits and a digit or X.
_ID_NUMBER_IN_TEXT = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# Audit details that are internal ids: the record link and the page already say what they name.
_HIDDEN_DETAIL = frozenset({"node_id", "campaign_id", "batch_id", "conflict_id", "op_id"})


class Formatter:
    """How a value looks to one viewer: language, masking by role, local time."""

    def __init__(self, t: Translator, role: str | None, *, now: datetime) -> None:
        self.t = t
        self.now = now
        self.full_personal_data = role == Role.ADMIN

    def dt(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return china_minutes(value)

    def ago(self, value: datetime | None) -> str:
        if value is None:
            return self.t("time.never")
        now = self.now
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        seconds = max(int((now - value).total_seconds()), 0)
        if seconds < 60:
            return self.t("time.just_now")
        if seconds < 3600:
            return self.t("time.minutes_ago", n=seconds // 60)
        if seconds < 86400:
            return self.t("time.hours_ago", n=seconds // 3600)
        return self.t("time.days_ago", n=seconds // 86400)

    def id_number(self, value: str | None) -> str:
        return (value or "") if self.full_personal_data else mask_id_number(value)

    def phone(self, value: str | None) -> str:
        return (value or "") if self.full_personal_data else mask_phone(value)

    def text(self, value: str) -> str:
        """Free text with any ID number in it masked, unless the viewer may see them whole."""
        if self.full_personal_data:
            return value
        return _ID_NUMBER_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), value)

    def audit_detail(self, detail: dict[str, Any]) -> list[tuple[str, str]]:
        """An audit event's details as (label, text) pairs in the viewer's language."""
        out = []
        for key, value in detail.items():
            if key in _HIDDEN_DETAIL or value in (None, "", [], {}):
                continue
            if key == "counts" and isinstance(value, dict):
                text = "；".join(
                    self.t(f"import.entity.{entity}")
                    + " "
                    + "，".join(f"{self.enum('import.outcome', o)} {n}" for o, n in c.items() if n)
                    for entity, c in value.items()
                    if isinstance(c, dict)
                    and any(c.values())
                    and has_key(f"import.entity.{entity}")
                )
                if not text:
                    continue
            elif isinstance(value, list):
                text = "、".join(str(v) for v in value)
            else:
                text = self.enum(f"audit_value.{key}", str(value))
            out.append((self.enum("audit_detail", key), self.text(text)))
        return out

    def enum(self, kind: str, value: str | None) -> str:
        if not value:
            return "—"
        key = f"{kind}.{value}"
        return self.t(key) if has_key(key) else value

    def tags(self, values: list[str] | None) -> str:
        return "、".join(self.enum("tag", v) for v in values or []) or "—"

    def sex(self, value: str | None) -> str:
        return self.enum("sex", value)

    def field(self, name: str) -> str:
        key = f"field.{name}"
        return self.t(key) if has_key(key) else name

    def entity(self, name: str) -> str:
        return self.enum("entity", name)

    def value(self, field: str, value: Any, refs: dict[str, str] | None = None) -> str:
        """A field's value as a person reads it; references show the record's label."""
        if value is None or value == "":
            return "—"
        if field == "id_number":
            return self.id_number(str(value))
        if field == "phone":
            return self.phone(str(value))
        if field == "tags" and isinstance(value, list):
            return self.tags(value)
        if field in _ENUM_FIELDS:
            return self.enum(_ENUM_FIELDS[field], str(value))
        if field.endswith("_id") and refs and str(value) in refs:
            return refs[str(value)]
        if isinstance(value, datetime):
            return self.dt(value)
        if field in _INSTANT_FIELDS and isinstance(value, str):
            return china_timestamp_text(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return "、".join(str(v) for v in value)
        return str(value)

    @staticmethod
    def percent(done: int, total: int) -> int:
        return round(100 * done / total) if total else 0


def formatter_for(viewer: Viewer, now: datetime) -> Formatter:
    return Formatter(Translator(viewer.lang), viewer.user.role, now=now)


def _query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    lang: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = viewer.lang if viewer is not None else (lang or "zh")
    t = Translator(lang)
    now = get_clock(request).now()
    flash = request.query_params.get("msg", "")
    html = _env.get_template(template).render(
        request=request,
        viewer=viewer,
        lang=lang,
        t=t,
        now=now,
        fmt=Formatter(t, viewer.user.role if viewer else None, now=now),
        csrf=viewer.csrf if viewer else "",
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        query=lambda **kw: _query(request, **kw),
        flash=t(f"flash.{flash}") if flash and has_key(f"flash.{flash}") else "",
        **context,
    )
    return HTMLResponse(
        html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})}
    )


def render_error(request: Request, lang: str, status: int, code: str, detail: str) -> HTMLResponse:
    t = Translator(lang)
    key = f"error.{code}" if has_key(f"error.{code}") else f"error.status_{status}"
    message = t(key) if has_key(key) else t("error.generic")
    return render(
        request,
        "error.html",
        viewer=None,
        lang=lang,
        status_code=status,
        error_status=status,
        message=message,
        detail=detail,
    )
