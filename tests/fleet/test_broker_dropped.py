"""Past its limits the broker drops messages for the fleet: they are counted (from the broker's
own $SYS count) and said on the dashboard and in /metrics."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from fleet import crud
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.broker_counters import dropped_total, record_dropped
from fleet.ingest.mqtt import Ingest
from fleet.main import create_app
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for
from tests.agent.broker_control import RestartableBroker
from tests.helpers import log_in, wait_until

from .conftest import health_payload, later, make_settings, prepare_database
from .test_ingest_broker import publish, terminal_client

TERMINAL = "bdx-test-a"


def test_the_count_adds_up_across_broker_restarts(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    at = crud.utc_now()
    with make_session_factory(engine)() as session:
        # The broker's counter rises, is seen twice (two ingests), restarts from zero, rises.
        for value in (0, 5, 5, 12, 3, 4):
            record_dropped(session, value, at)
            at += timedelta(seconds=10)
        assert dropped_total(session) == 12 + 4
    engine.dispose()


@pytest.mark.broker
def test_messages_the_broker_drops_are_counted_and_shown(tmp_path: Path) -> None:
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, TERMINAL)}
    broker = RestartableBroker(tmp_path / "broker", credentials)
    # The same configuration with a tiny queue, and its $SYS counters every second.
    with broker.conf.open("a") as conf:
        conf.write("max_queued_messages 10\nsys_interval 1\n")
    broker.start()
    try:
        settings = make_settings(
            tmp_path,
            broker_port=broker.port,
            broker_password=credentials[FLEET_USERNAME],
            keeper_interval_s=0.5,
        )
        prepare_database(settings)
        engine = make_engine(settings.database_url)
        factory = make_session_factory(engine)
        ingest = Ingest(settings, factory)
        ingest.start()
        wait_until(lambda: ingest.broker_connected, 20, "the ingest to connect")
        ingest.stop()  # away: the broker keeps its session and queues for it, 10 at most

        with terminal_client(broker.host, broker.port, TERMINAL, credentials[TERMINAL]) as c:
            for seq in range(1, 61):
                publish(c, topic_for(TERMINAL, Channel.HEALTH), health_payload(seq, later(seq)))

        ingest = Ingest(settings, factory)
        ingest.start()
        try:
            with factory() as session:
                wait_until(
                    lambda: (session.expire_all(), dropped_total(session))[1] >= 50,
                    30,
                    "the broker's drops counted",
                )
        finally:
            ingest.stop()
        with TestClient(
            create_app(
                settings.model_copy(update={"broker_password": SecretStr("unused")}),
                start_ingest=False,
            )
        ) as client:
            log_in(client)
            page = client.get("/").text
            assert 'id="broker-dropped-count">50<' in page
            assert "messages perdus par le courtier" in page
        engine.dispose()
    finally:
        broker.stop()
