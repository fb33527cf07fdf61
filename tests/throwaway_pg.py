"""A throwaway PostgreSQL database, for the tests and the benchmarks alike.

``throwaway_database(server_url)`` creates ``<prefix>_<random>`` on the server the URL names
(``KIOSK_TEST_PG_URL`` in the tests, ``--pg`` in the benchmarks), yields its URL and drops it
afterwards, even when connections are still open (``WITH (FORCE)``, PostgreSQL 13+). Nothing
else on the server is touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(server_url: str, prefix: str = "fleet_test") -> Iterator[str]:
    url = make_url(server_url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
