"""Fixtures for provisioning: a fleet app wired to a real Mosquitto's password file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from fleet.core.config import FleetSettings
from fleet.enrolment import EnrolmentSettings
from fleet.main import create_app
from kiosk.contract.mqtt import FLEET_USERNAME
from tests.conftest import TestBroker
from tests.fleet.conftest import make_settings, prepare_database


@pytest.fixture
def fleet_settings(tmp_path: Path, broker: TestBroker) -> FleetSettings:
    settings = make_settings(
        tmp_path,
        broker_host=broker.host,
        broker_port=broker.port,
        broker_password=broker.password(FLEET_USERNAME),
    )
    prepare_database(settings)
    return settings


def enrolment_settings(broker: TestBroker, **overrides: object) -> EnrolmentSettings:
    values: dict[str, object] = {
        "broker_password_file": broker.running.password_file,
        "broker_pid_file": broker.running.pid_file,
    }
    values.update(overrides)
    return EnrolmentSettings.model_validate(values)


def fleet_app(
    settings: FleetSettings, broker: TestBroker, start_ingest: bool = False, **overrides: object
) -> FastAPI:
    app = create_app(settings, start_ingest=start_ingest)
    app.state.enrolment_settings = enrolment_settings(broker, **overrides)
    return app


@dataclass
class MqttProbe:
    """A paho client with events for CONNACK and disconnection."""

    client: mqtt.Client
    connack: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)
    reason: ReasonCode | None = None

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mqtt_probe(host: str, port: int, username: str, password: str) -> MqttProbe:
    """Connect as ``username`` (client id ``probe-<user>``); wait for the CONNACK."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"probe-{username}",
        protocol=mqtt.MQTTv5,
        reconnect_on_failure=False,
    )
    probe = MqttProbe(client)
    client.username_pw_set(username, password)

    def on_connect(_c: object, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        probe.reason = reason
        probe.connack.set()

    def on_disconnect(_c: object, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
        probe.disconnected.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.connect(host, port, keepalive=30)
    client.loop_start()
    assert probe.connack.wait(10), "no CONNACK from the broker"
    return probe


@pytest.fixture
def probes() -> Iterator[list[MqttProbe]]:
    made: list[MqttProbe] = []
    yield made
    for probe in made:
        probe.stop()
