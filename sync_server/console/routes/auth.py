"""Signing in and out of the console, and switching its language."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shared.schema import Role
from sync_server.api.deps import ClockDep, SettingsDep, client_ip
from sync_server.console.deps import (
    LANG_COOKIE,
    SESSION_COOKIE,
    ConsoleSessionDep,
    PostDep,
    safe_next,
    viewer_lang,
)
from sync_server.console.i18n import LANGS
from sync_server.console.render import render
from sync_server.console.routes import new_router
from sync_server.errors import DomainError
from sync_server.services import auth, throttle

router = new_router()
LOGIN_ERRORS = ("invalid_credentials", "account_inactive", "worker_refused", "too_many_attempts")


@router.get("/login")
def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    return render(
        request, "login.html", viewer=None, lang=viewer_lang(request), next=next, error=""
    )


@router.post("/login")
def login(
    request: Request,
    session: ConsoleSessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/console",
) -> Response:
    lang = viewer_lang(request)

    def refuse(code: str, status: int) -> HTMLResponse:
        code = code if code in LOGIN_ERRORS else "invalid_credentials"
        return render(
            request, "login.html", viewer=None, lang=lang, next=next, error=code, status_code=status
        )

    try:
        issued = throttle.login(
            session=session,
            settings=settings,
            username=username,
            password=password,
            ip=client_ip(request),
            now=clock.now(),
        )
    except DomainError as exc:
        # Returned, not raised: the transaction keeps the failed attempt and its audit event.
        page = refuse(exc.code, exc.status)
        if "retry_after" in exc.extra:
            page.headers["Retry-After"] = str(exc.extra["retry_after"])
        return page
    if issued.user.role in (Role.WORKER, Role.HANDLER):
        # Workers sweep and handlers take orders with the app; the token just issued is revoked
        # at once (a handler's cookie would only ever meet a 403).
        auth.logout(session=session, settings=settings, token=issued.token, now=clock.now())
        return refuse("worker_refused", 403)
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.token_ttl_hours * 3600,
        path="/console",
        httponly=True,
        samesite="strict",
        # Always in production: a proxy that forgets X-Forwarded-Proto must not make it plain.
        secure=request.url.scheme == "https" or settings.env == "production",
    )
    return response


@router.post("/logout")
def logout(
    viewer: PostDep, session: ConsoleSessionDep, settings: SettingsDep, clock: ClockDep
) -> Response:
    auth.logout(session=session, settings=settings, token=viewer.token, now=clock.now())
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.get("/lang/{lang}")
def switch_language(request: Request, lang: str, next: str = "/console") -> Response:
    """A preference, not an action: a GET that only sets the language cookie is safe."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=400 * 86400, path="/console", samesite="lax")
    return response
