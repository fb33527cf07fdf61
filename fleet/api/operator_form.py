"""The check every operator's form passes before it acts: sent by an operator or an
administrator (not a viewer), with this session's CSRF token."""

from __future__ import annotations

from fastapi import HTTPException, Request, status

from fleet.api.deps import Language, may_send_commands
from fleet.core.security import CSRF_SESSION_KEY, csrf_token_matches
from fleet.models import User


def check_operator_form(
    request: Request, user: User, language: Language, token: str, refusal: str | None = None
) -> None:
    """Refuse a form from a viewer (403, with ``refusal`` if given) or without this session's
    CSRF token (400)."""
    _ = language.gettext
    if not may_send_commands(user):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            refusal or _("Only operators and administrators may do this."),
        )
    if not csrf_token_matches(request.session.get(CSRF_SESSION_KEY), token):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            _("This form has expired or was not sent by this page. Reload the page and try again."),
        )
