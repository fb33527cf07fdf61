"""Reads and writes of the fleet's tables, shared by the ingest, the web routes and the CLI."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.core.security import hash_password, verify_password
from fleet.models import TERMINAL_STATES, RejectedMessage, Terminal, User


def utc_now() -> datetime:
    return datetime.now(UTC)


def get_or_create_terminal(session: Session, terminal_id: str, at: datetime) -> Terminal:
    """The terminal's row; created on its first valid message (the broker authenticated it)."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        terminal = Terminal(
            id=terminal_id, state="unknown", state_since=at, created_at=at, versions={}
        )
        session.add(terminal)
    return terminal


def get_terminal(session: Session, terminal_id: str) -> Terminal | None:
    return session.get(Terminal, terminal_id)


def list_terminals(session: Session) -> list[Terminal]:
    return list(session.scalars(select(Terminal).order_by(Terminal.id)))


def count_by_state(terminals: list[Terminal]) -> dict[str, int]:
    """How many terminals are in each state, every state present (zero included)."""
    counts = Counter(terminal.state for terminal in terminals)
    return {state: counts.get(state, 0) for state in TERMINAL_STATES}


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
    """The user if the password matches, else ``None`` (same cost whether the user exists)."""
    user = get_user(session, username)
    if not verify_password(user.password_hash if user else None, password):
        return None
    return user
