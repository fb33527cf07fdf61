"""Content rollouts: a published version reaches a canary group, then the fleet wave by wave.

A rollout's targets are the terminals of the fleet, each in a wave (0 is the canary group). The
engine pass (the keeper, every few seconds) does two things:

- ``evaluate``: in the current wave, when the share of ``applied`` targets reaches the success
  threshold the next wave starts (its terminals' ``desired_content_version`` is set); when the
  share of ``failed`` ones reaches the error threshold the rollout halts. The handler calls it
  too, right after each ``content_update`` event.
- ``publish_waiting``: every target of a started wave still ``waiting`` gets its retained
  ``Desired`` (QoS 1) and becomes ``pending``. The table is the outbox: when the broker is down
  nothing is lost, the next pass publishes. Publishing twice is harmless (the agent ignores a
  desired version it already runs).

Progress comes from the agent's ``content_update`` events (pending, downloading, verified,
staged, applied, failed with a reason). A rollback publishes the previous version to every
terminal that was sent the new one; those targets then follow the way back (``waiting`` with
:data:`ROLLBACK_WAITING` until published, then the agent's states for the previous version).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from fleet import audit
from fleet.commands import BrokerUnavailable
from fleet.crud import utc_now
from fleet.i18n import N_
from fleet.models import EventRecord, Rollout, RolloutTarget, Terminal
from fleet.states import (
    ACTIVE_ROLLOUT_STATES,
    AGENT_TARGET_STATES,
    ROLLOUT_MOVES,
    TARGET_MOVES,
    RolloutState,
    TargetState,
)
from kiosk.contract import Channel, Desired, Event, topic_for

logger = logging.getLogger(__name__)

DESIRED_QOS: Final = 1
EVENT_KIND: Final = "content_update"
#: Who the engine's own decisions (halt, completion) are recorded as in the audit log.
ENGINE_USER: Final = "rollout-engine"
#: Reason of a target whose rollback (previous version) is not published yet.
ROLLBACK_WAITING: Final = N_("rollback: previous version not published yet")
#: Reason of a target sent back to the previous version, until the agent reports.
ROLLBACK_SENT: Final = N_("rollback: previous version sent")
#: Reason of a failed target whose agent gave none.
NO_REASON: Final = N_("no reason given")
#: Why the engine halted a rollout (stored in English, shown translated: STORED_REASONS).
HALTED_CANARY: Final = N_(
    "%(failed)d of %(total)d terminals failed in the canary group "
    "(error threshold %(threshold)d %%)"
)
HALTED_WAVE: Final = N_(
    "%(failed)d of %(total)d terminals failed in wave %(wave)d (error threshold %(threshold)d %%)"
)
#: The reasons the fleet itself stores on rollouts and targets.
STORED_REASONS: Final = (ROLLBACK_WAITING, ROLLBACK_SENT, NO_REASON, HALTED_CANARY, HALTED_WAVE)
MAX_REASON_CHARS: Final = 200
MAX_WAVE_SIZE: Final = 10_000
#: At most this many evaluate-then-publish rounds in one pass.
MAX_ROUNDS: Final = 100


class RolloutError(ValueError):
    """A rollout that cannot be created or an action that cannot be done; says why.

    ``message`` is English with ``%(name)s`` fields (``str()`` fills them, for logs and the
    API); :meth:`translated` says it in a reader's language.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params

    def translated(
        self, _: Callable[[str], str], state_label: Callable[[str], str] | None = None
    ) -> str:
        params = dict(self.params)
        if state_label is not None and isinstance(params.get("state"), str):
            params["state"] = state_label(str(params["state"]))
        return _(self.message) % params


class UnknownRollout(RolloutError):
    """No rollout has this id."""


class InvalidPlan(RolloutError):
    """The plan itself breaks a rule (a size, a threshold, the canary)."""


class UnknownCanary(RolloutError):
    """A canary terminal is unknown or decommissioned."""


class UnpublishedVersion(InvalidPlan):
    """The version is not among those the fleet's content repository publishes, signed."""


