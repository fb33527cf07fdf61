"""The alert engine: one pass opens and resolves alerts, then tells people of each transition.

Safe to run in several fleet processes on one database:

- at most one unresolved alert per (terminal, kind): ``alerts.active_key`` is unique while the
  alert is unresolved, so a second process opening the same alert fails and skips it;
- exactly one notification per transition: before sending, a process *claims* the transition
  with ``UPDATE alerts SET last_notified_state = :state WHERE ... last_notified_state is not
  :state`` and commits; only the process whose UPDATE changed the row sends. A restart finds the
  claim stored and sends nothing again. If every notifier fails, the claim is released so that
  the next pass tries again; if only some fail, the others are not repeated (a log line says so).

A transition passed over between two passes (acknowledged then resolved within one tick) is
told as its latest state only.

Who is told: with ``channels`` (the dashboard's stored channels, :mod:`fleet.alerts.channels`),
a transition of kind *K* goes to the enabled channels receiving *K* when there is one, else to
``notifiers`` (the environment's defaults); without ``channels``, always to ``notifiers``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fleet.alerts import rules
from fleet.alerts.labels import english_summary
from fleet.alerts.notifiers import Notification, NotificationFailed, Notifier
from fleet.alerts.store import active_windows
from fleet.crud import list_terminals, utc_now
from fleet.models import Alert, EventRecord, StateChange
from fleet.states import ALERT_MOVES, AlertState

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


class ChannelDirectory(Protocol):
    """The stored channels (:class:`fleet.alerts.channels.StoredChannels`)."""

    def by_kind(self, session: Session) -> dict[str, list[Notifier]]:
        """Alert kind -> the notifiers of the enabled channels receiving it."""


@dataclass(frozen=True, slots=True)
class PassReport:
    opened: int = 0
    resolved: int = 0
    notified: int = 0
    silenced: int = 0


def active_key(terminal_id: str, kind: str) -> str:
    return f"{terminal_id}:{kind}"


class AlertEngine:
    """Evaluates every terminal against :mod:`fleet.alerts.rules` and notifies transitions."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        limits: rules.AlertLimits,
        notifiers: Sequence[Notifier],
        clock: Clock = utc_now,
        channels: ChannelDirectory | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._limits = limits
        self._notifiers = tuple(notifiers)
        self._clock = clock
        self._channels = channels

    def run_once(self, now: datetime | None = None) -> PassReport:
        """Evaluate, then notify; ``now`` defaults to the engine's clock."""
        at = now or self._clock()
        opened, resolved = self.evaluate(at)
        notified, silenced = self.notify(at)
        return PassReport(opened, resolved, notified, silenced)

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(self, now: datetime) -> tuple[int, int]:
        """Open the alerts whose condition holds and resolve those whose condition cleared."""
        opened = resolved = 0
        with self._session_factory() as session:
            facts = self._gather(session, now)
            for terminal_facts, unresolved in facts:
                findings = rules.evaluate(terminal_facts, now, self._limits)
                terminal_id = terminal_facts.terminal.id
                for kind, details in findings.active.items():
                    existing = unresolved.get(kind)
                    if existing is None:
                        opened += self._open(session, terminal_id, kind, details, now)
                    elif existing.details != details:
                        existing.details = details
                        existing.summary = english_summary(kind, details)
                for kind in findings.clear:
                    if kind in unresolved:
                        resolved += self._resolve(session, unresolved[kind], now)
            session.commit()
        return opened, resolved

    def _gather(
        self, session: Session, now: datetime
    ) -> list[tuple[rules.TerminalFacts, dict[str, Alert]]]:
        limits = self._limits
        unresolved: dict[str, dict[str, Alert]] = defaultdict(dict)
        for alert in session.scalars(select(Alert).where(Alert.state != AlertState.RESOLVED)):
            unresolved[alert.terminal_id][alert.kind] = alert
        changes: dict[str, list[datetime]] = defaultdict(list)
        since = now - timedelta(seconds=limits.presence.flapping_window_s)
        for terminal_id, at in session.execute(
            select(StateChange.terminal_id, StateChange.at).where(StateChange.at > since)
        ):
            changes[terminal_id].append(at)
        crashes: dict[str, list[datetime]] = defaultdict(list)
        crash_since = now - timedelta(seconds=limits.ui_crash_window_s)
        for terminal_id, at in session.execute(
            select(EventRecord.terminal_id, EventRecord.received_at).where(
                EventRecord.kind == rules.UI_CRASH_EVENT, EventRecord.received_at > crash_since
            )
        ):
            crashes[terminal_id].append(at)
        wipes, contents = self._latest_events(session)
        windows = active_windows(session, now)
        return [
            (
                rules.TerminalFacts(
                    terminal=terminal,
                    state_changes=tuple(changes.get(terminal.id, ())),
                    ui_crashes=tuple(crashes.get(terminal.id, ())),
                    last_wipe=wipes.get(terminal.id),
                    last_content=contents.get(terminal.id),
                    in_maintenance=windows.covers(terminal.id),
                    unresolved=frozenset(unresolved.get(terminal.id, {})),
                ),
                unresolved.get(terminal.id, {}),
            )
            for terminal in list_terminals(session)
        ]

    @staticmethod
    def _latest_events(
        session: Session,
    ) -> tuple[dict[str, rules.LatestEvent], dict[str, rules.LatestEvent]]:
        """Per terminal, the latest wipe report and the latest content outcome."""
        groups = {
            rules.WIPE_DONE_EVENT: "wipe",
            rules.CONTENT_FAILED_EVENT: "content",
            rules.CONTENT_APPLIED_EVENT: "content",
        }
        latest_ids = (
            select(func.max(EventRecord.id))
            .where(EventRecord.kind.in_(groups))
            .group_by(EventRecord.terminal_id, EventRecord.kind)
        )
        wipes: dict[str, rules.LatestEvent] = {}
        contents: dict[str, rules.LatestEvent] = {}
        for event in session.scalars(select(EventRecord).where(EventRecord.id.in_(latest_ids))):
            ok = event.data.get("ok")
            latest = rules.LatestEvent(
                event.kind, event.received_at, ok if isinstance(ok, bool) else None
            )
            target = wipes if groups[event.kind] == "wipe" else contents
            previous = target.get(event.terminal_id)
            if previous is None or latest.at >= previous.at:
                target[event.terminal_id] = latest
        return wipes, contents

    @staticmethod
    def _open(
        session: Session, terminal_id: str, kind: str, details: rules.Details, now: datetime
    ) -> int:
        summary = english_summary(kind, details)
        alert = Alert(
            terminal_id=terminal_id,
            kind=kind,
            state=AlertState.OPEN,
            active_key=active_key(terminal_id, kind),
            opened_at=now,
            summary=summary,
            details=details,
        )
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:
            # Another fleet process opened it a moment ago: theirs is the one.
            logger.debug("Alert %s for terminal %s already opened elsewhere.", kind, terminal_id)
            return 0
        logger.warning("Alert opened for terminal %s: %s (%s).", terminal_id, kind, summary)
        return 1

    @staticmethod
    def _resolve(session: Session, alert: Alert, now: datetime) -> int:
        result = session.execute(
            update(Alert)
            .where(
                Alert.id == alert.id,
                Alert.state.in_(ALERT_MOVES.sources(AlertState.RESOLVED)),
            )
            .values(state=AlertState.RESOLVED, resolved_at=now, active_key=None)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return 0
        logger.info("Alert resolved for terminal %s: %s.", alert.terminal_id, alert.kind)
        return 1

    # -- notification ----------------------------------------------------------------------

    def notify(self, now: datetime) -> tuple[int, int]:
        """Tell people of every transition not told yet; returns (notified, silenced)."""
        notified = silenced = 0
        with self._session_factory() as session:
            pending = session.scalars(
                select(Alert)
                .where(
                    or_(
                        Alert.last_notified_state.is_(None),
                        Alert.last_notified_state != Alert.state,
                    )
                )
                .order_by(Alert.id)
            ).all()
            windows = active_windows(session, now)
            stored = self._channels.by_kind(session) if pending and self._channels else {}
            for alert in pending:
                notification = Notification(
                    alert_id=alert.id,
                    terminal_id=alert.terminal_id,
                    kind=alert.kind,
                    state=alert.state,
                    summary=alert.summary,
                    details=alert.details,
                    opened_at=alert.opened_at,
                    at=now,
                    acknowledged_by=alert.acknowledged_by,
                )
                previous = alert.last_notified_state
                if not self._claim(session, notification):
                    continue
                if windows.covers(alert.terminal_id):
                    logger.info(
                        "Alert %s of terminal %s is %s; not notified (maintenance window).",
                        alert.kind,
                        alert.terminal_id,
                        alert.state,
                    )
                    silenced += 1
                    continue
                if self._deliver(notification, stored.get(alert.kind) or self._notifiers):
                    notified += 1
                else:
                    self._release(session, notification, previous)
        return notified, silenced

    @staticmethod
    def _claim(session: Session, notification: Notification) -> bool:
        """Take the duty of telling this transition; False when someone else has it."""
        result = session.execute(
            update(Alert)
            .where(
                Alert.id == notification.alert_id,
                Alert.state == notification.state,
                or_(
                    Alert.last_notified_state.is_(None),
                    Alert.last_notified_state != notification.state,
                ),
            )
            .values(last_notified_state=notification.state)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0) == 1)

    @staticmethod
    def _release(session: Session, notification: Notification, previous: str | None) -> None:
        session.execute(
            update(Alert)
            .where(
                Alert.id == notification.alert_id,
                Alert.last_notified_state == notification.state,
            )
            .values(last_notified_state=previous)
            .execution_options(synchronize_session=False)
        )
        session.commit()

    @staticmethod
    def _deliver(notification: Notification, notifiers: Sequence[Notifier]) -> bool:
        """Send through every notifier; True when at least one delivered (or there is none)."""
        if not notifiers:
            return True
        delivered = False
        for notifier in notifiers:
            try:
                notifier.send(notification)
            except NotificationFailed as exc:
                logger.error(
                    "Could not notify alert %s (%s) of terminal %s by %s: %s.",
                    notification.kind,
                    notification.state,
                    notification.terminal_id,
                    notifier.name,
                    exc,
                )
                continue
            delivered = True
        if not delivered:
            logger.error(
                "No notifier delivered alert %s (%s) of terminal %s; retried at the next pass.",
                notification.kind,
                notification.state,
                notification.terminal_id,
            )
        return delivered
