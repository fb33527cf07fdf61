"""See the terminal: what ``logs`` and ``screenshot`` commands brought back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fleet.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_outputs",
        sa.Column("command_id", sa.String(length=64), nullable=False),
        sa.Column("terminal_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("received_at", fleet.models.UTCDateTime(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=True),
        sa.Column("png", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('logs', 'screenshot')", name=op.f("ck_command_outputs_kind_known")
        ),
        sa.ForeignKeyConstraint(
            ["command_id"],
            ["commands.id"],
            name=op.f("fk_command_outputs_command_id_commands"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.id"],
            name=op.f("fk_command_outputs_terminal_id_terminals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_command_outputs")),
    )
    op.create_index(
        "ix_command_outputs_terminal_id_kind_received_at",
        "command_outputs",
        ["terminal_id", "kind", "received_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_command_outputs_terminal_id_kind_received_at", table_name="command_outputs")
    op.drop_table("command_outputs")
