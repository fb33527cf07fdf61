"""Dashboard sessions kept in the database, so that ending one ends it everywhere.

The browser's cookie holds a random secret; the ``web_sessions`` row holds its SHA-256, the
user, when it started and when it was last used. A session is valid while its row exists, its
user is enabled, it was used within the idle timeout and started within the absolute one.
Logout, a password change, deactivation, the user or an administrator delete rows; a cookie
saved before that opens nothing afterwards, in every fleet process.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from fleet.core.config import FleetSettings
from fleet.models import User, WebSession

#: How long the password may wait for its second factor.
SECOND_FACTOR_WAIT: Final = timedelta(minutes=5)
#: ``last_seen_at`` is written at most this often (not one write per request).
TOUCH_EVERY: Final = timedelta(seconds=60)
MAX_USER_AGENT_CHARS: Final = 200
PASSWORD: Final = "password"
SSO: Final = "sso"


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, settings: FleetSettings) -> Limits:
        return cls(
            timedelta(seconds=settings.session_idle_timeout_s),
            timedelta(seconds=settings.session_max_age_s),
        )


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def open_session(
    session: Session,
    user: User,
    now: datetime,
    method: str,
    address: str | None,
    user_agent: str | None,
    awaiting_second_factor: bool = False,
) -> str:
    """A new session for ``user``; returns the secret for the cookie. The caller commits."""
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            secret_hash=secret_hash(secret),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            method=method,
            awaiting_second_factor=awaiting_second_factor,
            address=None if address is None else address[:64],
            user_agent=None if user_agent is None else user_agent[:MAX_USER_AGENT_CHARS],
        )
    )
    return secret


def _expired(row: WebSession, now: datetime, limits: Limits) -> bool:
    if row.awaiting_second_factor:
        return now - row.created_at > SECOND_FACTOR_WAIT
    return now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute


def find(session: Session, secret: object, now: datetime, limits: Limits) -> WebSession | None:
    """The live session of this cookie secret, else ``None`` (an expired row is deleted)."""
    if not isinstance(secret, str) or not secret:
        return None
    row = session.scalar(select(WebSession).where(WebSession.secret_hash == secret_hash(secret)))
    if row is None:
        return None
    if _expired(row, now, limits):
        session.delete(row)
        session.commit()
        return None
    return row


def touch(session: Session, row: WebSession, now: datetime) -> None:
    """Note a request of the person (not of the page's live updates); commits when written."""
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        session.commit()


def rotate(session: Session, row: WebSession, now: datetime) -> str:
    """A new secret for the same session (after the second factor); the caller commits."""
    secret = secrets.token_urlsafe(32)
    row.secret_hash = secret_hash(secret)
    row.last_seen_at = now
    return secret


def end(session: Session, row: WebSession) -> None:
    """End one session; the caller commits."""
    session.delete(row)


def end_all(session: Session, user_id: int, keep: int | None = None) -> int:
    """End every session of the user but ``keep``; returns how many. The caller commits."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    result = session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def of_user(session: Session, user_id: int, now: datetime, limits: Limits) -> list[WebSession]:
    """The user's open sessions, the latest used first."""
    rows = session.scalars(
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.awaiting_second_factor.is_(False))
        .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())
    ).all()
    return [row for row in rows if not _expired(row, now, limits)]


def get(session: Session, session_id: int) -> WebSession | None:
    return session.get(WebSession, session_id)


def open_counts(
    session: Session, users: Sequence[User], now: datetime, limits: Limits
) -> dict[int, int]:
    """How many open sessions each user has (for the users page)."""
    counts = dict.fromkeys((user.id for user in users), 0)
    for row in session.scalars(
        select(WebSession).where(WebSession.awaiting_second_factor.is_(False))
    ):
        if row.user_id in counts and not _expired(row, now, limits):
            counts[row.user_id] += 1
    return counts


def purge_expired(session: Session, now: datetime, limits: Limits) -> None:
    """Delete the rows of sessions that timed out; the caller commits."""
    session.execute(
        delete(WebSession).where(
            or_(
                WebSession.last_seen_at < now - limits.idle,
                WebSession.created_at < now - limits.absolute,
                WebSession.awaiting_second_factor.is_(True)
                & (WebSession.created_at < now - SECOND_FACTOR_WAIT),
            )
        )
    )
