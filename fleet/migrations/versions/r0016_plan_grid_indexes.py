"""Indexes for the dashboard at 100,000 terminals: the plan's cluster grid and the state counts.

``ix_terminals_plan_cell`` is an index on the plan's grid expressions (column, row) and the
state, the very expressions of ``fleet.api.overview.table.grid_columns``, then the coordinates
(without which SQLite does not see that the index covers the expressions): the clusters are
then counted from the index alone, without reading the table. ``ix_terminals_state`` serves the
counts by state of the summary, ``ix_terminals_health`` its "degraded" count (the columns
``degraded_condition`` reads). Plain indexes: nothing to migrate in the data.
"""

from __future__ import annotations

from typing import Final

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"

#: The grid as of this revision (1/40 degree of longitude from -0.8, 1/60 of latitude from
#: 45.0): a test checks that the dashboard's queries read this index.
GRID_SQL: Final = {
    "sqlite": (
        "CAST((longitude - (-0.8)) * 40 AS INTEGER)",
        "CAST((45.0 - latitude) * 60 AS INTEGER)",
    ),
    "postgresql": (
        "CAST(floor((longitude - (-0.8)) * 40) AS INTEGER)",
        "CAST(floor((45.0 - latitude) * 60) AS INTEGER)",
    ),
}


#: What the summary's "degraded" count reads (``live.degraded_condition``): covered by one
#: index, the count scans its online entries instead of the whole table's rows.
HEALTH_COLUMNS: Final = (
    "state",
    "ui_alive",
    "disk_percent",
    "enclosure_temperature_c",
    "temperature_c",
    "clock_synced",
    "clock_error_s",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    column, row = GRID_SQL["postgresql" if dialect == "postgresql" else "sqlite"]
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_terminals_plan_cell"
        f" ON terminals (({column}), ({row}), state, latitude, longitude)"
    )
    op.execute("CREATE INDEX IF NOT EXISTS ix_terminals_state ON terminals (state)")
    op.create_index("ix_terminals_health", "terminals", list(HEALTH_COLUMNS))


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_terminals_plan_cell")
    op.execute("DROP INDEX IF EXISTS ix_terminals_state")
    op.drop_index("ix_terminals_health", "terminals")
