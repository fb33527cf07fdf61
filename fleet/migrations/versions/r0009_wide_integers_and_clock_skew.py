"""64-bit sequence numbers and keys on PostgreSQL, the terminal's clock claim, broker counters.

On PostgreSQL ``seq``, ``birth_seq``, ``dropped_samples``, rejection counts and the keys of the
three report tables were 32-bit INTEGER, so a ``seq`` the contract allows (and SQLite, whose
INTEGER is 64-bit, kept) failed there. SQLite needs no change of type.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from typing import Final

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0009"
down_revision: str | None = "0008"

#: (table, column) made 64-bit on PostgreSQL.
WIDENED: Final = (
    ("terminals", "birth_seq"),
    ("terminals", "dropped_samples"),
    ("health_samples", "seq"),
    ("events", "seq"),
    ("command_acks", "seq"),
    ("rejected_messages", "count"),
)
#: Tables whose SERIAL key (and its sequence) becomes 64-bit on PostgreSQL.
WIDENED_KEYS: Final = ("health_samples", "events", "command_acks")
REPORT_TABLES: Final = ("health_samples", "events", "command_acks")
#: A terminal's latest figures, which older fleets stored NaN or infinite (SQLite kept them).
FIGURES: Final = (
    "cpu_percent",
    "memory_percent",
    "disk_percent",
    "temperature_c",
    "uptime_s",
    "enclosure_temperature_c",
    "clock_offset_ms",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column in WIDENED:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())
        for table in WIDENED_KEYS:
            op.alter_column(table, "id", type_=sa.BigInteger(), existing_type=sa.Integer())
            op.execute(f"ALTER SEQUENCE {table}_id_seq AS BIGINT")
    for table in REPORT_TABLES:
        op.add_column(
            table,
            sa.Column("claimed_sent_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        )
        op.create_index(
            f"ux_{table}_claimed", table, ["terminal_id", "seq", "claimed_sent_at"], unique=True
        )
    op.add_column("terminals", sa.Column("clock_error_s", sa.Float(), nullable=True))
    op.add_column(
        "terminals",
        sa.Column("clock_error_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
    )
    _forget_what_no_page_can_show()
    op.create_table(
        "broker_counters",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_value", fleet.models.BigInt, nullable=False),
        sa.Column("total", fleet.models.BigInt, nullable=False),
        sa.Column("updated_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        ddl.primary_key("broker_counters", "name"),
    )


def _forget_what_no_page_can_show() -> None:
    """Older fleets stored figures that are NaN or infinite, and a latest-report time far in
    the future (a terminal's year 9999) that no later report could replace: forget them, the
    next report sets them again."""
    terminals = sa.table(
        "terminals",
        *(sa.column(name, sa.Float()) for name in FIGURES),
        sa.column("health_at", fleet.models.UTCDateTime(timezone=True)),
    )
    for name in FIGURES:
        figure = terminals.c[name]
        # PostgreSQL sorts NaN above every number; SQLite stores NaN as NULL.
        op.execute(
            terminals.update()
            .where(sa.or_(figure > sys.float_info.max, figure < -sys.float_info.max))
            .values({name: None})
        )
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    op.execute(terminals.update().where(terminals.c.health_at > tomorrow).values(health_at=None))


def downgrade() -> None:
    op.drop_table("broker_counters")
    with op.batch_alter_table("terminals") as batch:
        batch.drop_column("clock_error_at")
        batch.drop_column("clock_error_s")
    for table in REPORT_TABLES:
        op.drop_index(f"ux_{table}_claimed", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("claimed_sent_at")
    if op.get_bind().dialect.name == "postgresql":
        for table in WIDENED_KEYS:
            op.execute(f"ALTER SEQUENCE {table}_id_seq AS INTEGER")
            op.alter_column(table, "id", type_=sa.Integer(), existing_type=sa.BigInteger())
        for table, column in WIDENED:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
