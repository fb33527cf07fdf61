"""Alerts, maintenance windows, the audit log, presence history; last wipe check on terminals."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleet.migrations import ddl

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "state_changes",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        ddl.cascade("state_changes", "terminal_id", "terminals"),
        ddl.primary_key("state_changes"),
    )
    with op.batch_alter_table("state_changes", schema=None) as batch_op:
        batch_op.create_index("ix_state_changes_terminal_id_at", ["terminal_id", "at"])

    op.create_table(
        "alerts",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("active_key", sa.String(length=80), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("last_notified_state", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_alerts_state_known")
        ),
        ddl.cascade("alerts", "terminal_id", "terminals"),
        ddl.primary_key("alerts"),
        ddl.unique("alerts", "active_key"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_state_opened_at", ["state", "opened_at"])
        batch_op.create_index("ix_alerts_terminal_id_opened_at", ["terminal_id", "opened_at"])

    op.create_table(
        "maintenance_windows",
        ddl.id_column(),
        ddl.terminal_id_column(nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        ddl.cascade("maintenance_windows", "terminal_id", "terminals"),
        ddl.primary_key("maintenance_windows"),
    )
    with op.batch_alter_table("maintenance_windows", schema=None) as batch_op:
        batch_op.create_index("ix_maintenance_windows_ends_at", ["ends_at"])

    op.create_table(
        "audit_log",
        ddl.id_column(),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        ddl.primary_key("audit_log"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"])

    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_wipe_ok", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("last_wipe_ok")
    op.drop_table("audit_log")
    op.drop_table("maintenance_windows")
    op.drop_table("alerts")
    op.drop_table("state_changes")
