"""Observatory export: aggregation per day, terminal and tile, median, suppression, formats."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import EventRecord, Terminal
from tests.helpers import log_in

from .conftest import make_settings, prepare_database

DAY = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> FleetSettings:
    """These tests were written for the export's former threshold, 5 (the lowest allowed)."""
    settings = make_settings(tmp_path, observatory_min_sessions=5)
    prepare_database(settings)
    return settings


@pytest.fixture
def usage(settings: FleetSettings) -> FleetSettings:
    """bdx-001 (Bordeaux) on 10 March: 6 sessions with caf (3 also ameli), 1 with none;
    bdx-002 (Pessac) on 11 March: 5 sessions with caf; something else and an old session."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        for terminal_id, commune in (("bdx-001", "Bordeaux"), ("bdx-002", "Pessac")):
            session.add(
                Terminal(
                    id=terminal_id,
                    state="online",
                    state_since=DAY,
                    created_at=DAY,
                    versions={},
                    commune=commune,
                )
            )
        session.flush()
        seq = 0

        def event(terminal_id: str, at: datetime, data: dict[str, object], kind: str) -> None:
            nonlocal seq
            seq += 1
            session.add(
                EventRecord(
                    terminal_id=terminal_id,
                    seq=seq,
                    kind=kind,
                    sent_at=at,
                    received_at=at,
                    data=data,
                )
            )

        for index, duration in enumerate((60, 120, 180, 240, 300, 360)):
            tiles = "caf,ameli" if index < 3 else "caf"
            event(
                "bdx-001",
                DAY + timedelta(minutes=index),
                {"duration_s": duration, "reason": "button", "tiles_count": 1, "tiles": tiles},
                "session_ended",
            )
        event("bdx-001", DAY, {"duration_s": 10, "tiles": ""}, "session_ended")
        for index in range(5):
            event(
                "bdx-002",
                DAY + timedelta(days=1, minutes=index),
                {"duration_s": 100 + index, "tiles": "caf"},
                "session_ended",
            )
        event("bdx-002", DAY, {"duration_s": 5, "tiles": "caf"}, "ui_crash")
        event(
            "bdx-002", DAY - timedelta(days=30), {"duration_s": 5, "tiles": "caf"}, "session_ended"
        )
        session.commit()
    engine.dispose()
    return settings


def export(client: TestClient, first: str, last: str, fmt: str) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/observatory?from={first}&to={last}&format={fmt}")
    assert response.status_code == 200, response.text
    if fmt == "json":
        rows: list[dict[str, object]] = response.json()["rows"]
        return rows
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))


def test_json_aggregates_with_median_and_suppression(
    client: TestClient, usage: FleetSettings
) -> None:
    log_in(client)
    rows = export(client, "2026-03-10", "2026-03-11", "json")

    assert rows == [
        {"day": "2026-03-10", "terminal_id": "bdx-001", "commune": "Bordeaux", "tile": "",
         "sessions": "<5", "median_duration_s": None},
        {"day": "2026-03-10", "terminal_id": "bdx-001", "commune": "Bordeaux", "tile": "ameli",
         "sessions": "<5", "median_duration_s": None},
        {"day": "2026-03-10", "terminal_id": "bdx-001", "commune": "Bordeaux", "tile": "caf",
         "sessions": 6, "median_duration_s": 210.0},
        {"day": "2026-03-11", "terminal_id": "bdx-002", "commune": "Pessac", "tile": "caf",
         "sessions": 5, "median_duration_s": 102.0},
    ]  # fmt: skip


def test_csv_has_a_header_and_iso_dates(client: TestClient, usage: FleetSettings) -> None:
    log_in(client)
    rows = export(client, "2026-03-10", "2026-03-10", "csv")

    assert [row["tile"] for row in rows] == ["", "ameli", "caf"]
    assert rows[1] == {"day": "2026-03-10", "terminal_id": "bdx-001", "commune": "Bordeaux",
                       "tile": "ameli", "sessions": "<5", "median_duration_s": ""}  # fmt: skip
    assert rows[2]["sessions"] == "6"
    assert rows[2]["median_duration_s"] == "210.0"


def test_date_range_is_respected(client: TestClient, usage: FleetSettings) -> None:
    log_in(client)
    assert export(client, "2026-03-11", "2026-03-12", "json")[0]["terminal_id"] == "bdx-002"
    assert len(export(client, "2026-03-11", "2026-03-12", "json")) == 1
    assert export(client, "2026-01-01", "2026-01-31", "json") == []
    bad = client.get("/api/v1/observatory?from=2026-03-12&to=2026-03-11")
    assert bad.status_code == 422


def test_export_needs_a_login_or_token(client: TestClient, usage: FleetSettings) -> None:
    assert client.get("/api/v1/observatory?from=2026-03-10&to=2026-03-11").status_code == 401
