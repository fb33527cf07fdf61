"""The fleet web application: dashboard, API and the in-process MQTT ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from swagger_ui_bundle import swagger_ui_path

from fleet.api.deps import LoginRequired
from fleet.api.routes import alerts, audit, auth, dashboard, health, terminal_page, terminals
from fleet.api.routes import enrolment as enrolment_route
from fleet.api.routes import events as live_events
from fleet.api.routes import export as observatory_export
from fleet.api.routes import metrics as metrics_route
from fleet.api.routes import rollouts as rollouts_route
from fleet.api.routes import tokens as tokens_route
from fleet.api.routes import users as users_route
from fleet.api.templating import Templates
from fleet.content.serve import MOUNT_PATH as CONTENT_MOUNT_PATH
from fleet.content.serve import content_files
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.core.security import session_secret_key
from fleet.ingest.mqtt import Ingest

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: Swagger UI's scripts and styles for /docs, from the swagger-ui-bundle package.
DOCS_ASSETS: Final = "/docs/assets"
SESSION_COOKIE: Final = "fleet_session"
SESSION_MAX_AGE_S: Final = 12 * 3600  # one working day, then log in again


def create_app(settings: FleetSettings, start_ingest: bool = True) -> FastAPI:
    """Build the app; the ingest (if any) starts and stops with the app's lifespan."""
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    ingest = Ingest(settings, session_factory) if start_ingest else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if ingest is not None:
            ingest.start()
        try:
            yield
        finally:
            if ingest is not None:
                ingest.stop()
            engine.dispose()

    # FastAPI's own /docs and /redoc load scripts from a CDN, and ops networks may be closed:
    # /docs below serves Swagger UI from the swagger-ui-bundle package instead.
    app = FastAPI(title="Fleet", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.ingest = ingest
    app.state.templates = Templates()
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        """The API's OpenAPI description (``/openapi.json``), readable and tryable."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Fleet API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )

    for module in (auth, dashboard, terminal_page, alerts, audit, terminals, health):
        app.include_router(module.router)
    app.include_router(live_events.router)
    app.include_router(users_route.router)
    app.include_router(tokens_route.router)
    app.include_router(metrics_route.router)
    app.include_router(observatory_export.router)
    app.include_router(rollouts_route.router)
    app.include_router(enrolment_route.router)
    if settings.content_repo is not None:
        # Public by design: the TUF signatures, not secrecy, protect what terminals install.
        app.mount(CONTENT_MOUNT_PATH, content_files(settings.content_repo), name="content")

    @app.exception_handler(LoginRequired)
    async def redirect_to_login(_request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)

    return app
