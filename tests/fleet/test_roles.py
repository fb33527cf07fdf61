"""The roles are declared once (fleet/roles.py): the database, the forms and the words follow."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fleet import crud, roles
from fleet.i18n import LOCALE_DIR, gettext_for
from fleet.models import USER_ROLES, ApiToken, User
from fleet.roles import Role


def test_the_forms_offer_exactly_the_declared_roles() -> None:
    """The stored values never change (rows hold them), in the order the forms offer them."""
    assert [role.value for role in USER_ROLES] == ["viewer", "operator", "admin", "observatoire"]
    assert set(roles.LABELS) == set(Role)
    assert set(roles.SIGN_ON_ORDER) | {Role.OBSERVATORY} == set(Role)


@pytest.mark.parametrize("role", list(Role), ids=str)
def test_every_role_has_its_words_in_french_and_english(role: Role) -> None:
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / "fleet.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    entry = catalog.get(roles.LABELS[role])
    assert entry is not None
    assert entry.string
    assert roles.role_label(role, gettext_for("fr")) == entry.string
    assert roles.role_label(role, gettext_for("en")) == roles.LABELS[role]


def test_a_value_that_is_not_a_role_is_shown_as_it_is() -> None:
    assert roles.role_label("superuser", gettext_for("fr")) == "superuser"


@pytest.mark.parametrize("table", [User.__tablename__, ApiToken.__tablename__])
def test_the_database_refuses_a_role_that_is_not_declared(db_session: Session, table: str) -> None:
    """The same row passes with a declared role: what is refused is the role alone."""
    user = crud.create_user(db_session, "ada", "correct horse battery staple", role=Role.VIEWER)
    db_session.commit()

    def write(role: str) -> None:
        if table == User.__tablename__:
            db_session.execute(text("UPDATE users SET role = :role"), {"role": role})
        else:
            db_session.add(
                ApiToken(
                    name=f"t-{role}",
                    role=role,
                    secret_hash=role.ljust(64, "0"),
                    created_at=user.created_at,
                    created_by=user.username,
                )
            )
        db_session.flush()

    for role in Role:
        write(role.value)
    with pytest.raises(IntegrityError, match="role_known"):
        write("superuser")
