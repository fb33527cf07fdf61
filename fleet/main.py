"""The fleet web application: dashboard, API and the in-process MQTT ingest."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from fleet.api import errors
from fleet.api.deps import LoginRequired, SecondFactorSetupRequired
from fleet.api.routes import (
    account,
    alerts,
    audit,
    auth,
    dashboard,
    health,
    observatory_pages,
    see_terminal,
    terminal_page,
    terminals,
)
from fleet.api.routes import availability as availability_route
from fleet.api.routes import bulk as bulk_route
from fleet.api.routes import enrolment as enrolment_route
from fleet.api.routes import events as live_events
from fleet.api.routes import export as observatory_export
from fleet.api.routes import metrics as metrics_route
from fleet.api.routes import notifications as notifications_route
from fleet.api.routes import placement as placement_route
from fleet.api.routes import rollouts as rollouts_route
from fleet.api.routes import sso as sso_route
from fleet.api.routes import tokens as tokens_route
from fleet.api.routes import users as users_route
from fleet.api.security_headers import SecurityHeadersMiddleware
from fleet.api.templating import Templates
from fleet.content.serve import MOUNT_PATH as CONTENT_MOUNT_PATH
from fleet.content.serve import content_files
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.core.security import session_secret_key
from fleet.ingest.mqtt import Ingest
from fleet.sso import oauth_registry

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
#: Swagger UI's scripts and styles for /docs, from the fastapi-swagger package's copy of
#: Swagger UI (only its files: the package's own FastAPI wiring is not used).
DOCS_ASSETS: Final = "/docs/assets"
API_DOCS_PAGE: Final = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Fleet API</title>
<link rel="icon" href="{DOCS_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="{DOCS_ASSETS}/swagger-ui.css">
<link rel="stylesheet" href="/static/api-docs.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{DOCS_ASSETS}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""
#: Every router of the app, pages and API (tests visit all their routes).
ROUTERS: Final = tuple(
    module.router
    for module in (
        auth,
        account,
        dashboard,
        # Before the terminal page: /terminals/actions is not a terminal.
        bulk_route,
        terminal_page,
        see_terminal,
        alerts,
        audit,
        terminals,
        health,
        live_events,
        users_route,
        tokens_route,
        metrics_route,
        observatory_export,
        observatory_pages,
        rollouts_route,
        enrolment_route,
        sso_route,
        notifications_route,
        availability_route,
        placement_route,
    )
)
SESSION_COOKIE: Final = "fleet_session"


def swagger_ui_files() -> Path:
    """Where Swagger UI's own files are (``swagger-ui-bundle.js``, its CSS and icon)."""
    return Path(str(resources.files("fastapi_swagger") / "resources"))


def freeze_startup_heap() -> None:
    """Leave what start-up built (modules, templates, compiled queries) out of every later
    garbage collection (:func:`gc.freeze`): a full collection otherwise walks it all, and at
    100,000 terminals it made a terminal page's p95 190 ms against a p50 of 65 (frozen: 99 ms).
    Called by ``fleet serve`` once the app is built, and by the benchmark at the same point."""
    gc.collect()
    gc.freeze()


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
    # /docs below serves Swagger UI from the fastapi-swagger package's files instead.
    app = FastAPI(title="Fleet", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.ingest = ingest
    app.state.templates = Templates()
    app.state.oauth = oauth_registry(settings)
    # The signed cookie carries the server-side session's secret (fleet.web_sessions) and what
    # a page needs before login (language, CSRF token, flash messages); it authenticates
    # nothing by itself.
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret_key(settings),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.session_max_age_s),
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts_max_age_s=settings.hsts_max_age_s)
    if settings.trusted_proxies.strip():
        # Outermost: the client's address and scheme are settled before anything reads them.
        app.add_middleware(
            ProxyHeadersMiddleware,
            trusted_hosts=[str(network) for network in settings.proxy_networks()],
        )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(DOCS_ASSETS, StaticFiles(directory=swagger_ui_files()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        """The API's OpenAPI description (``/openapi.json``), readable and tryable.

        FastAPI's own page starts Swagger UI from an inline script, which the dashboard's CSP
        forbids; this one starts it from ``/static/api-docs.js``.
        """
        return HTMLResponse(API_DOCS_PAGE)

    for router in ROUTERS:
        app.include_router(router)
    if settings.content_repo is not None:
        # Public by design: the TUF signatures, not secrecy, protect what terminals install.
        app.mount(CONTENT_MOUNT_PATH, content_files(settings.content_repo), name="content")

    errors.install(
        app, lambda: [*app.router.routes, *(r for router in ROUTERS for r in router.routes)]
    )

    @app.exception_handler(LoginRequired)
    async def redirect_to_login(_request: Request, _exc: LoginRequired) -> RedirectResponse:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)

    @app.exception_handler(SecondFactorSetupRequired)
    async def redirect_to_setup(
        _request: Request, _exc: SecondFactorSetupRequired
    ) -> RedirectResponse:
        return RedirectResponse(account.SETUP_PATH, status.HTTP_303_SEE_OTHER)

    return app
