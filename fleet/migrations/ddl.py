"""Pieces of table definitions that the revisions share: the key, the terminal reference.

Frozen, like the revisions themselves: each revision must build tomorrow the schema it built the
day it was written, so a function here never changes once a revision calls it (a different
piece is a new function). Nothing of :mod:`fleet.models` either, which follows the code of the
day. The names are those of the models' naming convention, spelled out (``op.f``: final).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

#: The length of a terminal's id, as the ``terminals`` table has it since revision 0001.
TERMINAL_ID_LENGTH = 40


def id_column() -> sa.Column[int]:
    """An integer ``id``, the table's key with :func:`primary_key` (SERIAL on PostgreSQL)."""
    return sa.Column("id", sa.Integer(), nullable=False)


def primary_key(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=op.f(f"pk_{table}"))


def terminal_id_column(*, nullable: bool = False) -> sa.Column[str]:
    """The ``terminal_id`` of a row about one terminal."""
    return sa.Column("terminal_id", sa.String(length=TERMINAL_ID_LENGTH), nullable=nullable)


def cascade(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    """``table.column`` refers to ``referred.id``; deleting that row deletes this one."""
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete="CASCADE",
    )


def unique(table: str, *columns: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))
