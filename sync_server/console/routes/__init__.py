"""Console routes, one module per area; each builds its router with `new_router`."""

from __future__ import annotations

from fastapi import APIRouter

from sync_server.console.errors import ConsoleRoute


def new_router() -> APIRouter:
    # Every console route turns service errors into error pages (see console.errors).
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False)
