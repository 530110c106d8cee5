"""Request dependencies: one database transaction per request, settings, and the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from sync_server.config import Settings
from sync_server.db import begin_write, transaction
from sync_server.errors import NotAuthenticated
from sync_server.services.auth import Caller, authenticate


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str:
    """The peer's address (behind nginx, run uvicorn with --proxy-headers to see the client's)."""
    return request.client.host if request.client else ""


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back if it raises.

    Every request but a GET takes the write lock up front (SQLite: BEGIN IMMEDIATE), so two
    writers queue at the start instead of one failing halfway through.
    """
    with request.app.state.sessionmaker() as session, session.begin():
        if request.method not in ("GET", "HEAD"):
            begin_write(session)
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A transaction that only reads, whatever the method: it never waits for the write lock.

    For POSTs that answer from the database, above all a pull: on SQLite a pull holding the
    write lock while it pages through a bootstrap made every push and sign-in behind it wait.
    What such a request must write goes through `WriterDep`, in its own short transaction.
    """
    with request.app.state.sessionmaker() as session, session.begin():
        yield session


# scope="function" for the same reason as SessionDep's below.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
Writer = Callable[[], AbstractContextManager[Session]]


def get_writer(request: Request, session: ReadSessionDep) -> Writer:
    """Opens a short write transaction of its own (committed when its block ends), after ending
    the request's read transaction: a request never holds two connections at once. (It did at
    first: with 40 request threads each holding a read connection and waiting for a second, the
    pool of 15 ran dry and every sign-in waited out the pool timeout.)"""

    def write() -> AbstractContextManager[Session]:
        session.close()  # what was read stays usable: sessions never expire loaded rows
        return transaction(request.app.state.sessionmaker)

    return write


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# scope="function": the transaction commits before the response is sent. With the default
# (request scope) FastAPI would send "applied" first and commit after, so a failed commit
# would lose changes the phone had already dropped from its outbox.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriterDep = Annotated[Writer, Depends(get_writer)]

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


def get_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("sign in first: send 'Authorization: Bearer <token>'")
    return credentials.credentials


TokenDep = Annotated[str, Depends(get_token)]


def get_caller(session: SessionDep, settings: SettingsDep, token: TokenDep) -> Caller:
    return authenticate(session=session, settings=settings, token=token)


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_reading_caller(session: ReadSessionDep, settings: SettingsDep, token: TokenDep) -> Caller:
    return authenticate(session=session, settings=settings, token=token)


ReadingCallerDep = Annotated[Caller, Depends(get_reading_caller)]
"""The caller, authenticated in the read transaction (routes that use `ReadSessionDep`)."""
