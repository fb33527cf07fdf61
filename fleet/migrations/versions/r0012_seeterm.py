"""See the terminal: what ``logs`` and ``screenshot`` commands brought back."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0012"
down_revision: str | None = "0011"


def upgrade() -> None:
    op.create_table(
        "command_outputs",
        sa.Column("command_id", sa.String(length=64), nullable=False),
        ddl.terminal_id_column(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", fleet.models.UTCDateTime(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.Column("png", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('logs', 'screenshot')", name=op.f("ck_command_outputs_kind_known")
        ),
        ddl.cascade("command_outputs", "command_id", "commands"),
        ddl.cascade("command_outputs", "terminal_id", "terminals"),
        ddl.primary_key("command_outputs", "command_id"),
    )
    op.create_index(
        "ix_command_outputs_terminal_id_kind_received_at",
        "command_outputs",
        ["terminal_id", "kind", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_command_outputs_terminal_id_kind_received_at", table_name="command_outputs")
    op.drop_table("command_outputs")
