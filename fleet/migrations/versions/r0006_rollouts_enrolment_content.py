"""Rollouts of content, enrolment codes, content versions and decommissioning of terminals.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:04:19.305916
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrolment_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("site_name", sa.String(length=120), nullable=False),
        sa.Column("commune", sa.String(length=80), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("terminal_id", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enrolment_codes_code_hash")),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollouts")),
    )
    op.create_table(
        "rollout_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["rollout_id"],
            ["rollouts.id"],
            name=op.f("fk_rollout_targets_rollout_id_rollouts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_rollout_targets_terminal_id_terminals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_targets")),
        sa.UniqueConstraint(
            "rollout_id", "terminal_id", name=op.f("uq_rollout_targets_rollout_id_terminal_id")
        ),
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
