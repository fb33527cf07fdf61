"""Fixtures for the fleet: settings on a real SQLite file (or PostgreSQL), app, users, payloads."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fleet import crud
from fleet.broker import free_port
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.main import create_app
from kiosk.contract.mqtt import Disk, Health, Status
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME
from tests.throwaway_pg import throwaway_database

PG_ENV = "KIOSK_TEST_PG_URL"


@contextmanager
def throwaway_pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database ``fleet_test_<random>`` on the server of KIOSK_TEST_PG_URL."""
    base_url = os.environ.get(PG_ENV)
    if not base_url:
        pytest.skip(
            f"{PG_ENV} not set: `make test` sets it when PostgreSQL answers on 127.0.0.1:5432 "
            "(install and start Debian's postgresql, or point PG_URL at a server)"
        )
    with throwaway_database(base_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a SQLite file, then PostgreSQL when KIOSK_TEST_PG_URL is set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'fleet.db'}"
        return
    with throwaway_pg_database() as url:
        yield url


@pytest.fixture
def migrated_engine(any_database_url: str) -> Iterator[Engine]:
    engine = make_engine(any_database_url)
    upgrade_database(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(migrated_engine: Engine) -> Iterator[Session]:
    with make_session_factory(migrated_engine)() as session:
        yield session


def make_settings(tmp_path: Path, **overrides: object) -> FleetSettings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'fleet.db'}",
        "secret_key": "test-secret-" + secrets.token_hex(16),
        # Nobody listens there unless a test starts a broker on it.
        "broker_port": free_port(),
        "broker_password": "unused",
        "default_language": "fr",
        # TestClient speaks plain HTTP to "testserver": a Secure cookie would never come back.
        "cookie_secure": False,
    }
    values.update(overrides)
    return FleetSettings.model_validate(values)


@pytest.fixture
def settings(tmp_path: Path) -> FleetSettings:
    """Settings on a migrated SQLite file, with an admin user."""
    settings = make_settings(tmp_path)
    prepare_database(settings)
    return settings


def prepare_database(settings: FleetSettings) -> None:
    engine = make_engine(settings.database_url)
    try:
        upgrade_database(engine)
        with make_session_factory(engine)() as session:
            crud.create_user(session, ADMIN_USERNAME, ADMIN_PASSWORD, role="admin")
            session.commit()
    finally:
        engine.dispose()


@pytest.fixture
def web_settings(tmp_path: Path, any_database_url: str) -> FleetSettings:
    """Settings on a prepared database (the admin user in it): SQLite, then PostgreSQL."""
    settings = make_settings(tmp_path, database_url=any_database_url)
    prepare_database(settings)
    return settings


@pytest.fixture
def factory(web_settings: FleetSettings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the database of ``web_settings``."""
    engine = make_engine(web_settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def client(settings: FleetSettings) -> Iterator[TestClient]:
    """The app without MQTT ingest."""
    with TestClient(create_app(settings, start_ingest=False)) as test_client:
        yield test_client


NOW = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)


def status_payload(
    state: str = "online", boot_id: str = "boot-1", birth_seq: int = 1, at: datetime = NOW
) -> bytes:
    return Status.model_validate(
        {
            "state": state,
            "boot_id": boot_id,
            "birth_seq": birth_seq,
            "sent_at": at,
            "keepalive_s": 30,
            "versions": {"agent": "0.1.0"},
        }
    ).to_bytes()


def health_payload(seq: int = 1, at: datetime = NOW, cpu: float = 12.5) -> bytes:
    return Health(
        seq=seq,
        sent_at=at,
        uptime_s=3600 * 5 + 120,
        cpu_percent=cpu,
        load_1m=0.4,
        memory_percent=41.0,
        memory_total_bytes=4 * 1024**3,
        disks=[
            Disk(mount="/", total_bytes=32 * 1024**3, used_percent=55.0),
            Disk(mount="/var", total_bytes=8 * 1024**3, used_percent=71.5),
        ],
        temperatures_c={"cpu": 48.0, "board": 39.5},
    ).to_bytes()


def later(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)
