"""The operations dashboard: presence and health of every terminal, refreshed live."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fleet import crud, presence
from fleet.alerts import store
from fleet.api import formatting
from fleet.api.deps import (
    BrokerDep,
    BrokerState,
    CsrfTokenDep,
    Language,
    LanguageDep,
    PageUser,
    SessionDep,
    SettingsDep,
    TemplatesDep,
)
from fleet.core.config import FleetSettings

router = APIRouter(tags=["dashboard"])


def live_context(
    session: Session, settings: FleetSettings, language: Language, broker: BrokerState
) -> dict[str, Any]:
    """What the summary and the table need, for the full page and for the live partial."""
    terminals = crud.list_terminals(session)
    limits = presence.PresenceLimits.from_settings(settings)
    zone = formatting.display_zone(settings.display_timezone)
    clock = formatting.Clock(crud.utc_now(), zone, language.gettext)
    return {
        "terminals": terminals,
        "counts": crud.count_by_state(terminals),
        "degraded_count": sum(
            1 for terminal in terminals if presence.presence_of(terminal, limits) == "degraded"
        ),
        "open_alerts": store.count_open(session),
        "rejected_total": crud.rejected_total(session),
        "broker": broker,
        "broker_down_since": clock.timestamp(broker.down_since),
        "clock": clock,
        "state_label": lambda state: formatting.state_label(state, language.gettext),
        "percent": formatting.percent,
        "temperature": formatting.temperature,
    }


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
    context = live_context(session, settings, language, broker)
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
    context = live_context(session, settings, language, broker)
    return templates.render(request, language.code, "partial_terminals.html", context)
