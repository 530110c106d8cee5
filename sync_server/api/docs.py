"""The API's docs page, served from the package's own copy of Swagger UI (swagger-ui-bundle).

FastAPI's default page loads Swagger UI from a CDN with no integrity check: a server in a
government network should neither depend on nor trust a third party's script for its own docs.
Only installed where the settings turn the docs on (`Settings.docs_enabled`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path


def install_docs(app: FastAPI, *, prefix: str) -> None:
    """GET `{prefix}/docs`, its files under `{prefix}/docs/static`."""
    static = f"{prefix}/docs/static"
    app.mount(static, StaticFiles(directory=swagger_ui_path), name="api-docs-static")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{prefix}/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url=f"{static}/swagger-ui-bundle.js",
            swagger_css_url=f"{static}/swagger-ui.css",
            swagger_favicon_url=f"{static}/favicon-32x32.png",
        )
