"""The operator's actions on a rollout (pause, resume, abort, roll back), each checked against
:data:`fleet.states.ROLLOUT_MOVES`, audited and committed.

A rollback publishes the previous version to every terminal that was sent the new one; those
targets then follow the way back (``waiting`` with
:data:`~fleet.rollouts.reasons.ROLLBACK_WAITING` until published, then the agent's states for the
previous version).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import audit
from fleet.commands import BrokerUnavailable
from fleet.crud import utc_now
from fleet.i18n import N_
from fleet.models import Rollout, Terminal
from fleet.rollouts.engine import DesiredPublisher, lock_rollout, publish_waiting
from fleet.rollouts.errors import RolloutError, UnknownRollout
from fleet.rollouts.progress import targets_of
from fleet.rollouts.reasons import MAX_REASON_CHARS, ROLLBACK_WAITING
from fleet.states import ROLLOUT_MOVES, TARGET_MOVES, RolloutState, TargetState

logger = logging.getLogger(__name__)

#: The operator's actions, by the names the pages and the API give them.
Action = Literal["pause", "resume", "abort", "rollback"]
ACTIONS: Final[tuple[Action, ...]] = get_args(Action)


def _locked(session: Session, rollout_id: int) -> Rollout:
    rollout = lock_rollout(session, rollout_id)
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
    for target in targets_of(session, rollout.id):
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
    for target in targets_of(session, rollout.id):
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


def act(
    session: Session,
    rollout_id: int,
    action: Action,
    username: str,
    publisher: DesiredPublisher | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Rollout:
    """Do the action named ``action``; the reason counts for an abort and a rollback, the
    publisher for a rollback."""
    if action == "pause":
        return pause(session, rollout_id, username, now)
    if action == "resume":
        return resume(session, rollout_id, username, now)
    if action == "abort":
        return abort(session, rollout_id, username, reason, now)
    return rollback(session, rollout_id, username, publisher, reason, now)
