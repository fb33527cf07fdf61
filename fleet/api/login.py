"""Opening a dashboard session and showing the login page, shared by the password login
(``routes/auth.py``) and single sign-on (``routes/sso.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fleet import web_sessions
from fleet.api.deps import (
    LANGUAGE_SESSION_KEY,
    SESSION_SECRET_KEY,
    Language,
    client_address,
    get_csrf_token,
)
from fleet.api.templating import Templates
from fleet.core.config import FleetSettings
from fleet.core.security import CSRF_SESSION_KEY, new_csrf_token
from fleet.models import User


def restart_session(request: Request) -> None:
    """A fresh cookie session (against fixation), keeping only the chosen language."""
    language = request.session.get(LANGUAGE_SESSION_KEY)
    request.session.clear()
    if language is not None:
        request.session[LANGUAGE_SESSION_KEY] = language
    request.session[CSRF_SESSION_KEY] = new_csrf_token()


def start_session(
    request: Request,
    session: Session,
    user: User,
    now: datetime,
    method: str,
    awaiting_second_factor: bool = False,
) -> None:
    """Open the server-side session, commit, and put its secret in a fresh cookie."""
    web_sessions.purge_expired(session, now, web_sessions.Limits.of(request.app.state.settings))
    secret = web_sessions.open_session(
        session,
        user,
        now,
        method,
        client_address(request),
        request.headers.get("user-agent"),
        awaiting_second_factor,
    )
    session.commit()
    restart_session(request)
    request.session[SESSION_SECRET_KEY] = secret


def login_page_response(
    request: Request,
    language: Language,
    templates: Templates,
    settings: FleetSettings,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
    username: str = "",
) -> Response:
    """The login page, with ``error`` said on it."""
    _ = language.gettext
    context: dict[str, Any] = {
        "csrf_token": get_csrf_token(request),
        "error": error,
        "username": username,
        "sso_label": (settings.oidc_button_label or _("Log in with single sign-on"))
        if settings.sso_enabled()
        else None,
    }
    return templates.render(request, language.code, "login.html", context, status_code)
