"""Commands to terminals (the outbox and their states); richer latest health on terminals."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fleet.migrations import ddl

revision: str = "0002"
down_revision: str | None = "0001"


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("id", sa.String(length=64), nullable=False),
        ddl.terminal_id_column(),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('pending', 'accepted', 'done', 'failed', 'refused', 'expired')",
            name=op.f("ck_commands_state_known"),
        ),
        ddl.cascade("commands", "terminal_id", "terminals"),
        ddl.primary_key("commands"),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index("ix_commands_state_expires_at", ["state", "expires_at"], unique=False)
        batch_op.create_index(
            "ix_commands_terminal_id_issued_at", ["terminal_id", "issued_at"], unique=False
        )

    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ui_alive", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("door_open", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("enclosure_temperature_c", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("clock_synced", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("clock_offset_ms", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("dropped_samples", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("dropped_samples")
        batch_op.drop_column("clock_offset_ms")
        batch_op.drop_column("clock_synced")
        batch_op.drop_column("enclosure_temperature_c")
        batch_op.drop_column("door_open")
        batch_op.drop_column("ui_alive")

    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index("ix_commands_terminal_id_issued_at")
        batch_op.drop_index("ix_commands_state_expires_at")

    op.drop_table("commands")
