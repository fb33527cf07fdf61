"""The operations dashboard: presence and health of every terminal, refreshed live."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fleet.api import formatting
from fleet.api.deps import (
    BrokerDep,
    LanguageDep,
    LiveUser,
    PageDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
)
from fleet.api.overview.context import live_context
from fleet.api.overview.table import TableQuery

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: The observatory export form offers the last this many days by default.
EXPORT_DAYS: Final = 30


@router.get("/", response_model=None)
def dashboard(page: PageDep, session: SessionDep, broker: BrokerDep) -> Response:
    query = TableQuery.from_params(page.request.query_params)
    context = live_context(session, page.settings, page.language, broker, query)
    today = page.now.astimezone(formatting.display_zone(page.settings.display_timezone)).date()
    start = today - timedelta(days=EXPORT_DAYS - 1)
    context.update(
        export_from=start.isoformat(),
        export_to=today.isoformat(),
        # A date field reads in the browser's own language: the page says the days in its own.
        export_period=page.language.gettext("From %(start)s to %(end)s (%(days)d days).")
        % {"start": page.clock.day(start), "end": page.clock.day(today), "days": EXPORT_DAYS},
    )
    return page.render("dashboard.html", context)


@router.get("/partials/terminals", response_model=None)
def terminals_partial(
    request: Request,
    user: LiveUser,
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
