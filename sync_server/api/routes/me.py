"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Request

from shared.protocol import SignedOut, UserInfo
from sync_server.api.deps import CallerDep, SessionDep, client_ip
from sync_server.api.responses import SIGNED_IN, problems
from sync_server.api.views import user_info
from sync_server.services import staff

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=UserInfo, responses=problems(SIGNED_IN))
def me(caller: CallerDep) -> UserInfo:
    return user_info(caller.user)


@router.post("/me/sign-out-everywhere", response_model=SignedOut, responses=problems(SIGNED_IN))
def sign_out_everywhere(caller: CallerDep, session: SessionDep, request: Request) -> SignedOut:
    """End every sign-in of the caller's own account, this one included (a lost phone)."""
    ended = staff.sign_out_own(
        session=session,
        actor=caller.user,
        now=request.app.state.clock.now(),
        via="api",
        ip=client_ip(request),
        device_id=caller.device.id if caller.device else None,
    )
    return SignedOut(user_id=caller.user.id, ended=ended)
