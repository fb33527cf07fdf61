"""Rollouts of content, enrolment codes, content versions and decommissioning of terminals."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        ddl.id_column(),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("site_name", sa.String(length=120), nullable=False),
        sa.Column("commune", sa.String(length=80), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        ddl.terminal_id_column(nullable=True),
        ddl.primary_key("enrolment_codes"),
        ddl.unique("enrolment_codes", "code_hash"),
    )
    op.create_table(
        "rollouts",
        ddl.id_column(),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("previous_version", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("success_threshold_percent", sa.Integer(), nullable=False),
        sa.Column("error_threshold_percent", sa.Integer(), nullable=False),
        sa.Column("wave_size", sa.Integer(), nullable=False),
        sa.Column("current_wave", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        ddl.primary_key("rollouts"),
    )
    op.create_table(
        "rollout_targets",
        ddl.id_column(),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        ddl.terminal_id_column(),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        ddl.cascade("rollout_targets", "rollout_id", "rollouts"),
        ddl.cascade("rollout_targets", "terminal_id", "terminals"),
        ddl.primary_key("rollout_targets"),
        ddl.unique("rollout_targets", "rollout_id", "terminal_id"),
    )
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_version", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("desired_content_version", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("decommissioned_at", fleet.models.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("decommissioned_at")
        batch_op.drop_column("desired_content_version")
        batch_op.drop_column("content_version")

    op.drop_table("rollout_targets")
    op.drop_table("rollouts")
    op.drop_table("enrolment_codes")
