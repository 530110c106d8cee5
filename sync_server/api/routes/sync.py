"""Push and pull: the sync endpoints (docs/sync-protocol.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from shared.protocol import PullRequest, PullResponse, PushRequest, PushResponse
from sync_server.api.body import body_extra, json_body
from sync_server.api.deps import (
    CallerDep,
    ClockDep,
    HlcDep,
    ReadingCallerDep,
    ReadSessionDep,
    SessionDep,
    SettingsDep,
    WriterDep,
)
from sync_server.api.responses import SYNC, problems
from sync_server.api.transport import protocol_problem
from sync_server.errors import ProtocolMismatch
from sync_server.services import pull as pull_service
from sync_server.services import push as push_service

router = APIRouter(prefix="/sync", tags=["sync"])
BODY_MODELS = [PushRequest]
PushBody = Annotated[PushRequest, Depends(json_body(PushRequest))]


def _check_version(version: int) -> None:
    """The body's protocol version must be one the server speaks, like the header's."""
    problem = protocol_problem(str(version))
    if problem is not None:
        status, code, detail = problem
        raise ProtocolMismatch(detail, status=status, code=code)


@router.post(
    "/push",
    response_model=PushResponse,
    openapi_extra=body_extra(PushRequest),
    responses=problems(SYNC),
)
def push(
    body: PushBody,
    caller: CallerDep,
    session: SessionDep,
    hlc: HlcDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> PushResponse:
    """Apply a batch of device operations; each gets its own result. Safe to retry."""
    _check_version(body.protocol_version)
    return push_service.push(
        session=session,
        caller=caller,
        request=body,
        clock=hlc,
        now=clock.now(),
        rating_window_days=settings.matter_rating_window_days,
    )


@router.post("/pull", response_model=PullResponse, responses=problems(SYNC, 409))
def pull(
    body: PullRequest,
    caller: ReadingCallerDep,
    session: ReadSessionDep,
    write: WriterDep,
    hlc: HlcDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> PullResponse:
    """Records of the caller's grids changed after the cursor (a bootstrap when it is null).

    Served from a read transaction, so pulls never queue behind pushes for the write lock; what
    the device reported is written after, in a short transaction of its own.
    """
    _check_version(body.protocol_version)
    response = pull_service.pull(
        session=session,
        caller=caller,
        request=body,
        clock=hlc,
        now=clock.now(),
        key=pull_service.cursor_key(settings.secret_key),
    )
    with write() as tx:
        pull_service.record_contact(
            session=tx, device_id=body.device_id, request=body, now=clock.now()
        )
    return response
