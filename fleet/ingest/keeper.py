"""The keeper: a background pass that expires overdue commands, publishes held ones and (when
given an alert engine) evaluates presence and alerts."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fleet import availability, retention
from fleet.alerts.engine import AlertEngine
from fleet.api.formatting import display_zone
from fleet.commands import BrokerUnavailable, Publisher, expire_overdue, publish_waiting
from fleet.crud import utc_now
from fleet.ingest.broker_counters import record_dropped
from fleet.rollouts import engine as rollout_engine

logger = logging.getLogger(__name__)

KEEPER_INTERVAL_S: Final = 10.0


class CommandKeeper:
    """Every ``interval_s`` (or at once when woken, e.g. on reconnect), one pass over commands."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        publisher: Publisher,
        interval_s: float = KEEPER_INTERVAL_S,
        alert_engine: AlertEngine | None = None,
        retention_days: tuple[float, float] | None = None,
        retention_interval_s: float = 3600.0,
        broker_dropped: Callable[[], int | None] | None = None,
        availability_zone: str | None = None,
    ) -> None:
        #: The time zone of availability's days; None: no availability roll-up.
        self._availability_zone = availability_zone
        self._session_factory = session_factory
        #: The broker's latest count of dropped messages (None: not heard yet).
        self._broker_dropped = broker_dropped
        #: (raw health, hourly roll-ups) in days; None: no retention pass.
        self._retention_days = retention_days
        self._retention_interval_s = retention_interval_s
        self._retention_due = 0.0
        self._alert_engine = alert_engine
        self._publisher = publisher
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="fleet-command-keeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        """Run a pass now rather than at the next tick (the broker just came back)."""
        self._wake.set()

    def run_once(self, now: datetime | None = None) -> None:
        """Expire what is overdue, then publish what the broker has not taken yet."""
        at = now or utc_now()
        with self._session_factory() as session:
            expire_overdue(session, at)
            session.commit()
            try:
                publish_waiting(session, self._publisher, at)
            except BrokerUnavailable as exc:
                logger.debug("Held commands stay held: %s.", exc)

    def run_rollouts_once(self, now: datetime | None = None) -> None:
        """Move the running content rollout on and publish the desired versions due."""
        with self._session_factory() as session:
            rollout_engine.run_pass(session, rollout_engine.desired_publisher(self._publisher), now)

    def run_alerts_once(self, now: datetime | None = None) -> None:
        """Evaluate presence and alerts, and notify their transitions."""
        if self._alert_engine is not None:
            self._alert_engine.run_once(now)

    def run_retention_once(self, now: datetime | None = None) -> None:
        """Roll up complete hours of health reports, then delete what is past retention."""
        if self._retention_days is None:
            return
        raw_days, rollup_days = self._retention_days
        with self._session_factory() as session:
            retention.run_retention(session, now or utc_now(), raw_days, rollup_days)
        if self._availability_zone is not None:
            with self._session_factory() as session:
                availability.roll_up(
                    session, now or utc_now(), display_zone(self._availability_zone)
                )

    def run_broker_counters_once(self, now: datetime | None = None) -> None:
        """Store what the broker's count of dropped messages grew by."""
        value = None if self._broker_dropped is None else self._broker_dropped()
        if value is None:
            return
        with self._session_factory() as session:
            record_dropped(session, value, now or utc_now())

    def _retention_if_due(self) -> None:
        now = time.monotonic()
        if now < self._retention_due:
            return
        self._retention_due = now + self._retention_interval_s
        try:
            self.run_retention_once()
        except SQLAlchemyError:
            logger.exception(
                "Database error in the retention pass; it runs again in %.0f s.",
                self._retention_interval_s,
            )

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._retention_if_due()
            try:
                self.run_once()
            except SQLAlchemyError:
                logger.exception(
                    "Database error in the command keeper; expiry and held commands are "
                    "retried in %.0f s.",
                    self._interval_s,
                )
            try:
                self.run_rollouts_once()
            except SQLAlchemyError:
                logger.exception(
                    "Database error in the rollout pass; content rollouts move on in %.0f s.",
                    self._interval_s,
                )
            try:
                self.run_broker_counters_once()
            except SQLAlchemyError as error:
                # Two ingests may write the counter's row at once: the next pass adds it up.
                logger.warning(
                    "The broker's count of dropped messages is stored at the next pass, in "
                    "%.0f s (database error: %s).",
                    self._interval_s,
                    str(error).splitlines()[0][:200],
                )
            try:
                self.run_alerts_once()
            except SQLAlchemyError:
                logger.exception(
                    "Database error in the alert engine; presence and alerts are evaluated "
                    "again in %.0f s.",
                    self._interval_s,
                )
            self._wake.wait(self._interval_s)
            self._wake.clear()
