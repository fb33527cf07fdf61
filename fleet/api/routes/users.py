"""The users page (administrators only): create users, change roles, disable and enable."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud
from fleet.api import formatting
from fleet.api.deps import (
    AdminPage,
    CsrfForm,
    FormText,
    Page,
    SessionDep,
    check_form_csrf,
)
from fleet.core.security import MIN_PASSWORD_LENGTH
from fleet.models import USER_ROLES

router = APIRouter(tags=["dashboard"])

USERNAME_MAX_CHARS = 64


def role_label(role: str, _: formatting.Gettext) -> str:
    labels = {"viewer": _("viewer"), "operator": _("operator"), "admin": _("administrator")}
    return labels.get(role, role)


def _render(
    page: Page,
    session: Session,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = page.language.gettext
    context: dict[str, Any] = {
        "users": crud.list_users(session),
        "roles": USER_ROLES,
        "role_label": lambda role: role_label(role, _),
        "error": error,
        "min_password_length": MIN_PASSWORD_LENGTH,
    }
    return page.render("users.html", context, status_code)


@router.get("/users", response_model=None)
def users_page(page: AdminPage, session: SessionDep) -> Response:
    return _render(page, session)


@router.post("/users", response_model=None)
def create_user(
    page: AdminPage,
    session: SessionDep,
    username: FormText = "",
    password: FormText = "",
    role: FormText = "viewer",
    form_csrf_token: CsrfForm = "",
) -> Response:
    check_form_csrf(page.request, form_csrf_token)
    _ = page.language.gettext
    name = username.strip()
    error: str | None = None
    if not name or len(name) > USERNAME_MAX_CHARS:
        error = _("A username is needed (at most 64 characters).")
    elif len(password) < MIN_PASSWORD_LENGTH:
        error = _("The password must have at least %(count)d characters.") % {
            "count": MIN_PASSWORD_LENGTH
        }
    elif role not in USER_ROLES:
        error = _("Unknown role.")
    elif crud.get_user(session, name) is not None:
        error = _("This username is already taken.")
    if error is not None:
        return _render(page, session, error, status.HTTP_400_BAD_REQUEST)
    crud.create_user(session, name, password, role)
    audit.record(session, page.user.username, "user_created", name, role)
    session.commit()
    return RedirectResponse("/users", status.HTTP_303_SEE_OTHER)


def _change(
    page: Page, session: Session, user_id: int, role: str | None, disabled: bool | None
) -> Response:
    _ = page.language.gettext
    actor = page.user.username
    target = crud.get_user_by_id(session, user_id)
    error: str | None = None
    if target is None:
        error = _("No such user.")
    else:
        try:
            if role is not None:
                crud.set_user_role(session, target, role)
                audit.record(session, actor, "user_role_changed", target.username, role)
            if disabled is not None:
                crud.set_user_disabled(session, target, disabled)
                action = "user_disabled" if disabled else "user_enabled"
                audit.record(session, actor, action, target.username)
        except crud.UserChangeRefused as refused:
            session.rollback()
            if str(refused) == "last_admin":
                error = _("The fleet would be left without an enabled administrator.")
            else:
                error = _("Unknown role.")
    if error is not None:
        code = status.HTTP_409_CONFLICT if target is not None else status.HTTP_404_NOT_FOUND
        return _render(page, session, error, code)
    session.commit()
    return RedirectResponse("/users", status.HTTP_303_SEE_OTHER)


@router.post("/users/{user_id}/role", response_model=None)
def change_role(
    user_id: int,
    page: AdminPage,
    session: SessionDep,
    role: FormText = "",
    form_csrf_token: CsrfForm = "",
) -> Response:
    check_form_csrf(page.request, form_csrf_token)
    return _change(page, session, user_id, role, None)


@router.post("/users/{user_id}/disabled", response_model=None)
def change_disabled(
    user_id: int,
    page: AdminPage,
    session: SessionDep,
    disabled: FormText = "",
    form_csrf_token: CsrfForm = "",
) -> Response:
    """``disabled=1`` disables the user, ``disabled=0`` enables them again."""
    check_form_csrf(page.request, form_csrf_token)
    return _change(page, session, user_id, None, disabled == "1")
