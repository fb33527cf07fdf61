"""Alert details as a kind's parameters, put in the reader's language when shown.

``alerts.summary`` held an English sentence written by the rules ("lost (connection lost) for 4
min"); ``alerts.details`` now holds the facts (``{"state": "lost", "since": ...}``) that pages and
notifications render through the catalog. ``summary`` stays: the English rendering, for logs and
for alerts opened before this revision (shown as stored).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("details")
