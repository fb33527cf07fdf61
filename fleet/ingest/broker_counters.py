"""The broker's own count of the messages it dropped, kept in the database for the dashboard.

Mosquitto publishes under ``$SYS`` how many messages it dropped since it started (a client's
queue was full: the ingest was away or slower than the terminals for too long). The ingest
remembers the latest value; the keeper adds what it grew by to ``broker_counters`` at each pass.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.broker import DROPPED_COUNTER_TOPIC
from fleet.models import BrokerCounter

logger = logging.getLogger(__name__)

#: The topic, and the row it is kept in.
BROKER_DROPPED_TOPIC: Final = DROPPED_COUNTER_TOPIC
BROKER_DROPPED: Final = "publish_messages_dropped"


def parse_counter(payload: bytes) -> int | None:
    """The counter's value, or None if the payload is not a number."""
    try:
        value = int(payload.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        return None
    return value if value >= 0 else None


def record_dropped(session: Session, value: int, at: datetime) -> int:
    """Add what the broker's counter grew by since the value last seen (it starts again from
    zero when the broker restarts); return the new total. Several ingests see the same value:
    the second finds it counted already. Committed here."""
    row = session.get(BrokerCounter, BROKER_DROPPED)
    if row is None:
        row = BrokerCounter(name=BROKER_DROPPED, last_value=0, total=0, updated_at=at)
        session.add(row)
    grown = value - row.last_value if value >= row.last_value else value
    if grown > 0:
        logger.error(
            "The MQTT broker dropped %d messages: its queue for the fleet was full (the ingest "
            "was away or slower than the terminals for too long). They are lost; %d since "
            "counting began, shown on the dashboard.",
            grown,
            row.total + grown,
        )
        row.total += grown
    row.last_value = value
    row.updated_at = at
    session.commit()
    return row.total


def dropped_total(session: Session) -> int:
    """Messages the broker dropped since the fleet began counting."""
    return (
        session.scalar(select(BrokerCounter.total).where(BrokerCounter.name == BROKER_DROPPED)) or 0
    )
