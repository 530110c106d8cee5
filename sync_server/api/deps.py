"""Request dependencies: one database transaction per request, settings, and the caller.

The requests that write also queue at a gate first (`write_gate`), waiting on the event loop:
on SQLite one at a time (the database has one write lock), on PostgreSQL a few at a time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from shared.clock import Clock
from shared.hlc import HLC
from sync_server.blobs import BlobStore
from sync_server.config import Settings
from sync_server.db import REQUEST_THREADS, begin_write, transaction
from sync_server.errors import Forbidden, NotAuthenticated
from sync_server.services.auth import Caller, authenticate


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    """The process's clock: every rule that looks at the time reads it (`shared.clock`)."""
    clock: Clock = request.app.state.clock
    return clock


def get_hlc(request: Request) -> HLC:
    """The process's hybrid logical clock, which stamps the server's own writes."""
    hlc: HLC = request.app.state.hlc
    return hlc


def get_blobs(request: Request) -> BlobStore:
    """The process's photo store (`sync_server.blobs`)."""
    blobs: BlobStore = request.app.state.blobs
    return blobs


ClockDep = Annotated[Clock, Depends(get_clock)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]
HlcDep = Annotated[HLC, Depends(get_hlc)]


def client_ip(request: Request) -> str:
    """The peer's address (behind nginx, run uvicorn with --proxy-headers to see the client's)."""
    return request.client.host if request.client else ""


_READ_METHODS = ("GET", "HEAD")


Gate = anyio.Lock | anyio.Semaphore

POSTGRES_WRITERS = REQUEST_THREADS // 4
"""Writing requests of one process at once on PostgreSQL: the rest of the pool stays for reads."""


def make_write_gate(settings: Settings) -> Gate:
    """The process's queue for writing requests.

    SQLite: one at a time, its write lock is database-wide. PostgreSQL locks rows, so writers
    run side by side, but a writer waiting on another's lock (every push takes the change
    counter's) holds its connection, and a request holds one between its thread hops too: with
    100 phones pushing at once into one process the pool of 40 ran dry. A few at a time keeps
    most of the pool for reads. Made outside any event loop, anyio creates the backend at its
    first use, in the loop that serves the requests.
    """
    return anyio.Lock() if settings.is_sqlite else anyio.Semaphore(POSTGRES_WRITERS)


async def write_gate(request: Request) -> AsyncIterator[None]:
    """Held by a writing request from before its connection opens until after its commit.

    SQLite's own queue for the write lock is a busy handler that sleeps and polls: unfair, so
    under 100 pushes at once some waited out the busy timeout, and every waiter held a request
    thread and a pooled connection meanwhile (the pool ran dry). Here waiters queue in arrival
    order (anyio's lock hands over first in, first out) on the event loop, holding neither.
    It is awaited, never taken in a thread: a thread blocked on it could be the one its holder
    needs to run the route (a threading lock here once deadlocked the process at 40 writers).
    Several processes on one file still meet at SQLite's lock, each sending one writer at a time.
    """
    gate: Gate = request.app.state.write_gate
    if request.method in _READ_METHODS:
        yield
        return
    async with gate:
        yield


# scope="function" like SessionDep's below, whose transaction it encloses: the gate opens for the
# next writer only after the commit.
WriteGateDep = Annotated[None, Depends(write_gate, scope="function")]


def get_session(request: Request, _gate: WriteGateDep) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back if it raises.

    Every request but a GET takes the write lock up front (SQLite: BEGIN IMMEDIATE), so two
    writers queue at the start instead of one failing halfway through; in this process they
    queued at `write_gate` before that.
    """
    with request.app.state.sessionmaker() as session, session.begin():
        if request.method not in _READ_METHODS:
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
    pool of 15 ran dry and every sign-in waited out the pool timeout.)

    It skips `write_gate`: it runs inside the route, in a request thread, which must not block
    on an async gate (that is the deadlock the gate exists to avoid). On SQLite it waits at the
    database's busy timeout instead, which is enough: its transaction is a few rows, and the
    gate lets at most one other writer of this process compete with it.
    """

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


def get_caller(
    session: SessionDep, settings: SettingsDep, token: TokenDep, clock: ClockDep
) -> Caller:
    return authenticate(session=session, settings=settings, token=token, now=clock.now())


CallerDep = Annotated[Caller, Depends(get_caller)]


def get_device_caller(caller: CallerDep) -> Caller:
    """The caller, who must have signed in as a device: a token issued without a device id (a
    script's, say) cannot be revoked with a lost phone, so it reads no personal data."""
    if caller.device is None:
        raise Forbidden(
            "personal data is given only to a signed-in device: sign in with a device_id",
            code="device_required",
        )
    return caller


DeviceCallerDep = Annotated[Caller, Depends(get_device_caller)]
"""The caller, signed in as a device: for routes that answer with residents' personal data."""


def get_reading_caller(
    session: ReadSessionDep, settings: SettingsDep, token: TokenDep, clock: ClockDep
) -> Caller:
    return authenticate(session=session, settings=settings, token=token, now=clock.now())


ReadingCallerDep = Annotated[Caller, Depends(get_reading_caller)]
"""The caller, authenticated in the read transaction (routes that use `ReadSessionDep`)."""


def get_reading_device_caller(caller: ReadingCallerDep) -> Caller:
    """`get_device_caller`, in the read transaction."""
    return get_device_caller(caller)


ReadingDeviceCallerDep = Annotated[Caller, Depends(get_reading_device_caller)]
"""The caller, signed in as a device, authenticated in the read transaction."""
