"""The API tokens page (administrators only): create (secret shown once), list, revoke."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud
from fleet.api import formatting
from fleet.api.deps import (
    AdminPageUser,
    ClockDep,
    CsrfForm,
    CsrfTokenDep,
    FormText,
    Language,
    LanguageDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    check_form_csrf,
)
from fleet.api.routes.users import role_label
from fleet.api.templating import Templates
from fleet.core.config import FleetSettings
from fleet.models import USER_ROLES, User

router = APIRouter(tags=["dashboard"])

TOKEN_NAME_MAX_CHARS = 80


@router.get("/tokens", response_model=None)
def tokens_page(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    csrf_token: CsrfTokenDep,
    clock: ClockDep,
) -> Response:
    return _render(request, user, session, settings, language, templates, csrf_token, clock)


def _render(
    request: Request,
    user: User,
    session: Session,
    settings: FleetSettings,
    language: Language,
    templates: Templates,
    csrf_token: str,
    clock: Callable[[], datetime],
    new_secret: str | None = None,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = language.gettext
    display = formatting.Clock(clock(), formatting.display_zone(settings.display_timezone), _)
    context: dict[str, Any] = {
        "user": user,
        "csrf_token": csrf_token,
        "tokens": crud.list_api_tokens(session),
        "roles": USER_ROLES,
        "role_label": lambda role: role_label(role, _),
        "clock": display,
        "new_secret": new_secret,
        "error": error,
    }
    response = templates.render(request, language.code, "tokens.html", context, status_code)
    # The page may hold a secret: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens", response_model=None)
def create_token(
    request: Request,
    user: AdminPageUser,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    csrf_token: CsrfTokenDep,
    clock: ClockDep,
    name: FormText = "",
    role: FormText = "viewer",
    form_csrf_token: CsrfForm = "",
) -> Response:
    check_form_csrf(request, form_csrf_token)
    _ = language.gettext
    label = name.strip()
    if not label or len(label) > TOKEN_NAME_MAX_CHARS or role not in USER_ROLES:
        return _render(
            request,
            user,
            session,
            settings,
            language,
            templates,
            csrf_token,
            clock,
            error=_("A token needs a name (at most 80 characters) and a known role."),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    _token, secret = crud.create_api_token(session, label, role, user.username, clock())
    audit.record(session, user.username, "token_created", label, role)
    session.commit()
    return _render(
        request,
        user,
        session,
        settings,
        language,
        templates,
        csrf_token,
        clock,
        new_secret=secret,
        status_code=status.HTTP_201_CREATED,
    )


@router.post("/tokens/{token_id}/revoke", response_model=None)
def revoke_token(
    request: Request,
    token_id: int,
    user: AdminPageUser,
    session: SessionDep,
    clock: ClockDep,
    form_csrf_token: CsrfForm = "",
) -> Response:
    check_form_csrf(request, form_csrf_token)
    token = crud.get_api_token(session, token_id)
    if token is not None and token.revoked_at is None:
        token.revoked_at = clock()
        audit.record(session, user.username, "token_revoked", token.name)
        session.commit()
    return RedirectResponse("/tokens", status.HTTP_303_SEE_OTHER)
