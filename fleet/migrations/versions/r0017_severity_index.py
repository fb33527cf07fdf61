"""The overview severity first at 100,000 terminals: one index that reads each rank in order.

``ix_terminals_severity`` is (state, state_since, id) then the health figures that make an
online terminal degraded (``fleet.severity.health_problem``). Each rank of the severity order
is a range of it read in the table's order within the rank (a lost or offline terminal past
the grace period: ``state`` and ``state_since <=``; degraded and healthy: the online entries,
told apart by the figures the index holds), so a page of the overview reads about a page of
entries instead of ranking and sorting every terminal (``fleet.api.routes.live.severity_page``).
It also covers the summary's "degraded" count, so it replaces ``ix_terminals_health``
(migration 0016), which held the same figures without the order: one index less to keep
current on every health report. ``ix_terminals_not_placed`` is a partial index of the
terminals without coordinates, which the overview counts and lists in id order (a few, where
a table scan in id order read the whole fleet when fewer than a page of them were missing).
Indexes only: nothing to migrate in the data.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 02:20:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEVERITY_COLUMNS: Final = (
    "state",
    "state_since",
    "id",
    "ui_alive",
    "disk_percent",
    "enclosure_temperature_c",
    "temperature_c",
    "clock_synced",
    "clock_error_s",
)

#: The terminals the plan cannot draw (``fleet.api.routes.live.NOT_PLACED``, written alike).
NOT_PLACED_SQL: Final = "latitude IS NULL OR longitude IS NULL"

#: ``ix_terminals_health`` as migration 0016 made it (for the downgrade).
HEALTH_COLUMNS: Final = (
    "state",
    "ui_alive",
    "disk_percent",
    "enclosure_temperature_c",
    "temperature_c",
    "clock_synced",
    "clock_error_s",
)


def upgrade() -> None:
    op.create_index("ix_terminals_severity", "terminals", list(SEVERITY_COLUMNS))
    op.drop_index("ix_terminals_health", "terminals")
    op.create_index(
        "ix_terminals_not_placed",
        "terminals",
        ["id"],
        sqlite_where=sa.text(NOT_PLACED_SQL),
        postgresql_where=sa.text(NOT_PLACED_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_terminals_not_placed", "terminals")
    op.create_index("ix_terminals_health", "terminals", list(HEALTH_COLUMNS))
    op.drop_index("ix_terminals_severity", "terminals")
