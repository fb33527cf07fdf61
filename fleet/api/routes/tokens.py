"""The API tokens page (administrators only): create (secret shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud
from fleet.api.deps import (
    AdminForm,
    AdminPage,
    AdminPageUser,
    ClockDep,
    CsrfForm,
    FormText,
    Page,
    SessionDep,
    check_form_csrf,
)
from fleet.api.labels import role_label
from fleet.models import USER_ROLES
from fleet.roles import Role

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

TOKEN_NAME_MAX_CHARS = 80


@router.get("/tokens", response_model=None)
def tokens_page(page: AdminPage, session: SessionDep) -> Response:
    return _render(page, session)


def _render(
    page: Page,
    session: Session,
    new_secret: str | None = None,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = page.language.gettext
    context: dict[str, Any] = {
        "tokens": crud.list_api_tokens(session),
        "roles": USER_ROLES,
        "role_label": lambda role: role_label(role, _),
        "new_secret": new_secret,
        "error": error,
    }
    # The page may hold a secret: no cache may keep it.
    return page.render("tokens.html", context, status_code, no_store=True)


@router.post("/tokens", response_model=None)
def create_token(
    page: AdminForm,
    session: SessionDep,
    name: FormText = "",
    role: FormText = Role.VIEWER,
) -> Response:
    _ = page.language.gettext
    label = name.strip()
    if not label or len(label) > TOKEN_NAME_MAX_CHARS or role not in USER_ROLES:
        return _render(
            page,
            session,
            error=_("A token needs a name (at most 80 characters) and a known role."),
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    _token, secret = crud.create_api_token(session, label, role, page.user.username, page.now)
    audit.record(session, page.user.username, "token_created", label, role)
    session.commit()
    return _render(page, session, new_secret=secret, status_code=status.HTTP_201_CREATED)


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
