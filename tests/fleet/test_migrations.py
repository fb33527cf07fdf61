"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from fleet.core.db import alembic_config, make_engine, make_session_factory, upgrade_database
from fleet.models import Base, HealthSample, StateType, Terminal
from kiosk.contract.mqtt import INT64_MAX


def test_migrated_schema_matches_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    # The plan's grid index is on expressions, per database (migration 0016): not in the
    # models, which autogenerate cannot compare; PostgreSQL reflects it, SQLite skips it.
    differences = [
        difference
        for difference in differences
        if not (difference[0] == "remove_index" and difference[1].name == "ix_terminals_plan_cell")
        # The text search's side table, kept by triggers (migration 0017): an FTS5 table and
        # its shadow tables on SQLite, so not a model either.
        and not (
            difference[0] in ("remove_table", "remove_index")
            and str(getattr(difference[1], "name", "")).startswith(
                ("terminal_search", "ix_terminal_search")
            )
        )
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
        current = MigrationContext.configure(connection).get_current_revision()
    # The last revision, and the only head (streams of work made in parallel are chained).
    assert current == "0018"
    assert ScriptDirectory.from_config(alembic_config(migrated_engine)).get_heads() == ["0018"]


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


def test_r0010_keeps_old_alerts_and_gives_new_ones_their_details(any_database_url: str) -> None:
    """Alerts stored before r0010 keep their English summary (shown as stored), with no details;
    the new column takes a kind's facts as JSON; a downgrade drops only it."""
    from alembic import command

    from fleet.core.db import alembic_config
    from fleet.models import Alert

    engine = make_engine(any_database_url)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        upgrade_database(engine, "0009")
        with make_session_factory(engine)() as session:
            session.execute(
                text(
                    "INSERT INTO terminals (id, state, state_since, versions, created_at) "
                    "VALUES ('t1', 'lost', :at, '{}', :at)"
                ),
                {"at": at},
            )
            session.execute(
                text(
                    "INSERT INTO alerts (terminal_id, kind, state, opened_at, summary) "
                    "VALUES ('t1', 'down', 'open', :at, 'lost (connection lost) for 4 min')"
                ),
                {"at": at},
            )
            session.commit()
        upgrade_database(engine)
        with make_session_factory(engine)() as session:
            (old,) = session.scalars(select(Alert)).all()
            assert old.details is None
            assert old.summary == "lost (connection lost) for 4 min"
            facts = {"state": "lost", "since": at.isoformat()}
            old.details = facts
            session.commit()
            assert session.scalars(select(Alert.details)).one() == facts
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0009")
        columns = {column["name"] for column in inspect(engine).get_columns("alerts")}
        assert "details" not in columns
        assert "summary" in columns
    finally:
        engine.dispose()


def _quoted_words(sql: str) -> set[str]:
    """The quoted values of a reflected CHECK (SQLite gives the text as written, PostgreSQL
    ``(state)::text = ANY (ARRAY['running'::character varying, ...])``)."""
    return set(re.findall(r"'([^']*)'", sql))


def test_every_state_column_is_checked_against_its_enum(migrated_engine: Engine) -> None:
    """Each table whose model derives a ``state_known`` CHECK from an enum has it in the
    migrated database, naming exactly the enum's states (migration 0018 adds the rollouts')."""
    inspector = inspect(migrated_engine)
    checked = {
        table.name: column.type.kind
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, StateType)
    }
    assert set(checked) == {"terminals", "commands", "alerts", "rollouts", "rollout_targets"}
    for table, kind in checked.items():
        found = {
            check["name"]: _quoted_words(check["sqltext"])
            for check in inspector.get_check_constraints(table)
        }
        assert found.get(f"ck_{table}_state_known") == {state.value for state in kind}, table


def test_0018_refuses_an_unknown_rollout_state_and_downgrades(any_database_url: str) -> None:
    from alembic import command

    engine = make_engine(any_database_url)
    at = datetime(2026, 12, 4, tzinfo=UTC)
    insert = text(
        "INSERT INTO rollouts (version, state, success_threshold_percent, "
        "error_threshold_percent, wave_size, current_wave, created_by, created_at, updated_at) "
        "VALUES ('2026.12.1', :state, 90, 10, 10, 0, 'ops', :at, :at)"
    )
    try:
        upgrade_database(engine, "0017")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO terminals (id, state, state_since, versions, created_at) "
                    "VALUES ('t1', 'online', :at, '{}', :at)"
                ),
                {"at": at},
            )
            connection.execute(insert, {"state": "paused", "at": at})
            connection.execute(
                text(
                    "INSERT INTO rollout_targets (rollout_id, terminal_id, wave, state, "
                    "updated_at) SELECT id, 't1', 0, 'staged', :at FROM rollouts"
                ),
                {"at": at},
            )
        upgrade_database(engine)
        with engine.connect() as connection:
            # SQLite rebuilt both tables: the targets of a rollout survive its table's rebuild.
            assert connection.execute(text("SELECT state FROM rollouts")).scalars().all() == [
                "paused"
            ]
            assert connection.execute(
                text("SELECT state FROM rollout_targets")
            ).scalars().all() == ["staged"]
            if engine.dialect.name == "sqlite":
                # Off while the migrations ran, on again for whoever takes the connection next.
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(insert, {"state": "runing", "at": at})
        config = alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0017")
        names = {check["name"] for check in inspect(engine).get_check_constraints("rollouts")}
        assert "ck_rollouts_state_known" not in names
        with engine.begin() as connection:
            connection.execute(insert, {"state": "runing", "at": at})
    finally:
        engine.dispose()
