"""The plan an operator asks for (a version, a canary group, waves and thresholds), checked, and
the rollout it creates: its targets wave by wave, the canary wave started."""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import audit
from fleet.crud import utc_now
from fleet.i18n import N_
from fleet.models import Rollout, RolloutTarget, Terminal
from fleet.rollouts.engine import start_wave
from fleet.rollouts.errors import InvalidPlan, RolloutError, UnknownCanary, UnpublishedVersion
from fleet.rollouts.progress import active_rollout
from fleet.states import RolloutState, TargetState

logger = logging.getLogger(__name__)

MAX_WAVE_SIZE: Final = 10_000


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
    start_wave(session, rollout, 0)
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
    from kiosk.contract.tuf import Targets

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
