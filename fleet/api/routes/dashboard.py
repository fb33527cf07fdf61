"""The operations dashboard: presence and health of every terminal, refreshed live."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleet.api.deps import (
    BrokerDep,
    CsrfTokenDep,
    LanguageDep,
    PageUser,
    SessionDep,
    SettingsDep,
    TemplatesDep,
)
from fleet.api.routes.live import TableQuery, live_context

router = APIRouter(tags=["dashboard"])


@router.get("/", response_model=None)
def dashboard(
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    broker: BrokerDep,
    csrf_token: CsrfTokenDep,
) -> Response:
    context = live_context(
        session, settings, language, broker, TableQuery.from_params(request.query_params)
    )
    context.update(user=user, csrf_token=csrf_token)
    return templates.render(request, language.code, "dashboard.html", context)


@router.get("/partials/terminals", response_model=None)
def terminals_partial(
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    broker: BrokerDep,
) -> Response:
    context = live_context(
        session, settings, language, broker, TableQuery.from_params(request.query_params)
    )
    return templates.render(request, language.code, "partial_terminals.html", context)
