"""Initial schema: terminals, health samples, events, command acks, users, rejections."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleet.migrations import ddl

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "rejected_messages",
        ddl.id_column(),
        ddl.terminal_id_column(nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_detail", sa.String(length=300), nullable=True),
        ddl.primary_key("rejected_messages"),
        ddl.unique("rejected_messages", "terminal_id", "reason"),
    )
    op.create_table(
        "terminals",
        sa.Column("id", sa.String(length=ddl.TERMINAL_ID_LENGTH), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("boot_id", sa.String(length=200), nullable=True),
        sa.Column("birth_seq", sa.Integer(), nullable=True),
        sa.Column("keepalive_s", sa.Integer(), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=True),
        sa.Column("memory_percent", sa.Float(), nullable=True),
        sa.Column("disk_percent", sa.Float(), nullable=True),
        sa.Column("temperature_c", sa.Float(), nullable=True),
        sa.Column("uptime_s", sa.Float(), nullable=True),
        sa.Column("health_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('unknown', 'online', 'offline', 'lost')",
            name=op.f("ck_terminals_state_known"),
        ),
        ddl.primary_key("terminals"),
    )
    op.create_table(
        "users",
        ddl.id_column(),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('viewer', 'operator', 'admin')", name=op.f("ck_users_role_known")
        ),
        ddl.primary_key("users"),
        ddl.unique("users", "username"),
    )
    op.create_table(
        "command_acks",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        ddl.cascade("command_acks", "terminal_id", "terminals"),
        ddl.primary_key("command_acks"),
        ddl.unique("command_acks", "terminal_id", "seq", "sent_at"),
    )
    with op.batch_alter_table("command_acks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_command_acks_command_id"), ["command_id"], unique=False
        )

    op.create_table(
        "events",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        ddl.cascade("events", "terminal_id", "terminals"),
        ddl.primary_key("events"),
        ddl.unique("events", "terminal_id", "seq", "sent_at"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_received_at"), ["received_at"], unique=False)

    op.create_table(
        "health_samples",
        ddl.id_column(),
        ddl.terminal_id_column(),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        ddl.cascade("health_samples", "terminal_id", "terminals"),
        ddl.primary_key("health_samples"),
        ddl.unique("health_samples", "terminal_id", "seq", "sent_at"),
    )
    with op.batch_alter_table("health_samples", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_samples_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("health_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_samples_received_at"))

    op.drop_table("health_samples")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_received_at"))

    op.drop_table("events")
    with op.batch_alter_table("command_acks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_command_acks_command_id"))

    op.drop_table("command_acks")
    op.drop_table("users")
    op.drop_table("terminals")
    op.drop_table("rejected_messages")