def published_versions(repo_dir: Path | None) -> list[str] | None:
    """The content versions the fleet's repository publishes, newest first; ``None`` when the
    fleet has no repository (its terminals take content from elsewhere: nothing to check).

    Only versions of a ``targets`` metadata whose signatures its root accepts are listed: an
    unsigned or tampered one offers none (terminals would refuse it too).
    """
    if repo_dir is None:
        return None
    # Imported here: the rollout engine itself does not need TUF.
    from tuf.api.exceptions import RepositoryError as TufRepositoryError
    from tuf.api.serialization import DeserializationError

    from fleet.content.repository import ContentRepository, RepositoryError
    from kiosk.agent.content.tufapi import Targets

    repository = ContentRepository(repo_dir)
    try:
        repository.root().verify_delegate(Targets.type, repository.targets())
        versions = repository.published_versions()
    except (RepositoryError, TufRepositoryError, DeserializationError, OSError, ValueError) as exc:
        logger.warning("No published content version can be offered: %s.", exc)
        return []
    return list(reversed(versions))


def check_published(version: str, published: Sequence[str] | None) -> None:
    """Raise :class:`UnpublishedVersion` unless ``version`` is published (or nothing to check)."""
    if published is None:
        return
    if version.strip() not in published:
        raise UnpublishedVersion(
            N_(
                "version %(version)s is not published in the fleet's content repository "
                "(published: %(published)s)"
            ),
            version=version.strip(),
            published=", ".join(published[:10]) or "—",
        )


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


# --------------------------------------------------------------------------------------------
# Creation


@dataclass(frozen=True, slots=True)
class Plan:
    """What an operator asks for."""

    version: str
    canary_terminals: tuple[str, ...] = ()
    canary_percent: int | None = None
    wave_size: int = 10
    success_threshold_percent: int = 90
    error_threshold_percent: int = 10


def _spread_key(version: str, terminal_id: str) -> str:
    """A stable but mixed order, so a percentage canary is not always the first ids."""
    return hashlib.sha256(f"{version}\n{terminal_id}".encode()).hexdigest()


def _check_plan(plan: Plan) -> None:
    version = plan.version.strip()
    if not version or len(version) > 64 or "://" in version:
        raise InvalidPlan(N_("the version must be 1 to 64 characters"))
    if not 1 <= plan.wave_size <= MAX_WAVE_SIZE:
        raise InvalidPlan(N_("the wave size must be between 1 and %(max)d"), max=MAX_WAVE_SIZE)
    if not 1 <= plan.success_threshold_percent <= 100:
        raise InvalidPlan(N_("the success threshold must be between 1 and 100 %%"))
    if not 1 <= plan.error_threshold_percent <= 100:
        raise InvalidPlan(N_("the error threshold must be between 1 and 100 %%"))
    if plan.canary_terminals and plan.canary_percent is not None:
        raise InvalidPlan(N_("give canary terminals or a canary percentage, not both"))
    if not plan.canary_terminals and plan.canary_percent is None:
        raise InvalidPlan(N_("give canary terminals or a canary percentage"))
    if plan.canary_percent is not None and not 1 <= plan.canary_percent <= 100:
        raise InvalidPlan(N_("the canary percentage must be between 1 and 100"))


def active_rollout(session: Session) -> Rollout | None:
    """The rollout in progress (running, paused or halted), if any."""
    return session.scalar(
        select(Rollout).where(Rollout.state.in_(ACTIVE_ROLLOUT_STATES)).order_by(Rollout.id.desc())
    )


