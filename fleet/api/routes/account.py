"""The signed-in person's own account: open sessions, password, second factor."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, HTTPException, Path, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud, second_factor, throttle, web_sessions
from fleet.api.deps import (
    SESSION_SECRET_KEY,
    FormText,
    Page,
    SessionDep,
    SignedInForm,
    SignedInPage,
    current_web_session_id,
    login_attempt,
)
from fleet.core.security import MIN_PASSWORD_LENGTH, hash_password, verify_password

router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: The cookie session's key for a second factor being set up (not yet confirmed).
SETUP_SECRET_KEY: Final = "totp_setup"
SETUP_PATH: Final = "/account/second-factor"
MAX_PASSWORD_CHARS: Final = 1024


def _limits(page: Page) -> web_sessions.Limits:
    return web_sessions.Limits.of(page.settings)


def _render(
    page: Page,
    session: Session,
    error: str | None = None,
    notice: str | None = None,
    recovery_codes: list[str] | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    user = page.user
    context: dict[str, Any] = {
        "sessions": web_sessions.of_user(session, user.id, page.now, _limits(page)),
        "this_session": current_web_session_id(page.request),
        "error": error,
        "notice": notice,
        "recovery_codes": recovery_codes,
        "recovery_left": second_factor.unused_recovery_codes(session, user),
        "second_factor_required": second_factor.required_for(
            user, page.settings.second_factor_required
        ),
        "min_password_length": MIN_PASSWORD_LENGTH,
    }
    return page.render("account.html", context, status_code, no_store=True)


@router.get("/account", response_model=None)
def account_page(page: SignedInPage, session: SessionDep) -> Response:
    return _render(page, session)


@router.post("/account/sessions/{session_id}/end", response_model=None)
def end_one_session(
    page: SignedInForm,
    session: SessionDep,
    session_id: int = Path(ge=1, le=2**31 - 1),
) -> Response:
    """End one of one's own sessions (another browser, a lost laptop)."""
    row = web_sessions.get(session, session_id)
    if row is None or row.user_id != page.user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, page.language.gettext("No such session."))
    web_sessions.end(session, row)
    audit.record(session, page.user.username, "session_ended", f"session {session_id}")
    session.commit()
    if session_id == current_web_session_id(page.request):
        return RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    return RedirectResponse("/account", status.HTTP_303_SEE_OTHER)


@router.post("/account/sessions/end-others", response_model=None)
def end_other_sessions(page: SignedInForm, session: SessionDep) -> Response:
    count = web_sessions.end_all(session, page.user.id, keep=current_web_session_id(page.request))
    audit.record(session, page.user.username, "sessions_ended", detail=f"{count} other sessions")
    session.commit()
    return RedirectResponse("/account", status.HTTP_303_SEE_OTHER)


def _keep_only_this_session(page: Page, session: Session) -> int:
    """End the user's other sessions and give this one a new secret (its cookie too)."""
    current = current_web_session_id(page.request)
    ended = web_sessions.end_all(session, page.user.id, keep=current)
    row = None if current is None else web_sessions.get(session, current)
    if row is not None:
        page.request.session[SESSION_SECRET_KEY] = web_sessions.rotate(session, row, page.now)
    return ended


