"""Log in (password, then the second factor when the user has one) and out of the dashboard."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud, second_factor, throttle, web_sessions
from fleet.api.deps import (
    SESSION_SECRET_KEY,
    ClockDep,
    CsrfTokenDep,
    FormText,
    Language,
    LanguageDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    get_csrf_token,
    login_attempt,
    signed_in,
)
from fleet.api.login import login_page_response, restart_session, start_session
from fleet.api.templating import Templates
from fleet.core.config import FleetSettings
from fleet.core.security import CSRF_SESSION_KEY, csrf_token_matches
from fleet.models import User, WebSession

router = APIRouter(tags=["auth"], include_in_schema=False)

SECOND_FACTOR_PATH = "/login/second-factor"


@router.get("/login", response_model=None)
def login_page(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    clock: ClockDep,
    csrf_token: CsrfTokenDep,
) -> Response:
    if signed_in(request, session, settings, clock(), touch=False) is not None:
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    return login_page_response(request, language, templates, settings)


def _throttled(
    request: Request,
    session: Session,
    language: Language,
    templates: Templates,
    settings: FleetSettings,
    username: str,
    wait: float,
    now: datetime,
) -> Response:
    """429, the password not even checked; the same answer whether the account exists."""
    _ = language.gettext
    audit.record(session, username.strip()[:64] or "-", "login_throttled", at=now)
    session.commit()
    minutes = max(round(wait / 60), 1)
    refusal = login_page_response(
        request,
        language,
        templates,
        settings,
        error=_(
            "Too many failed attempts from here. Wait %(minutes)d min before trying again, "
            "or ask an administrator."
        )
        % {"minutes": minutes},
        username=username,
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
    )
    refusal.headers["Retry-After"] = throttle.retry_after_header(wait)
    return refusal


@router.post("/login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    clock: ClockDep,
    username: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    _ = language.gettext
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), csrf_token):
        return _expired_form(request, language, templates, settings, username)
    now = clock()
    attempt = login_attempt(request, session, settings, username, now)
    wait = attempt.wait_s()
    if wait > 0:
        return _throttled(request, session, language, templates, settings, username, wait, now)
    user = crud.authenticate(session, username.strip(), password)
    if user is None:
        attempt.failed()
        # The name typed, never the password: it may be a password typed in the wrong box,
        # so only what fits a username is kept.
        audit.record(session, username.strip()[:64] or "-", "login_failed", at=now)
        session.commit()
        return login_page_response(
            request,
            language,
            templates,
            settings,
            error=_("Wrong username or password"),
            username=username,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    if user.has_second_factor:
        # Not a success yet: forgetting this address's failures now would let someone who
        # knows the password guess codes for ever, logging in again between guesses.
        start_session(
            request, session, user, now, web_sessions.PASSWORD, awaiting_second_factor=True
        )
        return RedirectResponse(SECOND_FACTOR_PATH, status.HTTP_303_SEE_OTHER)
    attempt.succeeded()
    audit.record(session, user.username, "login", detail="password", at=now)
    start_session(request, session, user, now, web_sessions.PASSWORD)
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


def _pending(
    request: Request, session: Session, settings: FleetSettings, now: datetime
) -> tuple[WebSession, User] | None:
    """The session waiting for its second factor, and its user."""
    row = web_sessions.find(
        session, request.session.get(SESSION_SECRET_KEY), now, web_sessions.Limits.of(settings)
    )
    if row is None or not row.awaiting_second_factor:
        return None
    user = crud.get_user_by_id(session, row.user_id)
    if user is None or user.disabled or not user.has_second_factor:
        return None
    return row, user


def _second_factor_page(
    request: Request,
    language: Language,
    templates: Templates,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    context = {"csrf_token": get_csrf_token(request), "error": error}
    response = templates.render(
        request, language.code, "login_second_factor.html", context, status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(SECOND_FACTOR_PATH, response_model=None)
def second_factor_page(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    if _pending(request, session, settings, clock()) is None:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    return _second_factor_page(request, language, templates)


@router.post(SECOND_FACTOR_PATH, response_model=None)
def second_factor_login(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    clock: ClockDep,
    code: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """The code from the authenticator app, or one of the recovery codes."""
    _ = language.gettext
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), csrf_token):
        return _expired_form(request, language, templates, settings)
    now = clock()
    pending = _pending(request, session, settings, now)
    if pending is None:
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    row, user = pending
    attempt = login_attempt(request, session, settings, user.username, now)
    wait = attempt.wait_s()
    if wait > 0:
        audit.record(session, user.username, "login_throttled", detail="second factor", at=now)
        session.commit()
        refusal = _second_factor_page(
            request,
            language,
            templates,
            _("Too many wrong codes. Wait %(minutes)d min before trying again.")
            % {"minutes": max(round(wait / 60), 1)},
            status.HTTP_429_TOO_MANY_REQUESTS,
        )
        refusal.headers["Retry-After"] = throttle.retry_after_header(wait)
        return refusal
    how = "second factor"
    accepted = second_factor.verify_totp(user, code, now)
    if not accepted and second_factor.use_recovery_code(session, user, code, now):
        accepted, how = True, "recovery code"
    if not accepted:
        attempt.failed()
        audit.record(session, user.username, "second_factor_failed", at=now)
        session.commit()
        return _second_factor_page(
            request,
            language,
            templates,
            _("Wrong or already used code. Type the 6 digits your app shows now."),
            status.HTTP_401_UNAUTHORIZED,
        )
    attempt.succeeded()
    if how == "recovery code":
        left = second_factor.unused_recovery_codes(session, user)
        audit.record(session, user.username, "recovery_code_used", detail=f"{left} left", at=now)
    audit.record(session, user.username, "login", detail=f"password and {how}", at=now)
    row.awaiting_second_factor = False
    # A new secret once fully signed in: the one seen before the second factor opens nothing.
    secret = web_sessions.rotate(session, row, now)
    session.commit()
    restart_session(request)
    request.session[SESSION_SECRET_KEY] = secret
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    clock: ClockDep,
    csrf_token: FormText = "",
) -> Response:
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), csrf_token):
        return _expired_form(request, language, templates, settings)
    row = web_sessions.find(
        session,
        request.session.get(SESSION_SECRET_KEY),
        clock(),
        web_sessions.Limits.of(settings),
    )
    if row is not None:
        user = crud.get_user_by_id(session, row.user_id)
        if user is not None:
            audit.record(session, user.username, "logout")
        web_sessions.end(session, row)
        session.commit()
    restart_session(request)
    return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)


def _expired_form(
    request: Request,
    language: Language,
    templates: Templates,
    settings: FleetSettings,
    username: str = "",
) -> Response:
    """The login page again, saying why the form was refused (CSRF token missing or stale)."""
    _ = language.gettext
    return login_page_response(
        request,
        language,
        templates,
        settings,
        error=_(
            "This form has expired or was not sent by this page. Reload the page and try again."
        ),
        username=username,
        status_code=status.HTTP_400_BAD_REQUEST,
    )
