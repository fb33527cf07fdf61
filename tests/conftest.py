"""Shared fixtures: a real Mosquitto with the project's configuration, on a free port."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import publish

from fleet.broker import RunningBroker, running_broker
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, Command, topic_for

#: Terminal ids every test broker knows, each with its own password.
TEST_TERMINALS = ("bdx-test-a", "bdx-test-b", "bdx-test-c")
#: A second fleet user (a second ingest process, or a test listening beside the ingest): the
#: broker takes the user name as the client id, so two connections of one user throw each
#: other off.
SECOND_FLEET_USER = f"{FLEET_USERNAME}-2"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")


@dataclass
class TestBroker:
    __test__ = False  # a fixture value, not a test class
    running: RunningBroker
    credentials: dict[str, str]

    @property
    def host(self) -> str:
        return self.running.host

    @property
    def port(self) -> int:
        return self.running.port

    def password(self, username: str) -> str:
        return self.credentials[username]

    def send_command(self, terminal_id: str, command: Command) -> None:
        """Publish ``command`` on the terminal's cmd topic as the fleet does (QoS 1, MQTT v5)."""
        publish.single(
            topic_for(terminal_id, Channel.CMD),
            command.to_bytes(),
            qos=1,
            hostname=self.host,
            port=self.port,
            # Not the fleet's own user: the test's listener or ingest is connected as that one.
            auth={"username": SECOND_FLEET_USER, "password": self.password(SECOND_FLEET_USER)},
            protocol=mqtt.MQTTv5,
        )


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TestBroker]:
    """A Mosquitto started for this test with the project's ACL and one user per terminal."""
    credentials = {
        name: secrets.token_urlsafe(12)
        for name in (FLEET_USERNAME, SECOND_FLEET_USER, *TEST_TERMINALS)
    }
    with running_broker(tmp_path / "broker", credentials) as running:
        yield TestBroker(running, credentials)
