"""The overview at 100,000 terminals: severity read rank by rank from an index; text search.

``ix_terminals_severity`` is (state, state_since, id) then the health figures that make an
online terminal degraded (``fleet.severity.health_problem``). Each rank of the severity order
is a range of it read in the table's order within the rank (a lost or offline terminal past
the grace period: ``state`` and ``state_since <=``; degraded and healthy: the online entries,
told apart by the figures the index holds), so a page of the overview reads about a page of
entries instead of ranking and sorting every terminal (``fleet.api.overview.table.severity_page``).
It also covers the summary's "degraded" count, so it replaces ``ix_terminals_health``
(migration 0016), which held the same figures without the order: one index less to keep
current on every health report. ``ix_terminals_not_placed`` is a partial index of the
terminals without coordinates, which the overview counts and lists in id order (a few, where
a table scan in id order read the whole fleet when fewer than a page of them were missing).
``terminal_search`` is the text search's side table (a terminal's id, site and commune),
kept by triggers and indexed by trigrams (FTS5's trigram tokenizer on SQLite, pg_trgm's GIN
on PostgreSQL), so that the overview's "contains" search reads the terminals it matches,
not every row. The rest are indexes: nothing else to migrate in the data.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"

SEVERITY_COLUMNS: Final = (
    "state",
    "state_since",
    "id",
    "ui_alive",
    "disk_percent",
    "enclosure_temperature_c",
    "temperature_c",
    "clock_synced",
    "clock_error_s",
)

#: The terminals the plan cannot draw (``fleet.api.overview.map.NOT_PLACED``, written alike).
NOT_PLACED_SQL: Final = "latitude IS NULL OR longitude IS NULL"

#: ``ix_terminals_health`` as migration 0016 made it (for the downgrade).
HEALTH_COLUMNS: Final = (
    "state",
    "ui_alive",
    "disk_percent",
    "enclosure_temperature_c",
    "temperature_c",
    "clock_synced",
    "clock_error_s",
)

#: The text search's side table: one row per terminal, its id, site and commune in lower case
#: (``fleet.api.overview.table.text_condition``), kept by triggers, indexed by trigrams so that
#: "contains" reads the matching terminals, not every row. A side table and not an index on the
#: terminals: a health report (every few minutes per terminal) then touches nothing of it.
SEARCH_WORDS_SQL: Final = {
    "sqlite": "lower({row}.id || char(31) || coalesce({row}.site_name, '') || char(31)"
    " || coalesce({row}.commune, ''))",
    "postgresql": "lower({row}.id || chr(31) || coalesce({row}.site_name, '') || chr(31)"
    " || coalesce({row}.commune, ''))",
}


def _sqlite_search() -> None:
    words = SEARCH_WORDS_SQL["sqlite"]
    # FTS5's trigram tokenizer serves LIKE '%...%' of 3 characters or more (SQLite >= 3.34).
    op.execute(
        "CREATE VIRTUAL TABLE terminal_search"
        " USING fts5(terminal_id UNINDEXED, words, tokenize='trigram')"
    )
    op.execute(
        "CREATE TRIGGER terminal_search_insert AFTER INSERT ON terminals BEGIN"
        " INSERT INTO terminal_search (terminal_id, words)"
        f" VALUES (new.id, {words.format(row='new')});"
        " END"
    )
    op.execute(
        "CREATE TRIGGER terminal_search_update AFTER UPDATE OF id, site_name, commune ON terminals"
        " WHEN old.id IS NOT new.id OR old.site_name IS NOT new.site_name"
        " OR old.commune IS NOT new.commune BEGIN"
        " DELETE FROM terminal_search WHERE terminal_id = old.id;"
        " INSERT INTO terminal_search (terminal_id, words)"
        f" VALUES (new.id, {words.format(row='new')});"
        " END"
    )
    op.execute(
        "CREATE TRIGGER terminal_search_delete AFTER DELETE ON terminals BEGIN"
        " DELETE FROM terminal_search WHERE terminal_id = old.id; END"
    )
    op.execute(
        "INSERT INTO terminal_search (terminal_id, words)"
        f" SELECT id, {words.format(row='terminals')} FROM terminals"
    )


def _postgresql_search() -> None:
    words = SEARCH_WORDS_SQL["postgresql"]
    # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database's
    # owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE TABLE terminal_search (terminal_id VARCHAR(40) PRIMARY KEY"
        " REFERENCES terminals (id) ON DELETE CASCADE ON UPDATE CASCADE, words TEXT NOT NULL)"
    )
    op.execute(
        "CREATE INDEX ix_terminal_search_words ON terminal_search USING gin (words gin_trgm_ops)"
    )
    op.execute(
        "CREATE FUNCTION terminal_search_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO terminal_search (terminal_id, words)"
        f" VALUES (NEW.id, {words.format(row='NEW')})"
        " ON CONFLICT (terminal_id) DO UPDATE SET words = EXCLUDED.words;"
        " RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER terminal_search_keep AFTER INSERT OR UPDATE OF id, site_name, commune"
        " ON terminals FOR EACH ROW EXECUTE FUNCTION terminal_search_keep()"
    )
    op.execute(
        "INSERT INTO terminal_search (terminal_id, words)"
        f" SELECT id, {words.format(row='terminals')} FROM terminals"
    )


def _drop_search(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS terminal_search_keep ON terminals")
        op.execute("DROP FUNCTION IF EXISTS terminal_search_keep()")
        op.execute("DROP TABLE IF EXISTS terminal_search")
        return
    for trigger in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS terminal_search_{trigger}")
    op.execute("DROP TABLE IF EXISTS terminal_search")


def upgrade() -> None:
    op.create_index("ix_terminals_severity", "terminals", list(SEVERITY_COLUMNS))
    op.drop_index("ix_terminals_health", "terminals")
    op.create_index(
        "ix_terminals_not_placed",
        "terminals",
        ["id"],
        sqlite_where=sa.text(NOT_PLACED_SQL),
        postgresql_where=sa.text(NOT_PLACED_SQL),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_search()
    else:
        _sqlite_search()


def downgrade() -> None:
    _drop_search(op.get_bind().dialect.name)
    op.drop_index("ix_terminals_not_placed", "terminals")
    op.create_index("ix_terminals_health", "terminals", list(HEALTH_COLUMNS))
    op.drop_index("ix_terminals_severity", "terminals")
