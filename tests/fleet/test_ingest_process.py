"""The ingest's message boundary: a database failure costs one message, never the loop."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.mqtt import Ingest, client_id
from kiosk.contract import Channel, topic_for

from .conftest import health_payload, later, make_settings


def test_database_error_is_logged_and_the_message_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine(settings.database_url)  # never migrated: no tables
    ingest = Ingest(settings, make_session_factory(engine))
    caplog.set_level(logging.ERROR, logger="fleet.ingest.mqtt")

    ingest.process(topic_for("bdx-test-a", Channel.HEALTH), health_payload(), later(1))

    engine.dispose()
    [record] = caplog.records
    assert "dropped" in record.getMessage()
    assert "bdx-test-a" in record.getMessage()
    assert ingest.broker_connected is False


def test_client_id_names_host_and_process() -> None:
    assert client_id().startswith("fleet-")
