"""Alembic migrations of the fleet database, run by ``fleet db upgrade`` and ``fleet serve``."""