def create_rollout(
    session: Session, plan: Plan, created_by: str, now: datetime | None = None
) -> Rollout:
    """Store a rollout (committed) and start its canary wave; raises :class:`RolloutError`.

    The fleet is every terminal not decommissioned. ``previous_version`` is the version most of
    them run now (the rollback target).
    """
    at = now or utc_now()
    _check_plan(plan)
    version = plan.version.strip()
    running = active_rollout(session)
    if running is not None:
        raise RolloutError(
            N_("rollout %(id)d (%(version)s) is %(state)s: finish, abort or roll it back first"),
            id=running.id,
            version=running.version,
            state=running.state,
        )
    fleet = list(
        session.scalars(
            select(Terminal).where(Terminal.decommissioned_at.is_(None)).order_by(Terminal.id)
        )
    )
    if not fleet:
        raise RolloutError(N_("the fleet has no terminal"))
    by_id = {terminal.id: terminal for terminal in fleet}
    if plan.canary_terminals:
        unknown = sorted(set(plan.canary_terminals) - set(by_id))
        if unknown:
            raise UnknownCanary(
                N_("unknown or decommissioned terminal(s): %(ids)s"), ids=", ".join(unknown)
            )
        canary = sorted(set(plan.canary_terminals))
    else:
        share = plan.canary_percent or 0
        count = max(1, math.ceil(len(fleet) * share / 100))
        canary = sorted(sorted(by_id, key=lambda tid: _spread_key(version, tid))[:count])
    rest = sorted((tid for tid in by_id if tid not in set(canary)), key=lambda tid: tid)
    rest.sort(key=lambda tid: _spread_key(version, tid))
    running_versions = Counter(t.content_version for t in fleet if t.content_version is not None)
    previous = (
        min(running_versions.items(), key=lambda item: (-item[1], item[0]))[0]
        if running_versions
        else None
    )
    rollout = Rollout(
        version=version,
        previous_version=previous,
        state=RolloutState.RUNNING,
        success_threshold_percent=plan.success_threshold_percent,
        error_threshold_percent=plan.error_threshold_percent,
        wave_size=plan.wave_size,
        current_wave=0,
        reason=None,
        created_by=created_by,
        created_at=at,
        updated_at=at,
    )
    session.add(rollout)
    session.flush()
    waves: list[tuple[int, list[str]]] = [(0, canary)]
    for index in range(0, len(rest), plan.wave_size):
        waves.append((len(waves), rest[index : index + plan.wave_size]))
    for wave, ids in waves:
        for terminal_id in ids:
            session.add(
                RolloutTarget(
                    rollout_id=rollout.id,
                    terminal_id=terminal_id,
                    wave=wave,
                    state=TargetState.WAITING,
                    reason=None,
                    updated_at=at,
                )
            )
    session.flush()
    _start_wave(session, rollout, 0)
    canary_text = (
        f"{len(canary)} canary terminal(s)"
        if plan.canary_terminals
        else f"canary {plan.canary_percent} % ({len(canary)})"
    )
    audit.record(
        session,
        created_by,
        "rollout_created",
        f"rollout {rollout.id}",
        f"{version} (from {previous or 'built-in'}): {canary_text}, {len(waves) - 1} wave(s) of "
        f"{plan.wave_size}, success {plan.success_threshold_percent} %, "
        f"errors {plan.error_threshold_percent} %",
        at=at,
    )
    session.commit()
    logger.info(
        "%s created rollout %d of content %s: %s then %d wave(s).",
        created_by,
        rollout.id,
        version,
        canary_text,
        len(waves) - 1,
    )
    return rollout


def _start_wave(session: Session, rollout: Rollout, wave: int) -> None:
    """The wish for this wave's terminals: their desired version (published by the next pass)."""
    rollout.current_wave = wave
    for target in _targets(session, rollout.id, wave):
        terminal = session.get(Terminal, target.terminal_id)
        if terminal is not None:
            terminal.desired_content_version = rollout.version


def _targets(session: Session, rollout_id: int, wave: int | None = None) -> list[RolloutTarget]:
    query = select(RolloutTarget).where(RolloutTarget.rollout_id == rollout_id)
    if wave is not None:
        query = query.where(RolloutTarget.wave == wave)
    return list(session.scalars(query.order_by(RolloutTarget.wave, RolloutTarget.terminal_id)))


# --------------------------------------------------------------------------------------------
# The engine pass


def _lock(session: Session, rollout_id: int) -> Rollout | None:
    """The rollout row, locked until commit where the database can (PostgreSQL)."""
    return session.get(Rollout, rollout_id, with_for_update=True, populate_existing=True)


def evaluate(session: Session, now: datetime | None = None) -> None:
    """Move the running rollout on (next wave, halted, completed); the caller commits."""
    at = now or utc_now()
    current = session.scalar(select(Rollout.id).where(Rollout.state == RolloutState.RUNNING))
    if current is None:
        return
    rollout = _lock(session, current)
    if rollout is None or rollout.state != RolloutState.RUNNING:
        return
    while True:
        states = Counter(t.state for t in _targets(session, rollout.id, rollout.current_wave))
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
        _start_wave(session, rollout, following)
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


