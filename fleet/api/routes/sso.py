"""Single sign-on: to the OpenID provider and back (Authlib's Starlette client)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from fleet import audit, sso, web_sessions
from fleet.api.deps import ClockDep, Language, LanguageDep, SessionDep, SettingsDep, TemplatesDep
from fleet.api.login import login_page_response, start_session
from fleet.api.templating import Templates
from fleet.core.config import FleetSettings

if TYPE_CHECKING:
    from authlib.integrations.starlette_client import OAuth

logger = logging.getLogger(__name__)


def _flow_errors() -> tuple[type[Exception], ...]:
    """What the flow raises when the provider or its answer fails (Authlib loaded by then)."""
    from authlib.integrations.base_client import OAuthError
    from httpx import HTTPError

    return (HTTPError, OAuthError, ValueError, KeyError)


router = APIRouter(tags=["auth"], include_in_schema=False)

CALLBACK_ROUTE: Final = "sso_callback"


def _provider(request: Request) -> Any:
    oauth: OAuth | None = getattr(request.app.state, "oauth", None)
    if oauth is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "single sign-on is not configured")
    return oauth.create_client(sso.PROVIDER_NAME)


@router.get("/login/sso", response_model=None)
async def sso_start(request: Request, language: LanguageDep, templates: TemplatesDep) -> Response:
    """Off to the provider, with a state, a nonce and a PKCE challenge kept in the cookie."""
    provider = _provider(request)
    try:
        redirect: Response = await provider.authorize_redirect(
            request, str(request.url_for(CALLBACK_ROUTE))
        )
    except _flow_errors() as error:
        logger.error("Single sign-on: the provider cannot be reached (%s).", error)
        return _refused(request, language, templates, "unreachable")
    return redirect


#: Why single sign-on was refused → the status of the login page that says so.
REFUSAL_STATUS: Final = {
    "unreachable": status.HTTP_502_BAD_GATEWAY,
    "failed": status.HTTP_400_BAD_REQUEST,
    "no_subject": status.HTTP_400_BAD_REQUEST,
    "bad_username": status.HTTP_403_FORBIDDEN,
    "no_role": status.HTTP_403_FORBIDDEN,
    "name_taken": status.HTTP_403_FORBIDDEN,
    "disabled": status.HTTP_403_FORBIDDEN,
}


def _refused(request: Request, language: Language, templates: Templates, reason: str) -> Response:
    """The login page again, saying in plain words why single sign-on did not let them in."""
    _ = language.gettext
    messages = {
        "unreachable": _(
            "The sign-on service does not answer. Try again, or log in with a fleet account."
        ),
        "no_role": _(
            "Your account has no access to the fleet: ask to be added to one of its groups."
        ),
        "name_taken": _(
            "A fleet account already has your name: ask an administrator to rename it."
        ),
        "disabled": _("Your access to the fleet is disabled: ask an administrator."),
    }
    text = messages.get(reason, _("Single sign-on did not complete. Try again."))
    settings: FleetSettings = request.app.state.settings
    code = REFUSAL_STATUS.get(reason, status.HTTP_400_BAD_REQUEST)
    return login_page_response(request, language, templates, settings, text, code)


@router.get("/login/sso/callback", name=CALLBACK_ROUTE, response_model=None)
async def sso_callback(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    language: LanguageDep,
    templates: TemplatesDep,
    clock: ClockDep,
) -> Response:
    """Back from the provider: the code for tokens, the ID token checked, then a session."""
    provider = _provider(request)
    try:
        token = await provider.authorize_access_token(request)
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        if settings.oidc_groups_claim not in claims:
            # Many providers put groups in the userinfo answer only.
            claims.update(await provider.userinfo(token=token))
    except _flow_errors() as error:
        logger.warning("Single sign-on refused by the provider or the checks: %s", error)
        return _refused(request, language, templates, "failed")
    now = clock()
    try:
        await run_in_threadpool(_sign_in, request, session, claims, settings, now)
    except sso.SignOnRefused as refused:
        await run_in_threadpool(_record_refusal, session, refused, now)
        return _refused(request, language, templates, refused.reason)
    return RedirectResponse("/", status.HTTP_303_SEE_OTHER)


def _sign_in(
    request: Request,
    session: Session,
    claims: dict[str, Any],
    settings: FleetSettings,
    now: Any,
) -> None:
    try:
        user = sso.sign_in(session, sso.identity_of(claims, settings), now)
    except sso.SignOnRefused:
        session.rollback()
        raise
    audit.record(session, user.username, "login", detail="single sign-on", at=now)
    start_session(request, session, user, now, web_sessions.SSO)


def _record_refusal(session: Session, refused: sso.SignOnRefused, now: Any) -> None:
    audit.record(session, refused.who, "sso_refused", detail=refused.reason, at=now)
    session.commit()
