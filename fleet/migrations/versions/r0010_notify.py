"""Notification channels set in the dashboard: e-mail addresses and webhooks per alert kind."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0010"
# The coordinator re-chains the r0010 revisions at merge; "0009" is r0009's revision id.
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        ddl.id_column(),
        sa.Column("medium", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("alert_kinds", sa.String(length=400), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "medium IN ('email', 'webhook')", name=op.f("ck_notification_channels_medium_known")
        ),
        ddl.primary_key("notification_channels"),
    )


def downgrade() -> None:
    op.drop_table("notification_channels")
