"""Availability: daily roll-ups of each terminal's state history, and of the fleet's; an
index on ``state_changes.at`` for the fleet's recent outages.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "availability_days",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("observed_s", sa.Float(), nullable=False),
        sa.Column("online_s", sa.Float(), nullable=False),
        sa.Column("down_s", sa.Float(), nullable=False),
        sa.Column("maintenance_s", sa.Float(), nullable=False),
        sa.Column("outages", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_availability_days_terminal_id_terminals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_days")),
        sa.UniqueConstraint(
            "day", "terminal_id", name=op.f("uq_availability_days_day_terminal_id")
        ),
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
        sa.PrimaryKeyConstraint("day", name=op.f("pk_availability_fleet_days")),
    )
    op.create_index("ix_state_changes_at", "state_changes", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_state_changes_at", table_name="state_changes")
    op.drop_table("availability_fleet_days")
    op.drop_index("ix_availability_days_day_share", table_name="availability_days")
    op.drop_table("availability_days")