# --------------------------------------------------------------------------------------------
# Progress from the agents


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


# --------------------------------------------------------------------------------------------
# Operator actions


def get_rollout(session: Session, rollout_id: int) -> Rollout:
    rollout = session.get(Rollout, rollout_id)
    if rollout is None:
        raise UnknownRollout(f"no rollout {rollout_id}")
    return rollout


def _locked(session: Session, rollout_id: int) -> Rollout:
    rollout = _lock(session, rollout_id)
    if rollout is None:
        raise UnknownRollout(f"no rollout {rollout_id}")
    return rollout


#: Why an operator's action cannot move a rollout to the state it leads to (stored in English,
#: shown translated with the rollout's state in the reader's words).
REFUSED_MOVES: Final[dict[RolloutState, str]] = {
    RolloutState.PAUSED: N_("rollout %(id)d is %(state)s, not running"),
    RolloutState.RUNNING: N_("rollout %(id)d is %(state)s, not paused"),
    RolloutState.ABORTED: N_("rollout %(id)d is %(state)s: nothing to abort"),
    RolloutState.ROLLED_BACK: N_("rollout %(id)d is already rolled back"),
}


def _may_move(rollout: Rollout, to: RolloutState) -> None:
    """Raise the :class:`RolloutError` of :data:`REFUSED_MOVES` unless
    :data:`fleet.states.ROLLOUT_MOVES` lets ``rollout`` go to ``to``."""
    if not ROLLOUT_MOVES.allows(rollout.state, to):
        raise RolloutError(REFUSED_MOVES[to], id=rollout.id, state=rollout.state)


def _move(rollout: Rollout, to: RolloutState, at: datetime) -> None:
    """Move ``rollout`` to ``to``, or raise as :func:`_may_move`."""
    _may_move(rollout, to)
    rollout.state = to
    rollout.updated_at = at


def set_paused(
    session: Session, rollout_id: int, paused: bool, username: str, now: datetime | None = None
) -> Rollout:
    """Pause (no new wish is published and no wave starts) or resume a paused rollout where it
    stopped (committed)."""
    at = now or utc_now()
    rollout = _locked(session, rollout_id)
    _move(rollout, RolloutState.PAUSED if paused else RolloutState.RUNNING, at)
    action = "rollout_paused" if paused else "rollout_resumed"
    audit.record(session, username, action, f"rollout {rollout.id}", at=at)
    session.commit()
    return rollout


def pause(session: Session, rollout_id: int, username: str, now: datetime | None = None) -> Rollout:
    return set_paused(session, rollout_id, True, username, now)


def resume(
    session: Session, rollout_id: int, username: str, now: datetime | None = None
) -> Rollout:
    return set_paused(session, rollout_id, False, username, now)


def abort(
    session: Session, rollout_id: int, username: str, reason: str = "", now: datetime | None = None
) -> Rollout:
    """Stop for good: no further wave. Terminals already sent the version keep it; those whose
    wish was not published yet keep wanting what they run."""
    at = now or utc_now()
    rollout = _locked(session, rollout_id)
    _may_move(rollout, RolloutState.ABORTED)
    for target in _targets(session, rollout.id):
        if target.state == TargetState.WAITING and target.wave <= rollout.current_wave:
            terminal = session.get(Terminal, target.terminal_id)
            if terminal is not None and terminal.desired_content_version == rollout.version:
                terminal.desired_content_version = terminal.content_version
    _move(rollout, RolloutState.ABORTED, at)
    rollout.reason = reason.strip()[:MAX_REASON_CHARS] or None
    audit.record(
        session, username, "rollout_aborted", f"rollout {rollout.id}", rollout.reason, at=at
    )
    session.commit()
    return rollout


