"""Reads and writes of the fleet's tables, shared by the ingest, the web routes and the CLI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from sqlalchemy import Executable, func, select
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.orm import Session

from fleet.core.security import (
    api_token_hash,
    api_token_matches,
    hash_password,
    new_api_token,
    verify_password,
)
from fleet.models import (
    USER_ROLES,
    ApiToken,
    RejectedMessage,
    Terminal,
    User,
)
from fleet.roles import Role
from fleet.states import TerminalState


def utc_now() -> datetime:
    return datetime.now(UTC)


def get_or_create_terminal(session: Session, terminal_id: str, at: datetime) -> Terminal:
    """The terminal's row; created on its first valid message (the broker authenticated it).

    Several ingests (a share group) may see a new terminal's first messages at once: the row is
    made by an INSERT that does nothing when another one made it first, then read, so that the
    second ingest stores its message instead of failing it on the primary key.
    """
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        session.execute(insert_terminal_unless_present(session, terminal_id, at))
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:  # pragma: no cover - the INSERT or the other ingest's row is there
            raise RuntimeError(f"terminal {terminal_id!r} neither inserted nor found")
    return terminal


def insert_terminal_unless_present(session: Session, terminal_id: str, at: datetime) -> Executable:
    """``INSERT ... ON CONFLICT (id) DO NOTHING`` of a new terminal, in the session's dialect."""
    return _insert_terminals(session).values(_new_terminal(terminal_id, at))


def insert_terminals_unless_present(session: Session, first_seen: Mapping[str, datetime]) -> None:
    """Make the rows of the terminals not there yet (one statement, executemany), each born at
    the moment given; the others are left as they are."""
    session.execute(
        _insert_terminals(session), [_new_terminal(t, at) for t, at in first_seen.items()]
    )


def _new_terminal(terminal_id: str, at: datetime) -> dict[str, object]:
    return {
        "id": terminal_id,
        "state": TerminalState.UNKNOWN,
        "state_since": at,
        "created_at": at,
        "versions": {},
    }


def _insert_terminals(session: Session) -> SqliteInsert | PgInsert:
    """``INSERT ... ON CONFLICT (id) DO NOTHING`` into the terminals, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(Terminal).on_conflict_do_nothing(index_elements=["id"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(Terminal).on_conflict_do_nothing(index_elements=["id"])


def get_terminal(session: Session, terminal_id: str) -> Terminal | None:
    return session.get(Terminal, terminal_id)


def list_terminals(session: Session) -> list[Terminal]:
    return list(session.scalars(select(Terminal).order_by(Terminal.id)))


def count_by_state(terminals: list[Terminal]) -> dict[str, int]:
    """How many terminals are in each state, every state present (zero included)."""
    counts = Counter(terminal.state for terminal in terminals)
    return {state: counts.get(state, 0) for state in TerminalState}


def rejected_total(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(RejectedMessage.count), 0))) or 0)


def get_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def create_user(session: Session, username: str, password: str, role: str) -> User:
    """Add a user with a hashed password; the caller commits."""
    user = User(
        username=username, password_hash=hash_password(password), role=role, created_at=utc_now()
    )
    session.add(user)
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user if the password matches and the account is enabled, else ``None``.

    Same cost whether the user exists or is disabled: the password is always checked.
    """
    user = get_user(session, username)
    if not verify_password(user.password_hash if user else None, password):
        return None
    if user is None or user.disabled:
        return None
    return user


# --- users ---------------------------------------------------------------------------------


class UserChangeRefused(ValueError):
    """A change to the users that would break a rule (last admin, bad role, name taken...)."""


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def active_admin_count(session: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, ~User.disabled)
    return int(session.scalar(query) or 0)


def check_role(role: str) -> str:
    if role not in USER_ROLES:
        raise UserChangeRefused(f"unknown role {role!r}")
    return role


def _refuse_losing_last_admin(session: Session, user: User) -> None:
    """No change may leave the fleet without an enabled administrator."""
    if user.role == Role.ADMIN and not user.disabled and active_admin_count(session) <= 1:
        raise UserChangeRefused("last_admin")


def set_user_role(session: Session, user: User, role: str) -> None:
    """Change a user's role; the caller commits."""
    check_role(role)
    if role != Role.ADMIN:
        _refuse_losing_last_admin(session, user)
    user.role = role


def set_user_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable or enable a user; the caller commits."""
    if disabled:
        _refuse_losing_last_admin(session, user)
    user.disabled = disabled


# --- API tokens ----------------------------------------------------------------------------


def create_api_token(
    session: Session, name: str, role: str, created_by: str, now: datetime
) -> tuple[ApiToken, str]:
    """A new token row and its secret, which is shown once and never stored; caller commits."""
    check_role(role)
    secret = new_api_token()
    token = ApiToken(
        name=name,
        role=role,
        secret_hash=api_token_hash(secret),
        created_at=now,
        created_by=created_by,
    )
    session.add(token)
    return token, secret


def list_api_tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())).all()


def get_api_token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def find_api_token(session: Session, secret: str) -> ApiToken | None:
    """The live (not revoked) token whose secret this is, else ``None``."""
    row = session.scalar(select(ApiToken).where(ApiToken.secret_hash == api_token_hash(secret)))
    if row is None or row.revoked_at is not None or not api_token_matches(row.secret_hash, secret):
        return None
    return row
