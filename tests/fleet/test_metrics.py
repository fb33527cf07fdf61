"""Prometheus /metrics: protected, text format, figures read from the database."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.metrics import Family, IngestCounters, Sample, escape_label_value, exposition
from tests.helpers import csrf_token_of, log_in

from .conftest import NOW, health_payload, make_settings, prepare_database, status_payload
from .test_web import store


def token_for(client: TestClient) -> str:
    log_in(client)
    form = csrf_token_of(client.get("/tokens").text)
    page = client.post("/tokens", data={"name": "prometheus", "role": "viewer", "csrf_token": form})
    match = re.search(r'id="new-token-secret">([^<]+)<', page.text)
    assert match is not None
    client.cookies.clear()
    return match.group(1)


def test_metrics_need_a_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_metrics_report_terminals_rejects_and_lag(
    client: TestClient, settings: FleetSettings
) -> None:
    store(settings, "kiosk/v1/bdx-001/status", status_payload())
    # Stored one second after it was sent (see store()).
    store(settings, "kiosk/v1/bdx-001/health", health_payload(at=NOW))
    store(settings, "kiosk/v1/bdx-001/health", b"not json")
    secret = token_for(client)
    client.app.state.clock = lambda: NOW + timedelta(seconds=30)  # type: ignore[attr-defined]

    response = client.get("/metrics", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = response.text
    assert 'fleet_terminals{state="online"} 1' in body
    assert 'fleet_terminals{state="lost"} 0' in body
    assert "# TYPE fleet_messages_rejected_total counter" in body
    assert re.search(r'fleet_messages_rejected_total\{reason="[a-z_]+"\} 1', body)
    assert "fleet_ingest_lag_seconds 1" in body
    assert "fleet_ingest_lag_max_seconds 1" in body
    assert 'fleet_commands{state="pending"} 0' in body
    assert "# TYPE fleet_alerts_open gauge" in body


def test_allowed_addresses_need_no_token(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, metrics_allowed_addresses="10.0.0.0/8")
    prepare_database(settings)
    with TestClient(create_app(settings, start_ingest=False)) as client:
        assert client.get("/metrics").status_code == 401  # "testclient" is no address
    settings = make_settings(tmp_path, metrics_allowed_addresses="127.0.0.1")
    with TestClient(create_app(settings, start_ingest=False), client=("127.0.0.1", 5000)) as c:
        assert c.get("/metrics").status_code == 200


def test_a_name_that_is_no_address_is_refused_at_startup(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="testclient"):
        make_settings(tmp_path, metrics_allowed_addresses="10.0.0.0/8, testclient")


def test_label_values_are_escaped_and_counters_kept_by_channel() -> None:
    assert escape_label_value('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    counters = IngestCounters()
    counters.count("kiosk/v1/bdx-001/health", "stored")
    counters.count("kiosk/v1/bdx-001/health", "stored")
    counters.count("elsewhere", "rejected")
    assert counters.snapshot() == {("health", "stored"): 2, ("unknown", "rejected"): 1}
    text = exposition([Family("x_total", "X.", "counter", [Sample({"k": 'q"'}, 2.5)])])
    assert text == '# HELP x_total X.\n# TYPE x_total counter\nx_total{k="q\\""} 2.5\n'


def test_lag_is_only_over_the_last_minute(client: TestClient, settings: FleetSettings) -> None:
    store(settings, "kiosk/v1/bdx-001/health", health_payload(at=NOW))
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        from fleet.metrics import ingest_lags

        assert ingest_lags(session, NOW + timedelta(seconds=30)) == (1.0, 1.0)
        assert ingest_lags(session, NOW + timedelta(minutes=5)) == (None, None)
    engine.dispose()


def test_the_ingest_counts_what_it_handles(settings: FleetSettings) -> None:
    from fleet.ingest.mqtt import Ingest

    engine = make_engine(settings.database_url)
    ingest = Ingest(settings, make_session_factory(engine))
    ingest.process("kiosk/v1/bdx-001/health", health_payload(at=NOW), NOW)
    ingest.process("kiosk/v1/bdx-001/health", health_payload(at=NOW), NOW)
    ingest.process("kiosk/v1/bdx-001/health", b"{", NOW)
    engine.dispose()

    assert ingest.counters.snapshot() == {
        ("health", "stored"): 1,
        ("health", "duplicate"): 1,
        ("health", "rejected"): 1,
    }
