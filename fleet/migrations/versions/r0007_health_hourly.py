"""Hourly roll-ups of health reports, kept after the raw reports expire.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 09:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_hourly",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("hour", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("cpu_avg", sa.Float(), nullable=True),
        sa.Column("cpu_max", sa.Float(), nullable=True),
        sa.Column("memory_avg", sa.Float(), nullable=True),
        sa.Column("memory_max", sa.Float(), nullable=True),
        sa.Column("disk_avg", sa.Float(), nullable=True),
        sa.Column("disk_max", sa.Float(), nullable=True),
        sa.Column("temperature_avg", sa.Float(), nullable=True),
        sa.Column("temperature_max", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_health_hourly_terminal_id_terminals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_hourly")),
        sa.UniqueConstraint("terminal_id", "hour", name=op.f("uq_health_hourly_terminal_id_hour")),
    )
    op.create_index(op.f("ix_health_hourly_hour"), "health_hourly", ["hour"], unique=False)
    op.create_index(
        "ix_health_samples_terminal_id_received_at",
        "health_samples",
        ["terminal_id", "received_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_health_samples_terminal_id_received_at", table_name="health_samples")
    op.drop_index(op.f("ix_health_hourly_hour"), table_name="health_hourly")
    op.drop_table("health_hourly")
