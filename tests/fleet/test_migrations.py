"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text

from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.models import Base, HealthSample, Terminal
from kiosk.contract import INT64_MAX


def test_migrated_schema_matches_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    # The plan's grid index is on expressions, per database (migration r0010): not in the
    # models, which autogenerate cannot compare; PostgreSQL reflects it, SQLite skips it.
    differences = [
        difference
        for difference in differences
        if not (difference[0] == "remove_index" and difference[1].name == "ix_terminals_plan_cell")
    ]

    assert differences == []
    tables = set(inspect(migrated_engine).get_table_names())
    assert {
        "terminals",
        "health_samples",
        "events",
        "users",
        "rejected_messages",
        "commands",
        "state_changes",
        "alerts",
        "maintenance_windows",
        "audit_log",
        "auth_failures",
        "web_sessions",
        "recovery_codes",
        "api_tokens",
    } <= tables


def test_upgrading_twice_changes_nothing(migrated_engine: Engine) -> None:
    upgrade_database(migrated_engine)

    with migrated_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "r0010_mapscale"


def test_0009_widens_to_64_bits_and_forgets_what_no_page_can_show(any_database_url: str) -> None:
    engine = make_engine(any_database_url)
    try:
        upgrade_database(engine, "0008")
        at = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
        with make_session_factory(engine)() as session:
            # What an older fleet stored from a hostile terminal: Infinity and year 9999.
            session.execute(
                text(
                    "INSERT INTO terminals (id, state, state_since, versions, created_at, "
                    "cpu_percent, uptime_s, health_at) VALUES ('bdx-old', 'online', :at, '{}', "
                    ":at, :inf, :inf, :far)"
                ),
                {"at": at, "inf": float("inf"), "far": datetime(9999, 12, 31, 23, 0, tzinfo=UTC)},
            )
            session.commit()
        upgrade_database(engine)

        with make_session_factory(engine)() as session:
            old = session.get(Terminal, "bdx-old")
            assert old is not None
            assert (old.cpu_percent, old.uptime_s, old.health_at) == (None, None, None)
            old.birth_seq = old.dropped_samples = INT64_MAX
            session.add(
                HealthSample(
                    terminal_id="bdx-old", seq=INT64_MAX, sent_at=at, received_at=at, payload={}
                )
            )
            session.commit()
            assert session.scalar(select(HealthSample.seq)) == INT64_MAX
        if engine.dialect.name == "postgresql":
            with engine.connect() as connection:
                kinds = dict(
                    connection.execute(
                        text("SELECT sequence_name, data_type FROM information_schema.sequences")
                    ).all()
                )
            assert kinds["health_samples_id_seq"] == "bigint"
    finally:
        engine.dispose()
