"""The engine step: it moves the running rollout on from the agents' ``content_update`` events
(next wave, halted, completed) and publishes the retained wishes that are due.

The keeper calls :func:`run_pass` every few seconds; the handler calls
:func:`apply_content_event` for each ``content_update`` event, which evaluates at once.

- :func:`evaluate`: in the current wave, when the share of ``applied`` targets reaches the success
  threshold the next wave starts (its terminals' ``desired_content_version`` is set); when the
  share of ``failed`` ones reaches the error threshold the rollout halts.
- :func:`publish_waiting`: every target of a started wave still ``waiting`` gets its retained
  ``Desired`` (QoS 1) and becomes ``pending``. The table is the outbox: when the broker is down
  nothing is lost, the next pass publishes. Publishing twice is harmless (the agent ignores a
  desired version it already runs).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from fleet import audit
from fleet.commands import BrokerUnavailable
from fleet.crud import utc_now
from fleet.models import EventRecord, Rollout, RolloutTarget, Terminal
from fleet.rollouts.progress import targets_of
from fleet.rollouts.reasons import (
    HALTED_CANARY,
    HALTED_WAVE,
    MAX_REASON_CHARS,
    NO_REASON,
    ROLLBACK_SENT,
    ROLLBACK_WAITING,
)
from fleet.states import AGENT_TARGET_STATES, ROLLOUT_MOVES, TARGET_MOVES, RolloutState, TargetState
from kiosk.contract.mqtt import Channel, Desired, Event, topic_for

logger = logging.getLogger(__name__)

DESIRED_QOS: Final = 1
EVENT_KIND: Final = "content_update"
#: Who the engine's own decisions (halt, completion) are recorded as in the audit log.
ENGINE_USER: Final = "rollout-engine"
#: At most this many evaluate-then-publish rounds in one pass.
MAX_ROUNDS: Final = 100


class DesiredPublisher(Protocol):
    """What publishes a retained message (raises :class:`BrokerUnavailable` when it cannot)."""

    def publish_retained(self, topic: str, payload: bytes, qos: int) -> None: ...


def desired_publisher(publisher: object) -> DesiredPublisher | None:
    """A retained publisher from what the app or keeper holds, or ``None`` (nothing to publish
    with: the wishes wait for a process that has one)."""
    if publisher is None:
        return None
    if callable(getattr(publisher, "publish_retained", None)):
        return publisher  # type: ignore[return-value]
    return None


def start_wave(session: Session, rollout: Rollout, wave: int) -> None:
    """The wish for this wave's terminals: their desired version (published by the next pass)."""
    rollout.current_wave = wave
    for target in targets_of(session, rollout.id, wave):
        terminal = session.get(Terminal, target.terminal_id)
        if terminal is not None:
            terminal.desired_content_version = rollout.version


def lock_rollout(session: Session, rollout_id: int) -> Rollout | None:
    """The rollout row, locked until commit where the database can (PostgreSQL)."""
    return session.get(Rollout, rollout_id, with_for_update=True, populate_existing=True)


def evaluate(session: Session, now: datetime | None = None) -> None:
    """Move the running rollout on (next wave, halted, completed); the caller commits."""
    at = now or utc_now()
    current = session.scalar(select(Rollout.id).where(Rollout.state == RolloutState.RUNNING))
    if current is None:
        return
    rollout = lock_rollout(session, current)
    if rollout is None or rollout.state != RolloutState.RUNNING:
        return
    while True:
        states = Counter(t.state for t in targets_of(session, rollout.id, rollout.current_wave))
        total = sum(states.values())
        failed, applied = states[TargetState.FAILED], states[TargetState.APPLIED]
        if total and failed * 100 >= rollout.error_threshold_percent * total:
            _halt(session, rollout, failed, total, at)
            return
        if total and applied * 100 < rollout.success_threshold_percent * total:
            return
        following = session.scalar(
            select(RolloutTarget.wave)
            .where(
                RolloutTarget.rollout_id == rollout.id, RolloutTarget.wave > rollout.current_wave
            )
            .order_by(RolloutTarget.wave)
            .limit(1)
        )
        if following is None:
            rollout.state = ROLLOUT_MOVES.check(rollout.state, RolloutState.COMPLETED)
            rollout.updated_at = at
            audit.record(session, ENGINE_USER, "rollout_completed", f"rollout {rollout.id}", at=at)
            logger.info("Rollout %d of content %s completed.", rollout.id, rollout.version)
            return
        logger.info(
            "Rollout %d: wave %d reached %d/%d applied; wave %d starts.",
            rollout.id,
            rollout.current_wave,
            applied,
            total,
            following,
        )
        start_wave(session, rollout, following)
        rollout.updated_at = at


def _halt(session: Session, rollout: Rollout, failed: int, total: int, at: datetime) -> None:
    template = HALTED_CANARY if rollout.current_wave == 0 else HALTED_WAVE
    rollout.state = ROLLOUT_MOVES.check(rollout.state, RolloutState.HALTED)
    rollout.reason = (
        template
        % {
            "failed": failed,
            "total": total,
            "wave": rollout.current_wave,
            "threshold": rollout.error_threshold_percent,
        }
    )[:MAX_REASON_CHARS]
    rollout.updated_at = at
    audit.record(
        session, ENGINE_USER, "rollout_halted", f"rollout {rollout.id}", rollout.reason, at=at
    )
    logger.warning(
        "Rollout %d of content %s halted: %s.", rollout.id, rollout.version, rollout.reason
    )


