"""The signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from shared.protocol import UserInfo
from sync_server.api.deps import CallerDep
from sync_server.api.views import user_info

router = APIRouter(tags=["auth"])


@router.get("/me", response_model=UserInfo)
def me(caller: CallerDep) -> UserInfo:
    return user_info(caller.user)
