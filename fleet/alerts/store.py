"""Reads and writes of alerts and maintenance windows for the pages (the engine has its own)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from fleet import severity
from fleet.crud import utc_now
from fleet.models import Alert, MaintenanceWindow, Terminal
from fleet.presence import PresenceLimits
from fleet.states import ALERT_MOVES, AlertState


@dataclass(frozen=True, slots=True)
class ActiveWindows:
    """Who is in maintenance now: everyone, or these terminals."""

    everyone: bool
    terminal_ids: frozenset[str]

    def covers(self, terminal_id: str) -> bool:
        return self.everyone or terminal_id in self.terminal_ids


def unresolved_alerts(
    session: Session,
    terminal_id: str | None = None,
    limits: PresenceLimits | None = None,
    now: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[Alert]:
    """Open and acknowledged alerts, worst first: by their terminal's severity
    (:mod:`fleet.severity`), then the worse kind, then the newest first; ``limit`` of them
    from ``offset``."""
    rank = severity.severity_rank(limits or PresenceLimits(), now or utc_now())
    query = (
        select(Alert)
        .join(Terminal, Terminal.id == Alert.terminal_id)
        .where(Alert.state != AlertState.RESOLVED)
        .order_by(
            rank,
            severity.alert_kind_rank(Alert.kind),
            Alert.opened_at.desc(),
            Alert.id.desc(),
        )
    )
    if terminal_id is not None:
        query = query.where(Alert.terminal_id == terminal_id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return session.scalars(query).all()


def count_unresolved(session: Session) -> int:
    """Open and acknowledged alerts (the alerts page's total)."""
    return int(
        session.scalar(select(func.count(Alert.id)).where(Alert.state != AlertState.RESOLVED)) or 0
    )


def count_open(session: Session) -> int:
    """Alerts nobody has acknowledged yet."""
    return int(
        session.scalar(select(func.count(Alert.id)).where(Alert.state == AlertState.OPEN)) or 0
    )


def acknowledge(session: Session, alert_id: int, username: str, at: datetime) -> bool:
    """Mark an open alert acknowledged by ``username``; False when it was not open any more."""
    result = session.execute(
        update(Alert)
        .where(
            Alert.id == alert_id,
            Alert.state.in_(ALERT_MOVES.sources(AlertState.ACKNOWLEDGED)),
        )
        .values(state=AlertState.ACKNOWLEDGED, acknowledged_at=at, acknowledged_by=username)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def active_windows(session: Session, at: datetime) -> ActiveWindows:
    rows = session.execute(
        select(MaintenanceWindow.terminal_id).where(
            MaintenanceWindow.starts_at <= at, MaintenanceWindow.ends_at > at
        )
    ).all()
    ids = frozenset(row.terminal_id for row in rows if row.terminal_id is not None)
    return ActiveWindows(everyone=any(row.terminal_id is None for row in rows), terminal_ids=ids)


def current_window(session: Session, terminal_id: str, at: datetime) -> MaintenanceWindow | None:
    """The window covering the terminal now that ends last, if any."""
    return session.scalar(
        select(MaintenanceWindow)
        .where(
            or_(
                MaintenanceWindow.terminal_id == terminal_id,
                MaintenanceWindow.terminal_id.is_(None),
            ),
            MaintenanceWindow.starts_at <= at,
            MaintenanceWindow.ends_at > at,
        )
        .order_by(MaintenanceWindow.ends_at.desc())
        .limit(1)
    )


def open_window(
    session: Session,
    terminal: Terminal | None,
    minutes: int,
    reason: str,
    username: str,
    at: datetime,
) -> MaintenanceWindow:
    """A window from now for ``minutes`` (for every terminal when ``terminal`` is None)."""
    window = MaintenanceWindow(
        terminal_id=None if terminal is None else terminal.id,
        starts_at=at,
        ends_at=at + timedelta(minutes=minutes),
        reason=reason,
        created_by=username,
    )
    session.add(window)
    return window
