"""Commands through a real Mosquitto: the terminal receives them on its own cmd topic."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from fleet.broker import free_port, running_broker
from fleet.commands import BrokerUnavailable, send_command
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import handle_message
from fleet.ingest.mqtt import Ingest
from fleet.main import create_app
from fleet.models import CommandRecord
from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Channel,
    Command,
    CommandAck,
    decode,
    subscription_for,
    topic_for,
)
from tests.conftest import TEST_TERMINALS, TestBroker
from tests.helpers import csrf_token_of, log_in, wait_until

from .conftest import later, make_settings, prepare_database, status_payload

pytestmark = pytest.mark.broker

TERMINAL = "bdx-test-a"


@dataclass
class TerminalSide:
    """The terminal's MQTT connection, subscribed to its commands like the agent."""

    client: mqtt.Client
    received: list[mqtt.MQTTMessage] = field(default_factory=list)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def commands(self) -> list[Command]:
        decoded = [decode(Channel.CMD, bytes(m.payload)) for m in list(self.received)]
        return [c for c in decoded if isinstance(c, Command)]

    def publish(self, channel: Channel, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic_for(TERMINAL, channel), payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published()


@contextmanager
def terminal_side(host: str, port: int, password: str) -> Iterator[TerminalSide]:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"{TERMINAL}-cmd-test",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    side = TerminalSide(client)
    client.username_pw_set(TERMINAL, password)
    client.on_message = lambda _c, _u, message: side.received.append(message)
    client.on_subscribe = lambda *_args: side.subscribed.set()
    client.connect(host, port)
    client.loop_start()
    try:
        client.subscribe(subscription_for(Channel.CMD, TERMINAL), qos=1)
        wait_until(side.subscribed.is_set, 10, "the terminal's subscription to its commands")
        yield side
    finally:
        client.disconnect()
        client.loop_stop()


def test_operator_command_reaches_the_terminal_and_its_acks_come_back(
    tmp_path: Path, broker: TestBroker
) -> None:
    settings = make_settings(
        tmp_path, broker_port=broker.port, broker_password=broker.password(FLEET_USERNAME)
    )
    prepare_database(settings)
    with (
        TestClient(create_app(settings)) as client,
        terminal_side(broker.host, broker.port, broker.password(TERMINAL)) as terminal,
    ):
        wait_until(lambda: client.get("/healthz").json()["broker"] == "connected", 20, "the ingest")
        log_in(client)
        terminal.publish(Channel.STATUS, status_payload("online"), retain=True)
        wait_until(lambda: client.get(f"/terminals/{TERMINAL}").status_code == 200, 20, "the birth")
        token = csrf_token_of(client.get(f"/terminals/{TERMINAL}").text)

        response = client.post(
            f"/api/v1/terminals/{TERMINAL}/commands",
            json={"name": "restart_ui"},
            headers={"X-CSRF-Token": token},
        )

        assert response.status_code == 201
        sent = response.json()
        assert (sent["state"], sent["published_at"] is not None) == ("pending", True)
        wait_until(lambda: bool(terminal.received), 20, "the command on the terminal's topic")
        [message] = terminal.received
        assert message.topic == f"kiosk/v1/{TERMINAL}/cmd"
        assert (message.qos, message.retain) == (1, False)
        [command] = terminal.commands()
        assert (command.id, command.name) == (sent["id"], "restart_ui")

        for seq, result in enumerate(("accepted", "done"), start=1):
            ack = CommandAck.model_validate(
                {"id": command.id, "result": result, "seq": seq, "sent_at": later(seq)}
            )
            terminal.publish(Channel.CMD_ACK, ack.to_bytes())

        def state() -> str:
            return str(client.get(f"/api/v1/terminals/{TERMINAL}/commands").json()[0]["state"])

        wait_until(lambda: state() == "done", 20, "the command to be done")
        assert (
            f'<tr id="command-{command.id}" data-state="done">'
            in client.get(f"/terminals/{TERMINAL}").text
        )


def test_a_command_issued_while_the_broker_is_down_is_sent_when_it_returns(
    tmp_path: Path,
) -> None:
    port = free_port()
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, *TEST_TERMINALS)}
    settings = make_settings(tmp_path, broker_port=port, broker_password=credentials["fleet"])
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    ingest = Ingest(settings, session_factory)
    try:
        with session_factory() as session:
            handle_message(session, topic_for(TERMINAL, Channel.STATUS), status_payload(), later(0))
            with pytest.raises(BrokerUnavailable, match="unreachable"):
                ingest.publish(topic_for(TERMINAL, Channel.CMD), b"{}", 1)
            held = send_command(session, ingest, TERMINAL, "reboot", {}, "alice", ttl_s=300)
            assert (held.state, held.published_at) == ("pending", None)

        with (
            running_broker(tmp_path / "broker", credentials, port=port),
            terminal_side("127.0.0.1", port, credentials[TERMINAL]) as terminal,
        ):
            ingest.start()
            wait_until(lambda: bool(terminal.commands()), 30, "the held command to arrive")

            [command] = terminal.commands()
            assert (command.id, command.name) == (held.id, "reboot")
            with session_factory() as session:
                row = session.get(CommandRecord, held.id)
                assert row is not None
                assert (row.state, row.published_at is not None) == ("pending", True)
    finally:
        ingest.stop()
        engine.dispose()


def test_a_command_sent_while_the_terminal_was_away_reaches_it_when_it_is_back(
    tmp_path: Path, broker: TestBroker
) -> None:
    """Clean session: the broker keeps nothing for an absent terminal. Its birth brings it all.

    The keeper's own pass is an hour away: the birth itself wakes it.
    """
    settings = make_settings(
        tmp_path,
        broker_port=broker.port,
        broker_password=broker.password(FLEET_USERNAME),
        keeper_interval_s=3600,
    )
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    ingest = Ingest(settings, session_factory)
    try:
        ingest.start()
        wait_until(lambda: ingest.broker_connected, 20, "the ingest")
        with session_factory() as session:
            handle_message(session, topic_for(TERMINAL, Channel.STATUS), status_payload(), later(0))
            sent = send_command(session, ingest, TERMINAL, "restart_ui", {}, "alice", ttl_s=300)
            assert sent.published_at is not None  # the broker took it: to nobody

        with terminal_side(broker.host, broker.port, broker.password(TERMINAL)) as terminal:
            assert terminal.commands() == []
            terminal.publish(Channel.STATUS, status_payload(birth_seq=2, at=later(5)), retain=True)
            wait_until(lambda: bool(terminal.commands()), 20, "the command after the birth")

            [command] = terminal.commands()
            assert (command.id, command.name) == (sent.id, "restart_ui")
    finally:
        ingest.stop()
        engine.dispose()
