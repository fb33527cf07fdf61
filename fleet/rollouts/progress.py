"""What the pages and the API read about rollouts: the active one, the latest ones, a rollout's
targets, a terminal's place, and how many targets are in each state, overall and per wave."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import Rollout, RolloutTarget
from fleet.states import ACTIVE_ROLLOUT_STATES, TargetState


def active_rollout(session: Session) -> Rollout | None:
    """The rollout in progress (running, paused or halted), if any."""
    return session.scalar(
        select(Rollout).where(Rollout.state.in_(ACTIVE_ROLLOUT_STATES)).order_by(Rollout.id.desc())
    )


def targets_of(session: Session, rollout_id: int, wave: int | None = None) -> list[RolloutTarget]:
    """The rollout's targets (of one wave when given), by wave then terminal."""
    query = select(RolloutTarget).where(RolloutTarget.rollout_id == rollout_id)
    if wave is not None:
        query = query.where(RolloutTarget.wave == wave)
    return list(session.scalars(query.order_by(RolloutTarget.wave, RolloutTarget.terminal_id)))


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
