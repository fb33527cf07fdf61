"""Content rollouts: a published version reaches a canary group, then the fleet wave by wave.

A rollout's targets are the terminals of the fleet, each in a wave (0 is the canary group). The
package holds one idea a module:

- :mod:`~fleet.rollouts.plan`: what an operator asks for, checked, and the rollout it creates;
- :mod:`~fleet.rollouts.engine`: the step that moves rollouts on from the agents' content events
  and publishes the wishes that are due (the keeper's pass, the handler's events);
- :mod:`~fleet.rollouts.actions`: pause, resume, abort and roll back, the operator's actions;
- :mod:`~fleet.rollouts.progress`: what the pages and the API read;
- :mod:`~fleet.rollouts.errors` and :mod:`~fleet.rollouts.reasons`: the words a refusal says and
  the reasons the fleet stores.

The fleet's own modules import from those modules; the names below are the few the tests read
through the package.
"""

from fleet.rollouts.actions import abort, pause, resume, rollback, set_paused
from fleet.rollouts.engine import run_pass
from fleet.rollouts.errors import RolloutError
from fleet.rollouts.plan import Plan, create_rollout, published_versions
from fleet.rollouts.reasons import (
    HALTED_CANARY,
    HALTED_WAVE,
    NO_REASON,
    ROLLBACK_SENT,
    ROLLBACK_WAITING,
    STORED_REASONS,
)

__all__ = [
    "HALTED_CANARY",
    "HALTED_WAVE",
    "NO_REASON",
    "ROLLBACK_SENT",
    "ROLLBACK_WAITING",
    "STORED_REASONS",
    "Plan",
    "RolloutError",
    "abort",
    "create_rollout",
    "pause",
    "published_versions",
    "resume",
    "rollback",
    "run_pass",
    "set_paused",
]