def publish_waiting(
    session: Session, publisher: DesiredPublisher, now: datetime | None = None
) -> int:
    """Publish the retained ``Desired`` of every started target not sent yet; returns how many.

    Each publication is committed at once; stops at the first :class:`BrokerUnavailable`
    (raised to the caller): the rest stays ``waiting`` for the next pass.
    """
    at = now or utc_now()
    rows = session.execute(
        select(RolloutTarget, Rollout)
        .join(Rollout, RolloutTarget.rollout_id == Rollout.id)
        .where(
            RolloutTarget.state == TargetState.WAITING,
            or_(
                and_(
                    Rollout.state == RolloutState.RUNNING,
                    RolloutTarget.wave <= Rollout.current_wave,
                ),
                and_(
                    Rollout.state == RolloutState.ROLLED_BACK,
                    RolloutTarget.reason == ROLLBACK_WAITING,
                ),
            ),
        )
        .order_by(Rollout.id, RolloutTarget.wave, RolloutTarget.terminal_id)
    ).all()
    sent = 0
    for target, rollout in rows:
        back = rollout.state == RolloutState.ROLLED_BACK
        version = rollout.previous_version if back else rollout.version
        message = Desired(content_version=version, sent_at=at)
        publisher.publish_retained(
            topic_for(target.terminal_id, Channel.DESIRED), message.to_bytes(), DESIRED_QOS
        )
        terminal = session.get(Terminal, target.terminal_id)
        if terminal is not None:
            terminal.desired_content_version = version
        # The agent says nothing about a version it already runs: that one is done.
        already = terminal is not None and terminal.content_version == version
        target.state = TARGET_MOVES.check(
            target.state, TargetState.APPLIED if already else TargetState.PENDING
        )
        target.reason = ROLLBACK_SENT if back and not already else None
        target.updated_at = at
        session.commit()
        sent += 1
    return sent


@dataclass
class PassResult:
    published: int = 0
    broker_down: bool = False


def run_pass(
    session: Session, publisher: DesiredPublisher | None, now: datetime | None = None
) -> PassResult:
    """One engine pass: move the running rollout on, then publish what is due (committed)."""
    at = now or utc_now()
    result = PassResult()
    # Terminals that already run the version are applied at once, so a wave may end within
    # the pass and the next one start: go on while publishing moves things.
    for _round in range(MAX_ROUNDS):
        evaluate(session, at)
        session.commit()
        if publisher is None:
            break
        try:
            published = publish_waiting(session, publisher, at)
        except BrokerUnavailable as exc:
            session.rollback()
            result.broker_down = True
            logger.debug("Rollout wishes stay waiting for the broker: %s.", exc)
            break
        result.published += published
        if not published:
            break
    return result


def apply_content_event(session: Session, terminal: Terminal, event: Event, at: datetime) -> None:
    """Follow one ``content_update`` event: the terminal's version and its rollout target.

    The caller stores the event and commits. Unknown states or versions are ignored.
    """
    version = event.data.get("version")
    reported = event.data.get("state")
    if not isinstance(version, str) or not isinstance(reported, str):
        return
    if reported not in AGENT_TARGET_STATES:
        return
    state = TargetState(reported)
    if state == TargetState.APPLIED and not _newer_applied_exists(
        session, terminal.id, event.sent_at
    ):
        terminal.content_version = version
    row = session.execute(
        select(RolloutTarget, Rollout)
        .join(Rollout, RolloutTarget.rollout_id == Rollout.id)
        .where(
            RolloutTarget.terminal_id == terminal.id,
            or_(
                and_(Rollout.state != RolloutState.ROLLED_BACK, Rollout.version == version),
                and_(
                    Rollout.state == RolloutState.ROLLED_BACK,
                    Rollout.previous_version == version,
                ),
            ),
        )
        .order_by(Rollout.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return
    target, rollout = row
    if target.state == TargetState.WAITING and rollout.state == RolloutState.ROLLED_BACK:
        return  # not sent back yet: an event about the old version says nothing new
    if not TARGET_MOVES.allows(target.state, state):
        return  # an applied target only fails: a late report of an earlier step
    target.state = state
    reason = event.data.get("reason")
    target.reason = (
        (str(reason) if reason is not None else NO_REASON)[:MAX_REASON_CHARS]
        if state == TargetState.FAILED
        else None
    )
    target.updated_at = at
    session.flush()
    if rollout.state == RolloutState.RUNNING:
        evaluate(session, at)


def _newer_applied_exists(session: Session, terminal_id: str, sent_at: datetime) -> bool:
    """Whether an ``applied`` event sent later than this one is already stored."""
    later = session.scalars(
        select(EventRecord.data).where(
            EventRecord.terminal_id == terminal_id,
            EventRecord.kind == EVENT_KIND,
            EventRecord.sent_at > sent_at,
        )
    ).all()
    return any(
        isinstance(data, dict) and data.get("state") == TargetState.APPLIED for data in later
    )
