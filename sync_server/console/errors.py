"""Console errors become HTML pages (or a redirect to the login form), never problem+json.

Console routes use `ConsoleRoute`, which turns a service's `DomainError` (and a malformed form)
into a `ConsoleError` *inside* the route, so the exception still travels through the request's
transaction and rolls it back; the app-level handler installed by `install_error_pages` then
renders the page. Catching the error and returning a page from inside the route instead would
let the transaction commit a half-done change.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from sync_server.errors import DomainError


class ConsoleError(Exception):
    """Shown as an error page: `code` picks the message (`error.<code>` in the catalogue)."""

    def __init__(self, status: int, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.status, self.code, self.detail = status, code, detail


class LoginRequired(ConsoleError):
    def __init__(self) -> None:
        super().__init__(401, "login_required")


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as exc:
                raise ConsoleError(exc.status, exc.code, exc.detail) from exc
            except RequestValidationError as exc:
                fields = ", ".join(
                    str(e.get("loc", ("",))[-1]) for e in exc.errors() if e.get("loc")
                )
                raise ConsoleError(422, "invalid_form", fields) from exc

        return route


def _login_redirect(request: Request) -> Response:
    target = "/console/login"
    if request.method == "GET":
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target += "?next=" + quote(here, safe="")
    if request.headers.get("HX-Request"):
        # htmx follows this header with a full page load instead of swapping in a fragment.
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def install_error_pages(app: FastAPI) -> None:
    from sync_server.console.deps import viewer_lang
    from sync_server.console.render import render_error

    async def _console_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ConsoleError)
        if isinstance(exc, LoginRequired):
            return _login_redirect(request)
        return render_error(request, viewer_lang(request), exc.status, exc.code, exc.detail)

    app.add_exception_handler(ConsoleError, _console_error)
