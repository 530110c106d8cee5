"""The FastAPI application factory."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shared import heap
from shared.clock import Clock
from shared.hlc import HLC
from shared.protocol import THUMBS_MEDIA_TYPE, Problem
from sync_server.api.body import document_bodies
from sync_server.api.deps import make_write_gate
from sync_server.api.docs import install_docs
from sync_server.api.problems import install_problem_handlers
from sync_server.api.routes import (
    auth,
    campaigns,
    conflicts,
    grid,
    health,
    me,
    photos,
    sync,
    users,
)
from sync_server.api.transport import SyncTransportMiddleware
from sync_server.blobs import blob_store_for
from sync_server.config import Settings, get_settings
from sync_server.console import install_console
from sync_server.db import make_engine, make_sessionmaker

API_PREFIX = "/api/v1"


@asynccontextmanager
async def _lifespan(_app: FastAPI) -> AsyncIterator[None]:
    heap.settle()
    yield


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The server; `clock` (default: the settings' clock) is where every rule reads the time."""
    settings = settings or get_settings()
    clock = clock or settings.clock()
    engine = make_engine(settings, clock=clock)
    app = FastAPI(
        title="GridSweep sync server",
        summary="Authoritative grid, delta sync and review for grid-based community governance",
        version="1",
        openapi_url=f"{API_PREFIX}/openapi.json" if settings.docs_enabled else None,
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.write_gate = make_write_gate(settings)
    app.state.clock = clock
    app.state.blobs = blob_store_for(settings)
    # One hybrid logical clock per process; a random node id keeps several processes' stamps
    # distinct. Its physical part reads the same clock as every other rule.
    app.state.hlc = HLC(f"server-{secrets.token_hex(4)}", wall=clock.wall_ms)
    install_problem_handlers(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (health, auth, me, users, grid, sync, conflicts, campaigns, photos):
        api.include_router(module.router)
    app.include_router(api)
    document_bodies(app, [*sync.BODY_MODELS, Problem])
    if settings.docs_enabled:
        install_docs(app, prefix=API_PREFIX)
    install_console(app)
    app.add_middleware(
        SyncTransportMiddleware,
        max_body_bytes=settings.max_body_bytes,
        sync_prefix=f"{API_PREFIX}/sync/",
        upload_path=rf"^({API_PREFIX}|/console)/campaigns/[^/]+/completions$|^/console/manage/import$",
        max_upload_bytes=settings.max_upload_bytes,
    )
    # A batch of thumbnails is JPEGs, which do not compress: gzipping them only costs time.
    app.add_middleware(
        GZipMiddleware,
        minimum_size=1024,
        exclude_content_types=(*DEFAULT_EXCLUDED_CONTENT_TYPES, THUMBS_MEDIA_TYPE),
    )
    if settings.proxies:
        # Outermost: every part of the app sees the client's address, and only a named proxy's
        # headers are believed (none by default, whatever uvicorn itself would trust).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxies)
    return app
