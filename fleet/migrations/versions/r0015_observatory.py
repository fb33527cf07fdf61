"""The observatory: a site's priority neighbourhood (QPV) code, and the role `observatoire`."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
# r0009's own revision id is "0009" (its file is r0009_wide_integers_and_clock_skew.py).
down_revision: str | None = "0014"

_OLD_ROLES = "role IN ('viewer', 'operator', 'admin')"
_NEW_ROLES = "role IN ('viewer', 'operator', 'admin', 'observatoire')"


def _roles(check: str) -> None:
    for table in ("users", "api_tokens"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_role_known"), type_="check")
            batch_op.create_check_constraint(op.f(f"ck_{table}_role_known"), check)


def upgrade() -> None:
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("qpv_code", sa.String(length=16), nullable=True))
    _roles(_NEW_ROLES)


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE role = 'observatoire'")
    op.execute("UPDATE users SET role = 'viewer' WHERE role = 'observatoire'")
    _roles(_OLD_ROLES)
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("qpv_code")
