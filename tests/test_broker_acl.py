"""The broker enforces identities: a terminal speaks only for itself, hears only its own orders."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from fleet.broker import (
    AUTOSAVE_INTERVAL_S,
    MAX_QUEUED_BYTES,
    MAX_QUEUED_MESSAGES,
    PERSISTENT_CLIENT_EXPIRATION,
    acl_text,
)
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, subscription_for, topic_for
from tests.conftest import SECOND_FLEET_USER, TestBroker

pytestmark = pytest.mark.broker
TIMEOUT_S = 10


class Peer:
    """A real MQTT v5 client that records what it receives and how the broker answered."""

    def __init__(
        self,
        broker: TestBroker,
        username: str,
        password: str | None = None,
        client_id: str | None = None,
    ) -> None:
        self.received: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[ReasonCode] = queue.Queue()
        self.subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self.pubacks: queue.Queue[ReasonCode] = queue.Queue()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{username}",
            protocol=mqtt.MQTTv5,
        )
        client.username_pw_set(username, password or broker.password(username))
        client.on_connect = lambda _c, _u, _f, code, _p: self.connack.put(code)
        client.on_subscribe = lambda _c, _u, _mid, codes, _p: self.subacks.put(list(codes))
        client.on_publish = lambda _c, _u, _mid, code, _p: self.pubacks.put(code)
        client.on_message = lambda _c, _u, msg: self.received.put((msg.topic, msg.payload))
        #: Set when the broker closes this connection.
        self.dropped = threading.Event()
        client.on_disconnect = lambda *_: self.dropped.set()
        self.client = client
        self._broker = broker

    def connect(self) -> ReasonCode:
        self.client.connect(self._broker.host, self._broker.port, keepalive=10)
        self.client.loop_start()
        return self.connack.get(timeout=TIMEOUT_S)

    def subscribe(self, topic: str) -> ReasonCode:
        self.client.subscribe(topic, qos=1)
        return self.subacks.get(timeout=TIMEOUT_S)[0]

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        self.client.publish(topic, payload, qos=1)
        return self.pubacks.get(timeout=TIMEOUT_S)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def peers(broker: TestBroker) -> Iterator[dict[str, Peer]]:
    made = {name: Peer(broker, name) for name in ("fleet", "bdx-test-a", "bdx-test-b")}
    for name, peer in made.items():
        assert peer.connect().value == 0, f"{name} could not connect"
    yield made
    for peer in made.values():
        peer.close()


def test_wrong_password_and_anonymous_are_refused(broker: TestBroker) -> None:
    intruder = Peer(broker, "bdx-test-a", password="not-the-password")
    code = intruder.connect()
    intruder.close()
    assert code.is_failure, "a wrong password must be refused"
    anonymous = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    refused: queue.Queue[ReasonCode] = queue.Queue()
    anonymous.on_connect = lambda _c, _u, _f, rc, _p: refused.put(rc)
    anonymous.connect(broker.host, broker.port)
    anonymous.loop_start()
    assert refused.get(timeout=TIMEOUT_S).is_failure, "anonymous clients must be refused"
    anonymous.loop_stop()


def test_terminal_cannot_publish_as_another(peers: dict[str, Peer]) -> None:
    fleet, a = peers["fleet"], peers["bdx-test-a"]
    assert not fleet.subscribe(subscription_for(None)).is_failure
    forged = a.publish(topic_for("bdx-test-b", Channel.STATUS), b'{"forged": true}')
    assert forged.is_failure, "the broker must refuse a publish under another terminal's prefix"
    # Positive control, sent after the forgery on the same connection: the fleet hears A's own
    # message first, which proves the forged one was never delivered.
    own = topic_for("bdx-test-a", Channel.HEALTH)
    assert not a.publish(own, b'{"own": true}').is_failure
    assert fleet.received.get(timeout=TIMEOUT_S) == (own, b'{"own": true}')
    assert fleet.received.empty()


def test_terminal_cannot_read_another_terminals_commands(peers: dict[str, Peer]) -> None:
    fleet, a = peers["fleet"], peers["bdx-test-a"]
    # Mosquitto's ACL file may grant the subscription itself; what it must never do is deliver.
    a.subscribe(topic_for("bdx-test-b", Channel.CMD))
    a.subscribe(subscription_for(Channel.CMD))
    assert not a.subscribe(topic_for("bdx-test-a", Channel.CMD)).is_failure
    assert not fleet.publish(topic_for("bdx-test-b", Channel.CMD), b"for B").is_failure
    assert not fleet.publish(topic_for("bdx-test-a", Channel.CMD), b"for A").is_failure
    # Messages from one publisher arrive in order: A's first message must be its own command
    # (B's was published before it). The wildcard subscription may deliver A's a second time.
    assert a.received.get(timeout=TIMEOUT_S) == (topic_for("bdx-test-a", Channel.CMD), b"for A")
    assert all(payload == b"for A" for _topic, payload in list(a.received.queue))


def test_terminal_cannot_write_commands_or_desired_state(peers: dict[str, Peer]) -> None:
    a = peers["bdx-test-a"]
    assert a.publish(topic_for("bdx-test-a", Channel.CMD), b"self-command").is_failure
    assert a.publish(topic_for("bdx-test-a", Channel.DESIRED), b"self-desired").is_failure


def test_only_the_fleet_writes_desired_state_and_each_terminal_reads_its_own(
    peers: dict[str, Peer],
) -> None:
    fleet, a, b = peers["fleet"], peers["bdx-test-a"], peers["bdx-test-b"]
    assert not a.subscribe(topic_for("bdx-test-a", Channel.DESIRED)).is_failure
    b.subscribe(topic_for("bdx-test-a", Channel.DESIRED))
    assert not b.subscribe(topic_for("bdx-test-b", Channel.DESIRED)).is_failure
    assert not fleet.publish(topic_for("bdx-test-a", Channel.DESIRED), b"for A").is_failure
    assert not fleet.publish(topic_for("bdx-test-b", Channel.DESIRED), b"for B").is_failure
    assert a.received.get(timeout=TIMEOUT_S) == (topic_for("bdx-test-a", Channel.DESIRED), b"for A")
    assert b.received.get(timeout=TIMEOUT_S) == (topic_for("bdx-test-b", Channel.DESIRED), b"for B")
    assert a.received.empty()
    assert b.received.empty()


def test_acl_is_derived_from_the_contract() -> None:
    text = acl_text()
    assert "pattern write kiosk/v1/%u/status" in text
    assert "pattern read kiosk/v1/%u/cmd" in text
    assert "pattern write kiosk/v1/%u/cmd\n" not in text
    assert "topic write kiosk/v1/+/cmd" in text


@pytest.mark.parametrize(
    ("victim_user", "stolen_id"),
    [
        ("bdx-test-b", "bdx-test-b"),
        ("bdx-test-b", "kiosk-bdx-test-b"),
        (FLEET_USERNAME, FLEET_USERNAME),
        (FLEET_USERNAME, "fleet-ingest"),
    ],
)
def test_a_terminal_cannot_take_another_client_id_nor_the_fleet_one(
    broker: TestBroker, victim_user: str, stolen_id: str
) -> None:
    """Terminal A connecting under B's (or the fleet's) client id throws nobody off: the broker
    takes A's user name as its client id (use_username_as_clientid)."""
    victim = Peer(broker, victim_user, client_id=stolen_id)
    assert victim.connect().value == 0
    try:
        for _ in range(3):
            attacker = Peer(broker, "bdx-test-a", client_id=stolen_id)
            assert attacker.connect().value == 0
            attacker.close()
        assert not victim.dropped.wait(1.0), f"{victim_user} was thrown off by {stolen_id!r}"
        assert victim.subscribe(subscription_for(Channel.HEALTH)).value <= 1  # still there
    finally:
        victim.close()


def test_the_generated_configuration_persists_and_bounds_what_it_holds(broker: TestBroker) -> None:
    conf = (broker.running.config_dir / "mosquitto.conf").read_text().splitlines()
    assert "persistence true" in conf
    assert f"autosave_interval {AUTOSAVE_INTERVAL_S}" in conf
    assert f"max_queued_messages {MAX_QUEUED_MESSAGES}" in conf
    assert f"max_queued_bytes {MAX_QUEUED_BYTES}" in conf
    assert f"persistent_client_expiration {PERSISTENT_CLIENT_EXPIRATION}" in conf
    # Every listener ties client ids to user names (Mosquitto sets it per listener).
    listeners = [i for i, line in enumerate(conf) if line.startswith("listener ")]
    assert listeners
    assert all(conf[i + 1] == "use_username_as_clientid true" for i in listeners)
    acl = (broker.running.config_dir / "acl").read_text()
    assert f"user {SECOND_FLEET_USER}" in acl  # every fleet user gets the fleet's rights
