"""Server-side sessions, throttling by address and account, second factor, single sign-on.

The signed cookie alone could not be ended by a logout; sessions now live in ``web_sessions``.
``login_failures`` (a hard block per key) gives way to ``auth_failures`` (growing delays per
address and account, for logins and enrolment codes alike): its rows are only counters, so none
are carried over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fleet.models
from fleet.migrations import ddl

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("totp_enabled_at", fleet.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_users_oidc_subject"), ["oidc_subject"])

    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_key_at")
    op.drop_table("login_failures")

    op.create_table(
        "auth_failures",
        ddl.id_column(),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=True),
        sa.Column("at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('login', 'enrolment')", name=op.f("ck_auth_failures_scope_known")
        ),
        ddl.primary_key("auth_failures"),
    )
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.create_index("ix_auth_failures_scope_address_at", ["scope", "address", "at"])
        batch_op.create_index("ix_auth_failures_scope_account_at", ["scope", "account", "at"])

    op.create_table(
        "web_sessions",
        ddl.id_column(),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", fleet.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column(
            "awaiting_second_factor", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        ddl.cascade("web_sessions", "user_id", "users"),
        ddl.primary_key("web_sessions"),
        ddl.unique("web_sessions", "secret_hash"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_web_sessions_user_id", ["user_id"])

    op.create_table(
        "recovery_codes",
        ddl.id_column(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", fleet.models.UTCDateTime(timezone=True), nullable=True),
        ddl.cascade("recovery_codes", "user_id", "users"),
        ddl.primary_key("recovery_codes"),
    )
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.create_index("ix_recovery_codes_user_id", ["user_id"])


def downgrade() -> None:
    with op.batch_alter_table("recovery_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_recovery_codes_user_id")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_web_sessions_user_id")
    op.drop_table("web_sessions")
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_failures_scope_account_at")
        batch_op.drop_index("ix_auth_failures_scope_address_at")
    op.drop_table("auth_failures")
    op.create_table(
        "login_failures",
        ddl.id_column(),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        ddl.primary_key("login_failures"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_key_at", ["key", "at"])
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_users_oidc_subject"), type_="unique")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
