"""The reasons the fleet itself stores on rollouts and targets: in English in the database, shown
translated (:data:`STORED_REASONS`)."""

from __future__ import annotations

from typing import Final

from fleet.i18n import N_

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