def rollback(
    session: Session,
    rollout_id: int,
    username: str,
    publisher: DesiredPublisher | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Rollout:
    """Send ``previous_version`` to every terminal of the rollout that was sent the new one
    (committed), publishing at once when the broker answers, else at the next pass."""
    at = now or utc_now()
    rollout = _locked(session, rollout_id)
    _may_move(rollout, RolloutState.ROLLED_BACK)
    if rollout.previous_version is None:
        raise RolloutError(
            N_(
                "no previous version is known (terminals reported none): publish the version "
                "to go back to as a new rollout instead"
            )
        )
    newest = session.scalar(select(Rollout.id).order_by(Rollout.id.desc()).limit(1))
    if newest != rollout.id:
        raise RolloutError(N_("only the latest rollout (%(id)s) can be rolled back"), id=newest)
    back = 0
    for target in _targets(session, rollout.id):
        terminal = session.get(Terminal, target.terminal_id)
        if target.state == TargetState.WAITING:
            # Never sent: its retained wish is still the old one.
            if terminal is not None and terminal.desired_content_version == rollout.version:
                terminal.desired_content_version = terminal.content_version
            continue
        target.state = TARGET_MOVES.check(target.state, TargetState.WAITING)
        target.reason = ROLLBACK_WAITING
        target.updated_at = at
        if terminal is not None:
            terminal.desired_content_version = rollout.previous_version
        back += 1
    _move(rollout, RolloutState.ROLLED_BACK, at)
    rollout.reason = reason.strip()[:MAX_REASON_CHARS] or None
    audit.record(
        session,
        username,
        "rollout_rolled_back",
        f"rollout {rollout.id}",
        f"{back} terminal(s) back to {rollout.previous_version}"
        + (f": {rollout.reason}" if rollout.reason else ""),
        at=at,
    )
    session.commit()
    logger.warning(
        "%s rolled back rollout %d: %d terminal(s) back to content %s.",
        username,
        rollout.id,
        back,
        rollout.previous_version,
    )
    if publisher is not None:
        try:
            publish_waiting(session, publisher, at)
        except BrokerUnavailable as exc:
            session.rollback()
            logger.warning("Rollback of rollout %d held for the broker: %s.", rollout.id, exc)
    return rollout


# --------------------------------------------------------------------------------------------
# Reading


@dataclass
class WaveProgress:
    wave: int
    total: int = 0
    states: dict[str, int] = field(default_factory=dict)


@dataclass
class Progress:
    """How many targets are in each state, overall and per wave."""

    total: int = 0
    states: dict[str, int] = field(default_factory=dict)
    waves: list[WaveProgress] = field(default_factory=list)

    def percent(self, state: str) -> int:
        return 0 if not self.total else round(100 * self.states.get(state, 0) / self.total)


def progress_of(targets: Iterable[RolloutTarget]) -> Progress:
    progress = Progress(states=dict.fromkeys(TargetState, 0))
    waves: dict[int, WaveProgress] = {}
    for target in targets:
        progress.total += 1
        progress.states[target.state] = progress.states.get(target.state, 0) + 1
        wave = waves.setdefault(
            target.wave, WaveProgress(target.wave, states=dict.fromkeys(TargetState, 0))
        )
        wave.total += 1
        wave.states[target.state] = wave.states.get(target.state, 0) + 1
    progress.waves = [waves[key] for key in sorted(waves)]
    return progress


def list_rollouts(session: Session, limit: int = 50) -> list[tuple[Rollout, Progress]]:
    """The latest rollouts, newest first, each with its progress."""
    rollouts = list(session.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(limit)))
    by_rollout: dict[int, list[RolloutTarget]] = {r.id: [] for r in rollouts}
    if rollouts:
        for target in session.scalars(
            select(RolloutTarget).where(RolloutTarget.rollout_id.in_(list(by_rollout)))
        ):
            by_rollout[target.rollout_id].append(target)
    return [(r, progress_of(by_rollout[r.id])) for r in rollouts]


def targets_of(session: Session, rollout_id: int) -> Sequence[RolloutTarget]:
    return _targets(session, rollout_id)


def latest_target(session: Session, terminal_id: str) -> tuple[Rollout, RolloutTarget] | None:
    """The terminal's place in the latest rollout that included it."""
    row = session.execute(
        select(Rollout, RolloutTarget)
        .join(RolloutTarget, RolloutTarget.rollout_id == Rollout.id)
        .where(RolloutTarget.terminal_id == terminal_id)
        .order_by(Rollout.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])
