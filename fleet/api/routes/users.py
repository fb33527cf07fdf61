"""The users page (administrators only): create users, change roles, disable and enable, end
their sessions, reset their second factor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, crud, second_factor, web_sessions
from fleet.api.deps import (
    AdminForm,
    AdminPage,
    FormText,
    Page,
    SessionDep,
)
from fleet.api.labels import role_label
from fleet.core.security import MIN_PASSWORD_LENGTH
from fleet.models import USER_ROLES
from fleet.roles import Role

router = APIRouter(tags=["dashboard"], include_in_schema=False)
#: A user id in a path: SQL integers, positive.
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]

USERNAME_MAX_CHARS = 64


def _render(
    page: Page,
    session: Session,
    error: str | None = None,
    status_code: int = status.HTTP_200_OK,
) -> Response:
    _ = page.language.gettext
    users = crud.list_users(session)
    context: dict[str, Any] = {
        "users": users,
        "open_sessions": web_sessions.open_counts(
            session, users, page.now, web_sessions.Limits.of(page.settings)
        ),
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
    page: AdminForm,
    session: SessionDep,
    username: FormText = "",
    password: FormText = "",
    role: FormText = Role.VIEWER,
) -> Response:
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
                detail = None
                if disabled:
                    ended = web_sessions.end_all(session, target.id)
                    detail = f"{ended} sessions ended"
                audit.record(session, actor, action, target.username, detail)
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
    user_id: UserId,
    page: AdminForm,
    session: SessionDep,
    role: FormText = "",
) -> Response:
    return _change(page, session, user_id, role, None)


@router.post("/users/{user_id}/disabled", response_model=None)
def change_disabled(
    user_id: UserId,
    page: AdminForm,
    session: SessionDep,
    disabled: FormText = "",
) -> Response:
    """``disabled=1`` disables the user, ``disabled=0`` enables them again."""
    return _change(page, session, user_id, None, disabled == "1")


@router.post("/users/{user_id}/sessions/end", response_model=None)
def end_sessions(
    user_id: UserId,
    page: AdminForm,
    session: SessionDep,
) -> Response:
    """End every session of the user (a lost laptop, someone leaving the team)."""
    target = crud.get_user_by_id(session, user_id)
    if target is None:
        return _render(page, session, page.language.gettext("No such user."), 404)
    ended = web_sessions.end_all(session, target.id)
    audit.record(
        session, page.user.username, "user_sessions_ended", target.username, f"{ended} sessions"
    )
    session.commit()
    return RedirectResponse("/users", status.HTTP_303_SEE_OTHER)


@router.post("/users/{user_id}/second-factor/reset", response_model=None)
def reset_second_factor(
    user_id: UserId,
    page: AdminForm,
    session: SessionDep,
) -> Response:
    """For a user who lost their phone and their recovery codes: they set it up again at their
    next login (when the fleet requires one). Their sessions end."""
    target = crud.get_user_by_id(session, user_id)
    if target is None:
        return _render(page, session, page.language.gettext("No such user."), 404)
    if target.has_second_factor:
        second_factor.disable(session, target)
        ended = web_sessions.end_all(session, target.id)
        audit.record(
            session,
            page.user.username,
            "user_second_factor_reset",
            target.username,
            f"{ended} sessions ended",
        )
        session.commit()
    return RedirectResponse("/users", status.HTTP_303_SEE_OTHER)
