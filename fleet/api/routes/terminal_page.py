"""One terminal's page: its figures, its commands, and buttons to send the common ones."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from fleet import audit, commands, crud
from fleet.alerts import store
from fleet.alerts.labels import alert_kind_label, alert_state_label
from fleet.api import formatting
from fleet.api.deps import (
    BrokerDep,
    CsrfTokenDep,
    LanguageDep,
    PageUser,
    PublisherDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    may_send_commands,
)
from fleet.core.security import CSRF_SESSION_KEY, csrf_token_matches

router = APIRouter(tags=["dashboard"])

#: The commands the page offers as buttons, in this order.
BUTTON_COMMANDS: Final = ("reboot", "restart_ui", "wipe_session", "refresh_content")
#: What the page says after a form POST (kept in the session across the redirect).
FLASH_SESSION_KEY: Final = "command_flash"

FormText = Annotated[str, Form()]


@router.get("/terminals/{terminal_id}", response_model=None)
def terminal_page(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    broker: BrokerDep,
    csrf_token: CsrfTokenDep,
) -> Response:
    _ = language.gettext
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal."))
    commands.expire_overdue(session)
    session.commit()
    now = crud.utc_now()
    clock = formatting.Clock(now, formatting.display_zone(settings.display_timezone), _)
    flash = request.session.pop(FLASH_SESSION_KEY, None)
    context: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token,
        "terminal": terminal,
        "commands": commands.recent_commands(session, terminal_id),
        "buttons": BUTTON_COMMANDS if may_send_commands(user) else (),
        "ttl_minutes": commands.DEFAULT_TTL_S // 60,
        "flash": flash if isinstance(flash, dict) else None,
        "broker": broker,
        "alerts": store.unresolved_alerts(session, terminal_id),
        "maintenance": store.current_window(session, terminal_id, now),
        "may_maintain": may_send_commands(user),
        "kind_label": lambda kind: alert_kind_label(kind, _),
        "alert_state_label": lambda state: alert_state_label(state, _),
        "clock": clock,
        "state_label": lambda state: formatting.state_label(state, _),
        "command_label": lambda name: formatting.command_label(name, _),
        "command_state_label": lambda state: formatting.command_state_label(state, _),
        "ui_alive": lambda value: formatting.ui_alive(value, _),
        "door": lambda value: formatting.door(value, _),
        "clock_sync": lambda value: formatting.clock_sync(value, _),
        "percent": formatting.percent,
        "temperature": formatting.temperature,
        "milliseconds": formatting.milliseconds,
        "count": formatting.count,
    }
    return templates.render(request, language.code, "terminal.html", context)


@router.post("/terminals/{terminal_id}/commands", response_model=None)
def send_command_form(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    publisher: PublisherDep,
    name: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """A button of the terminal page; back to the page, which says what became of it."""
    _ = language.gettext
    if not may_send_commands(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, _("Only operators and administrators may send commands.")
        )
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), csrf_token):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            _("This form has expired or was not sent by this page. Reload the page and try again."),
        )
    if name not in BUTTON_COMMANDS:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _("Unknown command."))
    try:
        row = commands.send_command(session, publisher, terminal_id, name, {}, user.username)
    except commands.UnknownTerminal as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal.")) from exc
    audit.record(session, user.username, "command_sent", terminal_id, f"{row.name} ({row.id})")
    session.commit()
    request.session[FLASH_SESSION_KEY] = {
        "name": row.name,
        "held": row.published_at is None,
    }
    return RedirectResponse(f"/terminals/{terminal_id}", status.HTTP_303_SEE_OTHER)
