"""Sign in and out."""

from __future__ import annotations

from fastapi import APIRouter, status

from shared.protocol import LoginRequest, TokenResponse
from sync_server.api.deps import SessionDep, SettingsDep, TokenDep
from sync_server.api.views import user_info
from sync_server.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenResponse)
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> TokenResponse:
    issued = auth.login(
        session=session,
        settings=settings,
        username=body.username,
        password=body.password,
        device_id=body.device_id,
        device_name=body.device_name,
        app_version=body.app_version,
    )
    return TokenResponse(
        access_token=issued.token, expires_at=issued.expires_at, user=user_info(issued.user)
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(session: SessionDep, settings: SettingsDep, token: TokenDep) -> None:
    auth.logout(session=session, settings=settings, token=token)
