"""The supervisor and admin web console, served by the sync server at /console.

Server-rendered HTML (Jinja2) with light progressive enhancement (htmx, shipped in `static/`):
every page works with plain links and forms, offline, on an office PC. Routes are thin and one
module per area (`routes/`); the work is done by the same services and queries as the API.
`install_console(app)` is the one line `create_app` needs.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sync_server.console import fonts
from sync_server.console.errors import install_error_pages
from sync_server.console.routes import (
    audit,
    auth,
    businesses,
    campaigns,
    conflicts,
    dashboard,
    exports,
    inspections,
    manage,
    matters,
    posts,
    review,
    units,
)

STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(fonts.router)
    for module in (
        auth,
        dashboard,
        review,
        conflicts,
        manage,
        campaigns,
        inspections,
        businesses,
        matters,
        units,
        posts,
        exports,
        audit,
    ):
        app.include_router(module.router, prefix="/console")
    install_error_pages(app)
