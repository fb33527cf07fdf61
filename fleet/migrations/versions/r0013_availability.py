"""Availability: daily roll-ups of each terminal's state history, and of the fleet's; an
index on ``state_changes.at`` for the fleet's recent outages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    op.create_table(
        "availability_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        ddl.terminal_id_column(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("observed_s", sa.Float(), nullable=False),
        sa.Column("online_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("maintenance_s", sa.Float(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        ddl.cascade("availability_days", "terminal_id", "terminals"),
        ddl.primary_key("availability_days"),
        ddl.unique("availability_days", "day", "terminal_id"),
    )
    op.create_index(
        "ix_availability_days_day_share",
        "availability_days",
        ["day", "share", "terminal_id"],
        unique=False,
    )
    op.create_table(
        "availability_fleet_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("terminals", sa.Integer(), nullable=False),
        sa.Column("observed_s", sa.Float(), nullable=False),
        sa.Column("online_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("maintenance_s", sa.Float(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("computed_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        ddl.primary_key("availability_fleet_days", "day"),
    )
    op.create_index("ix_state_changes_at", "state_changes", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_state_changes_at", table_name="state_changes")
    op.drop_table("availability_fleet_days")
    op.drop_index("ix_availability_days_day_share", table_name="availability_days")
    op.drop_table("availability_days")
