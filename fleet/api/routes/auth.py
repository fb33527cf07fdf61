"""Log in and out of the dashboard."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response

from fleet import audit, crud
from fleet.api.deps import (
    LANGUAGE_SESSION_KEY,
    USER_SESSION_KEY,
    ClockDep,
    CsrfTokenDep,
    FormText,
    LanguageDep,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    get_csrf_token,
)
from fleet.core.security import CSRF_SESSION_KEY, csrf_token_matches, new_csrf_token

router = APIRouter(tags=["auth"])


def _restart_session(request: Request) -> None:
    """A fresh session (against fixation), keeping only the chosen language."""
    language = request.session.get(LANGUAGE_SESSION_KEY)
    request.session.clear()
    if language is not None:
        request.session[LANGUAGE_SESSION_KEY] = language
    request.session[CSRF_SESSION_KEY] = new_csrf_token()


@router.get("/login", response_model=None)
def login_page(
    request: Request, language: LanguageDep, templates: TemplatesDep, csrf_token: CsrfTokenDep
) -> Response:
    if isinstance(request.session.get(USER_SESSION_KEY), int):
        return RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    return templates.render(
        request, language.code, "login.html", {"csrf_token": csrf_token, "error": None}
    )


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
        return _expired_form(request, language, templates, username)
    now = clock()
    keys = crud.login_failure_keys(username, request.client.host if request.client else None)
    window_s = settings.login_window_s
    if crud.login_blocked(session, keys, now, settings.login_max_failures, window_s):
        # Same answer whether the account exists; the password is not even checked.
        audit.record(session, username.strip()[:64] or "-", "login_throttled", at=now)
        session.commit()
        refusal = templates.render(
            request,
            language.code,
            "login.html",
            {
                "csrf_token": get_csrf_token(request),
                "error": _(
                    "Too many failed attempts. Wait a few minutes before trying again, "
                    "or ask an administrator."
                ),
                "username": username,
            },
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        refusal.headers["Retry-After"] = str(int(window_s))
        return refusal
    user = crud.authenticate(session, username.strip(), password)
    if user is None:
        crud.record_login_failure(session, keys, now, window_s)
        # The name typed, never the password: it may be a password typed in the wrong box,
        # so only what fits a username is kept.
        audit.record(session, username.strip()[:64] or "-", "login_failed")
        session.commit()
        return templates.render(
            request,
            language.code,
            "login.html",
            {
                "csrf_token": get_csrf_token(request),
                "error": _("Wrong username or password"),
                "username": username,
            },
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    crud.reset_login_failures(session, keys[0])
    audit.record(session, user.username, "login")
    session.commit()
    _restart_session(request)
    request.session[USER_SESSION_KEY] = user.id
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


@router.post("/logout", response_model=None)
def logout(
    request: Request,
    session: SessionDep,
    language: LanguageDep,
    templates: TemplatesDep,
    csrf_token: FormText = "",
) -> Response:
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), csrf_token):
        return _expired_form(request, language, templates)
    user_id = request.session.get(USER_SESSION_KEY)
    user = crud.get_user_by_id(session, user_id) if isinstance(user_id, int) else None
    if user is not None:
        audit.record(session, user.username, "logout")
        session.commit()
    _restart_session(request)
    return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)


def _expired_form(
    request: Request, language: LanguageDep, templates: TemplatesDep, username: str = ""
) -> Response:
    """The login page again, saying why the form was refused (CSRF token missing or stale)."""
    _ = language.gettext
    return templates.render(
        request,
        language.code,
        "login.html",
        {
            "csrf_token": get_csrf_token(request),
            "error": _(
                "This form has expired or was not sent by this page. Reload the page and try again."
            ),
            "username": username,
        },
        status_code=status.HTTP_400_BAD_REQUEST,
    )
