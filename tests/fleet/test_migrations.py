"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from fleet.core.db import upgrade_database
from fleet.models import Base


def test_migrated_schema_matches_the_models(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

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
        "login_failures",
        "api_tokens",
    } <= tables


def test_upgrading_twice_changes_nothing(migrated_engine: Engine) -> None:
    upgrade_database(migrated_engine)

    with migrated_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0008"
