"""Liveness and database reachability, for load balancers and the app's online indicator."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter
from sqlalchemy import text

from shared.protocol import PROTOCOL_VERSION, Health
from sync_server.api.deps import SessionDep

router = APIRouter(tags=["health"])


def _version() -> str:
    try:
        return version("gridsweep")
    except PackageNotFoundError:
        return "0+unknown"


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(
        status="ok",
        database=session.get_bind().dialect.name,
        protocol_version=PROTOCOL_VERSION,
        version=_version(),
    )
