"""The one place where errors become HTTP problem responses with stable codes."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.protocol import Problem
from sync_server.errors import DomainError

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Invalid request",
    426: "Upgrade required",
    429: "Too many requests",
}


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, object]] | None = None,
    *,
    retry_after: int | None = None,
) -> JSONResponse:
    body = Problem(
        title=_TITLES.get(status, "Error"), status=status, detail=detail, code=code, errors=errors
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def domain_problem(exc: DomainError) -> JSONResponse:
    retry_after = exc.extra.get("retry_after")
    return problem_response(
        exc.status,
        exc.code,
        exc.detail,
        exc.extra.get("errors"),
        retry_after=retry_after if isinstance(retry_after, int) else None,
    )


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(DataError)
    async def _data(_request: Request, _exc: DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL byte in a path, a number out of range): the
        # request's transaction has rolled back; say so rather than fail with a 500.
        return problem_response(
            422,
            "invalid_value",
            "a value in the request cannot be stored (for example a NUL character)",
        )

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors: list[dict[str, object]] = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "reason": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) or "invalid request"
        return problem_response(422, "invalid_request", detail, errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = problem_response(exc.status_code, code, str(exc.detail))
        # A 405 says which methods the path takes (`Allow`), as HTTP requires.
        response.headers.update(exc.headers or {})
        return response
