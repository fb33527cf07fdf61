"""Observatory export of the help pages: guide opened, places and numbers shown, counts only."""

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
def help_usage(settings: FleetSettings) -> FleetSettings:
    """bdx-001: 6 sessions on 10 March (5 opened the guide, 12 places shown, 2 numbers), one
    of them from an older terminal without counts, one with values no honest terminal sends;
    bdx-002: 2 sessions that day (the whole row is suppressed)."""
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        for terminal_id in ("bdx-001", "bdx-002"):
            session.add(
                Terminal(
                    id=terminal_id,
                    state="online",
                    state_since=DAY,
                    created_at=DAY,
                    versions={},
                    commune="Bordeaux",
                )
            )
        session.flush()
        datas: list[tuple[str, dict[str, object]]] = [
            ("bdx-001", {"guide_opened": 1, "places_shown": 3, "numbers_shown": 1}),
            ("bdx-001", {"guide_opened": 1, "places_shown": 3, "numbers_shown": 1}),
            ("bdx-001", {"guide_opened": 1, "places_shown": 3, "numbers_shown": 0}),
            ("bdx-001", {"guide_opened": 2, "places_shown": 3, "numbers_shown": 0}),
            ("bdx-001", {"tiles": "caf"}),  # an older terminal: no counts
            ("bdx-001", {"guide_opened": "9", "places_shown": True, "numbers_shown": -4}),
            ("bdx-002", {"guide_opened": 1, "places_shown": 1, "numbers_shown": 1}),
            ("bdx-002", {"guide_opened": 1, "places_shown": 0, "numbers_shown": 0}),
        ]
        for seq, (terminal_id, data) in enumerate(datas):
            session.add(
                EventRecord(
                    terminal_id=terminal_id,
                    seq=seq,
                    kind="session_ended",
                    sent_at=DAY + timedelta(minutes=seq),
                    received_at=DAY,
                    data={"duration_s": 60, "reason": "button", **data},
                )
            )
        session.commit()
    engine.dispose()
    return settings


def test_help_counts_per_day_and_terminal_with_small_counts_hidden(
    client: TestClient, help_usage: FleetSettings
) -> None:
    log_in(client)
    response = client.get(
        "/api/v1/observatory?from=2026-03-10&to=2026-03-10&format=json&table=help"
    )
    assert response.status_code == 200, response.text
    assert "observatory-help-2026-03-10" in response.headers["content-disposition"]
    assert response.json()["rows"] == [
        {"day": "2026-03-10", "terminal_id": "bdx-001", "commune": "Bordeaux", "sessions": 6,
         "guide_opened": 5, "places_shown": 12, "numbers_shown": "<5"},
        {"day": "2026-03-10", "terminal_id": "bdx-002", "commune": "Bordeaux", "sessions": "<5",
         "guide_opened": "<5", "places_shown": "<5", "numbers_shown": "<5"},
    ]  # fmt: skip


def test_help_counts_as_csv(client: TestClient, help_usage: FleetSettings) -> None:
    log_in(client)
    response = client.get("/api/v1/observatory?from=2026-03-10&to=2026-03-10&table=help")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert list(rows[0]) == [
        "day", "terminal_id", "commune", "sessions", "guide_opened", "places_shown",
        "numbers_shown",
    ]  # fmt: skip
    assert rows[0]["places_shown"] == "12"


def test_the_tile_table_stays_the_default(client: TestClient, help_usage: FleetSettings) -> None:
    log_in(client)
    response = client.get("/api/v1/observatory?from=2026-03-10&to=2026-03-10&format=json")
    assert "tile" in response.json()["rows"][0]
    assert (
        client.get("/api/v1/observatory?from=2026-03-10&to=2026-03-10&table=x").status_code == 422
    )
