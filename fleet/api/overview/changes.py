"""The overview's fingerprint: a few indexed aggregates that change whenever anything the
dashboard shows changes, so that the live stream renders again only then.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.ingest.broker_counters import dropped_total
from fleet.models import (
    Alert,
    AuditEntry,
    CommandAckRecord,
    EventRecord,
    HealthSample,
    RejectedMessage,
    StateChange,
)
from fleet.states import AlertState

Fingerprint = tuple[object, ...]


#: Every table whose newest row says the dashboard may read differently: a state change, a
#: health report, an event, a command's answer, an operator's action (placing a terminal,
#: enrolling one, acknowledging an alert: all audited), an alert opened.
FINGERPRINT_TABLES: Final = (StateChange, HealthSample, EventRecord, CommandAckRecord, AuditEntry)


def fingerprint(session: Session) -> Fingerprint:
    """A few aggregates that change whenever anything the dashboard shows changes.

    Run every second per open dashboard, instead of rendering the whole table: each value is
    read from an index in a few page reads whatever the fleet's size (the largest id of each
    table that grows with what the terminals say and the operators do, the unresolved alerts
    on their state index), not a scan of the terminals. What no new row tells (a terminal's
    repeated "online" without a change, time passing the grace period) shows at the stream's
    periodic refresh (``events.REFRESH_S``).
    """
    newest = [
        select(func.max(table.__table__.c.id)).scalar_subquery() for table in FINGERPRINT_TABLES
    ]
    unresolved = [
        select(func.count()).select_from(Alert).where(Alert.state == state).scalar_subquery()
        for state in (AlertState.OPEN, AlertState.ACKNOWLEDGED)
    ]
    values = session.execute(
        select(*newest, select(func.max(Alert.id)).scalar_subquery(), *unresolved)
    ).one()
    rejected = session.scalar(select(func.coalesce(func.sum(RejectedMessage.count), 0)))
    return (*tuple(values), rejected, dropped_total(session))
