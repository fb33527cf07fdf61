"""The rollout tables keep to their states, like the other tables with a state.

``rollouts.state`` and ``rollout_targets.state`` had no ``CHECK``: any text could be stored, and a
typo in the code would have been kept. The constraints name the states of
:class:`fleet.states.RolloutState` and :class:`fleet.states.TargetState` as of this revision
(a migration does not follow later changes of the enums: a later one would change them). A row
outside them (none is written by the fleet) makes the upgrade fail on PostgreSQL, which checks
the rows it has; SQLite rebuilds the table (batch mode), which checks them as it copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"

#: The states of each table, as of this revision.
STATES: Final = {
    "rollouts": ("running", "paused", "halted", "aborted", "completed", "rolled_back"),
    "rollout_targets": (
        "waiting",
        "pending",
        "downloading",
        "verified",
        "staged",
        "applied",
        "failed",
    ),
}
#: SQLite's batch mode reflects the table it rebuilds; not the tables its keys refer to (the
#: terminals' expression index is not SQLite's to reflect, and they are not rebuilt).
_REFLECT: Final = {"resolve_fks": False}


def _check(states: Sequence[str]) -> str:
    return f"state IN ({', '.join(repr(state) for state in states)})"


def upgrade() -> None:
    for table, states in STATES.items():
        with op.batch_alter_table(table, reflect_kwargs=_REFLECT) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_state_known"), _check(states))


def downgrade() -> None:
    for table in STATES:
        with op.batch_alter_table(table, reflect_kwargs=_REFLECT) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_state_known"), type_="check")
