"""Who is looking at the console: the sign-in cookie, roles, CSRF, and the page language.

The console signs in with `services.throttle.login` (no device) and keeps the bearer token in an
HttpOnly, SameSite=Strict cookie scoped to /console, so scripts cannot read it and other sites
cannot send it. Every POST also carries a CSRF token derived from the token's hash with the
server's secret: a second, independent guard should a browser mishandle SameSite.

The transaction here is function-scoped: it commits before the response is sent, so the page a
redirect leads to always sees what the form just changed.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from shared.schema import Role
from sync_server.api.deps import ClockDep, SettingsDep, get_session
from sync_server.config import Settings
from sync_server.console.errors import ConsoleError, LoginRequired
from sync_server.console.i18n import DEFAULT_LANG, LANGS
from sync_server.errors import DomainError
from sync_server.models import User
from sync_server.security import token_digest
from sync_server.services.auth import authenticate
from sync_server.services.scope import Scope, scope_of

SESSION_COOKIE = "gs_console"
LANG_COOKIE = "gs_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

ConsoleSessionDep = Annotated[Session, Depends(get_session, scope="function")]


def viewer_lang(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANG)
    return lang if lang in LANGS else DEFAULT_LANG


def csrf_token(settings: Settings, token: str) -> str:
    """Bound to one sign-in: it changes when the user signs in again and dies with the token."""
    digest = token_digest(settings.secret_key, token)
    return hmac.new(
        settings.secret_key.encode(), f"console-csrf:{digest}".encode(), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True)
class Viewer:
    user: User
    token: str
    csrf: str
    lang: str
    scope: Scope = field(compare=False)

    @property
    def is_admin(self) -> bool:
        return self.user.role == Role.ADMIN

    @property
    def name(self) -> str:
        return self.user.display_name or self.user.username


def get_viewer(
    request: Request, session: ConsoleSessionDep, settings: SettingsDep, clock: ClockDep
) -> Viewer:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired()
    try:
        caller = authenticate(session=session, settings=settings, token=token, now=clock.now())
    except DomainError as exc:
        raise LoginRequired() from exc
    if caller.device is not None:
        # A device's token pasted into a cookie is not a console sign-in.
        raise LoginRequired()
    if caller.user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise ConsoleError(403, "worker_refused")
    return Viewer(
        user=caller.user,
        token=token,
        csrf=csrf_token(settings, token),
        lang=viewer_lang(request),
        scope=scope_of(caller.user),
    )


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def get_admin(viewer: ViewerDep) -> Viewer:
    if not viewer.is_admin:
        raise ConsoleError(403, "admin_only")
    return viewer


AdminDep = Annotated[Viewer, Depends(get_admin)]


async def _check_csrf(request: Request, viewer: Viewer) -> Viewer:
    # Starlette caches the parsed form, so the route's own Form parameters read the same one.
    form = await request.form()
    supplied = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(supplied, str) or not hmac.compare_digest(supplied, viewer.csrf):
        raise ConsoleError(403, "csrf")
    return viewer


async def get_poster(request: Request, viewer: ViewerDep) -> Viewer:
    return await _check_csrf(request, viewer)


async def get_admin_poster(request: Request, viewer: AdminDep) -> Viewer:
    return await _check_csrf(request, viewer)


PostDep = Annotated[Viewer, Depends(get_poster)]
AdminPostDep = Annotated[Viewer, Depends(get_admin_poster)]


def safe_next(target: str | None, default: str = "/console") -> str:
    """Only paths inside the console: a login link must not send anyone to another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return default


async def get_form(request: Request) -> FormData:
    """The parsed form, for routes whose field names depend on the record (value.<field>)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(get_form)]
