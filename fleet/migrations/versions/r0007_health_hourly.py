"""Hourly roll-ups of health reports, kept after the raw reports expire."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_table(
        "health_hourly",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("hour", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        # Each figure's average and maximum over the hour.
        *(
            sa.Column(f"{figure}_{statistic}", sa.Float(), nullable=True)
            for figure in ("cpu", "memory", "disk", "temperature")
            for statistic in ("avg", "max")
        ),
        ddl.cascade("health_hourly", "terminal_id", "terminals"),
        ddl.primary_key("health_hourly"),
        ddl.unique("health_hourly", "terminal_id", "hour"),
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
