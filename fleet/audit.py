"""The audit log: every action by a person (or an attempt), who and on what."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.crud import utc_now
from fleet.models import AuditEntry

MAX_DETAIL_CHARS: Final = 300
#: How many entries the audit page shows.
RECENT_ENTRIES: Final = 200


def record(
    session: Session,
    username: str,
    action: str,
    target: str | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry; the caller commits, with the action itself when there is one."""
    entry = AuditEntry(
        at=at or utc_now(),
        username=username[:64],
        action=action,
        target=None if target is None else target[:100],
        detail=None if detail is None else detail[:MAX_DETAIL_CHARS],
    )
    session.add(entry)
    return entry


def recent(session: Session, limit: int = RECENT_ENTRIES) -> Sequence[AuditEntry]:
    """The latest entries, newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return session.scalars(query).all()