@router.post("/account/password", response_model=None)
def change_password(
    page: SignedInForm,
    session: SessionDep,
    current_password: FormText = "",
    new_password: FormText = "",
    new_password_again: FormText = "",
) -> Response:
    """A new password; every other session of the user ends (they would still use the old)."""
    _ = page.language.gettext
    user = page.user
    if user.uses_single_sign_on:
        return _render(
            page,
            session,
            error=_("Your password is managed by single sign-on, not here."),
            status_code=status.HTTP_409_CONFLICT,
        )
    attempt = login_attempt(page.request, session, page.settings, user.username, page.now)
    wait = attempt.wait_s()
    if wait > 0:
        response = _render(
            page,
            session,
            error=_("Too many wrong passwords. Wait %(minutes)d min before trying again.")
            % {"minutes": max(round(wait / 60), 1)},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        )
        response.headers["Retry-After"] = throttle.retry_after_header(wait)
        return response
    if not verify_password(user.password_hash, current_password[:MAX_PASSWORD_CHARS]):
        attempt.failed()
        audit.record(session, user.username, "password_change_failed", at=page.now)
        session.commit()
        return _render(
            page,
            session,
            error=_("The current password is wrong."),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    error: str | None = None
    if len(new_password) < MIN_PASSWORD_LENGTH or len(new_password) > MAX_PASSWORD_CHARS:
        error = _("The password must have at least %(count)d characters.") % {
            "count": MIN_PASSWORD_LENGTH
        }
    elif new_password != new_password_again:
        error = _("The two new passwords differ.")
    if error is not None:
        return _render(page, session, error=error, status_code=status.HTTP_400_BAD_REQUEST)
    db_user = crud.get_user_by_id(session, user.id)
    assert db_user is not None  # the page's user was read in this very session
    db_user.password_hash = hash_password(new_password)
    ended = _keep_only_this_session(page, session)
    audit.record(session, user.username, "password_changed", detail=f"{ended} other sessions ended")
    session.commit()
    return _render(page, session, notice=_("Password changed. Your other sessions have ended."))


# --- second factor ------------------------------------------------------------------------


def _setup_secret(page: Page) -> str:
    """The secret being set up, kept in the cookie session until it is confirmed."""
    secret = page.request.session.get(SETUP_SECRET_KEY)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = second_factor.new_secret()
        page.request.session[SETUP_SECRET_KEY] = secret
    return secret


def _render_setup(
    page: Page, error: str | None = None, status_code: int = status.HTTP_200_OK
) -> Response:
    _ = page.language.gettext
    secret = _setup_secret(page)
    uri = second_factor.provisioning_uri(secret, page.user.username)
    context: dict[str, Any] = {
        "qr_svg": second_factor.qr_svg(uri, _("QR code to scan with an authenticator app")),
        "secret_text": second_factor.grouped(secret),
        "error": error,
        "required": second_factor.required_for(page.user, page.settings.second_factor_required),
    }
    return page.render("second_factor_setup.html", context, status_code, no_store=True)


@router.get(SETUP_PATH, response_model=None)
def second_factor_setup(page: SignedInPage) -> Response:
    if page.user.has_second_factor or page.user.uses_single_sign_on:
        return RedirectResponse("/account", status.HTTP_303_SEE_OTHER)
    return _render_setup(page)


@router.post(SETUP_PATH, response_model=None)
def second_factor_confirm(page: SignedInForm, session: SessionDep, code: FormText = "") -> Response:
    """The first code from the app proves it holds the secret; the recovery codes follow."""
    _ = page.language.gettext
    if page.user.has_second_factor or page.user.uses_single_sign_on:
        return RedirectResponse("/account", status.HTTP_303_SEE_OTHER)
    secret = _setup_secret(page)
    step = second_factor.matching_step(secret, code, page.now)
    if step is None:
        return _render_setup(
            page,
            _("This is not the code the app shows now: check the app's clock and try again."),
            status.HTTP_400_BAD_REQUEST,
        )
    user = crud.get_user_by_id(session, page.user.id)
    assert user is not None
    codes = second_factor.enable(session, user, secret, step, page.now)
    del page.request.session[SETUP_SECRET_KEY]
    # Sessions opened with the password alone end: from now on it takes both.
    ended = _keep_only_this_session(page, session)
    audit.record(
        session, user.username, "second_factor_enabled", detail=f"{ended} other sessions ended"
    )
    session.commit()
    return _render(
        page,
        session,
        notice=_("The second factor is on."),
        recovery_codes=codes,
        status_code=status.HTTP_201_CREATED,
    )


def _confirmed_by_code(page: Page, session: Session, code: str) -> bool:
    user = crud.get_user_by_id(session, page.user.id)
    return user is not None and second_factor.verify_totp(user, code, page.now)


def _wrong_code(page: Page, session: Session) -> Response:
    session.rollback()
    return _render(
        page,
        session,
        error=page.language.gettext(
            "Wrong or already used code. Type the 6 digits your app shows now."
        ),
        status_code=status.HTTP_400_BAD_REQUEST,
    )


@router.post("/account/second-factor/recovery-codes", response_model=None)
def new_recovery_codes(page: SignedInForm, session: SessionDep, code: FormText = "") -> Response:
    """Ten fresh recovery codes (the old ones stop working), shown once."""
    _ = page.language.gettext
    if not page.user.has_second_factor:
        return RedirectResponse(SETUP_PATH, status.HTTP_303_SEE_OTHER)
    if not _confirmed_by_code(page, session, code):
        return _wrong_code(page, session)
    codes = second_factor.new_recovery_codes(session, page.user)
    audit.record(session, page.user.username, "recovery_codes_renewed")
    session.commit()
    return _render(page, session, recovery_codes=codes)


@router.post("/account/second-factor/disable", response_model=None)
def disable_second_factor(page: SignedInForm, session: SessionDep, code: FormText = "") -> Response:
    _ = page.language.gettext
    if not page.user.has_second_factor:
        return RedirectResponse("/account", status.HTTP_303_SEE_OTHER)
    if second_factor.required_for(page.user, page.settings.second_factor_required):
        return _render(
            page,
            session,
            error=_("The fleet requires a second factor for your role: it cannot be turned off."),
            status_code=status.HTTP_409_CONFLICT,
        )
    if not _confirmed_by_code(page, session, code):
        return _wrong_code(page, session)
    user = crud.get_user_by_id(session, page.user.id)
    assert user is not None
    second_factor.disable(session, user)
    audit.record(session, user.username, "second_factor_disabled")
    session.commit()
    return _render(page, session, notice=_("The second factor is off."))
