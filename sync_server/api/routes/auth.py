"""Sign in and out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from shared.protocol import LoginRequest, TokenResponse
from sync_server.api.deps import (
    CallerDep,
    ClockDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    TokenDep,
    WriterDep,
    client_ip,
)
from sync_server.api.problems import domain_problem
from sync_server.api.responses import BODY, SIGNED_IN, problems
from sync_server.api.views import user_info
from sync_server.errors import DomainError
from sync_server.services import auth, throttle

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    responses=problems(BODY, 401, 403, 429),
    response_model=TokenResponse,
)
def login(
    body: LoginRequest,
    request: Request,
    session: ReadSessionDep,
    write: WriterDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> TokenResponse | Response:
    """The password is checked in a read transaction; only recording the attempt and issuing the
    token take the write lock (hundreds of phones sign in at the start of a campaign day)."""
    attempt = throttle.check(
        session=session,
        settings=settings,
        username=body.username,
        password=body.password,
        ip=client_ip(request),
        now=clock.now(),
    )
    with write() as tx:
        try:
            issued = throttle.conclude(
                session=tx,
                settings=settings,
                attempt=attempt,
                now=clock.now(),
                device_id=body.device_id,
                device_name=body.device_name,
                app_version=body.app_version,
            )
        except DomainError as exc:
            # Returned, not raised: the transaction commits the failed attempt and its audit
            # event (the attempt's own writes were already rolled back to their savepoint).
            return domain_problem(exc)
    return TokenResponse(
        access_token=issued.token, expires_at=issued.expires_at, user=user_info(issued.user)
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problems(SIGNED_IN))
def logout(
    _caller: CallerDep, session: SessionDep, settings: SettingsDep, token: TokenDep, clock: ClockDep
) -> None:
    """End this sign-in. A token that is not a live one is answered 401, like any other call."""
    auth.logout(session=session, settings=settings, token=token, now=clock.now())
