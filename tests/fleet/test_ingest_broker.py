"""The ingest with a real Mosquitto: terminals publish with their own credentials."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from fleet.broker import free_port, running_broker
from fleet.core.config import FleetSettings
from fleet.main import create_app
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for
from tests.conftest import TEST_TERMINALS, TestBroker
from tests.helpers import log_in, wait_until

from .conftest import health_payload, make_settings, prepare_database, status_payload

pytestmark = pytest.mark.broker


@contextmanager
def terminal_client(host: str, port: int, terminal_id: str, password: str) -> Iterator[mqtt.Client]:
    """A terminal's MQTT connection, as the agent would open it."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{terminal_id}-test",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(terminal_id, password)
    client.connect(host, port)
    client.loop_start()
    try:
        yield client
    finally:
        client.disconnect()
        client.loop_stop()


def publish(client: mqtt.Client, topic: str, payload: bytes, retain: bool = False) -> None:
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(timeout=10)
    assert info.is_published(), f"the broker did not acknowledge {topic}"


def fleet_settings(tmp_path: Path, port: int, password: str) -> FleetSettings:
    settings = make_settings(tmp_path, broker_port=port, broker_password=password)
    prepare_database(settings)
    return settings


def broker_is(client: TestClient, state: str) -> bool:
    return bool(client.get("/healthz").json()["broker"] == state)


def test_terminal_birth_and_health_reach_the_dashboard(tmp_path: Path, broker: TestBroker) -> None:
    settings = fleet_settings(tmp_path, broker.port, broker.password(FLEET_USERNAME))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: broker_is(client, "connected"), 20, "the ingest to connect")
        log_in(client)

        terminal = "bdx-test-a"
        with terminal_client(broker.host, broker.port, terminal, broker.password(terminal)) as c:
            # Garbage first: the ingest counts it and carries on.
            publish(c, topic_for(terminal, Channel.HEALTH), b"\xff garbage")
            publish(c, topic_for(terminal, Channel.STATUS), status_payload("online"), retain=True)
            publish(c, topic_for(terminal, Channel.HEALTH), health_payload(cpu=33.0))

        def dashboard_shows_it() -> bool:
            page = client.get("/").text
            return f'<tr id="terminal-{terminal}" data-state="online">' in page and "33 %" in page

        wait_until(dashboard_shows_it, 20, "the terminal online with its figures")
        partial = client.get("/partials/terminals").text
        assert "48 °C" in partial
        assert 'id="rejected-count">1<' in partial


def test_fleet_starts_without_broker_and_connects_when_it_comes(tmp_path: Path) -> None:
    port = free_port()
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, *TEST_TERMINALS)}
    settings = fleet_settings(tmp_path, port, credentials[FLEET_USERNAME])
    with TestClient(create_app(settings)) as client:
        health = client.get("/healthz").json()
        assert (health["broker"], health["status"]) == ("down", "degraded")
        assert health["broker_down_since"] is not None
        log_in(client)
        assert "Courtier MQTT injoignable depuis" in client.get("/").text

        with running_broker(tmp_path / "late-broker", credentials, port=port):
            wait_until(lambda: broker_is(client, "connected"), 20, "the ingest to reconnect")
            assert "Courtier MQTT injoignable" not in client.get("/").text
