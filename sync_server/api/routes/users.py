"""Accounts, for admins: end a user's sign-ins everywhere, deactivate or reactivate an account.

The same services as the console's user page (`services.staff`), audited there.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from shared.protocol import AccountState, ActiveChange, SignedOut
from sync_server.api.deps import CallerDep, SessionDep, client_ip
from sync_server.api.responses import BODY, SIGNED_IN, problems
from sync_server.services import staff

router = APIRouter(prefix="/users", tags=["users"])


@router.post(
    "/{user_id}/sign-out-everywhere",
    response_model=SignedOut,
    responses=problems(SIGNED_IN, 404, 422),
)
def sign_out_everywhere(
    user_id: str, caller: CallerDep, session: SessionDep, request: Request
) -> SignedOut:
    """End every token and console session of the user; the account stays active (admins)."""
    ended = staff.sign_out_everywhere(
        session=session,
        actor=caller.user,
        user_id=user_id,
        now=request.app.state.clock.now(),
        via="api",
        ip=client_ip(request),
        device_id=caller.device.id if caller.device else None,
    )
    return SignedOut(user_id=user_id, ended=ended)


@router.post(
    "/{user_id}/active", response_model=AccountState, responses=problems(BODY, SIGNED_IN, 404)
)
def set_active(
    user_id: str, body: ActiveChange, caller: CallerDep, session: SessionDep, request: Request
) -> AccountState:
    """Deactivate (every sign-in ends, none is possible) or reactivate an account (admins)."""
    user = staff.set_active(
        session=session,
        actor=caller.user,
        user_id=user_id,
        active=body.active,
        now=request.app.state.clock.now(),
        via="api",
        ip=client_ip(request),
        device_id=caller.device.id if caller.device else None,
    )
    return AccountState(user_id=user.id, username=user.username, active=user.active)
