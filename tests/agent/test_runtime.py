"""The agent put together, as a real process: UI link, session events, commands, sd_notify."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.agentlink import AgentLink
from kiosk.contract.local import AgentMessage, WipeNow
from kiosk.contract.mqtt import (
    Channel,
    Command,
    CommandAck,
    Event,
    Health,
    topic_for,
    utc_now,
)
from tests.conftest import SECOND_FLEET_USER, TestBroker
from tests.helpers import wait_until

from .agent_process import running_agent, write_config
from .fleet_listener import Received, fleet_listener

pytestmark = pytest.mark.broker
TERMINAL = "bdx-test-a"


@pytest.fixture
def fleet_publisher(broker: TestBroker) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    # The listener is connected as the fleet's own user: the broker ties client ids to users.
    client.username_pw_set(SECOND_FLEET_USER, broker.password(SECOND_FLEET_USER))
    client.connect(broker.host, broker.port)
    client.loop_start()
    yield client
    client.disconnect()
    client.loop_stop()


def send(client: mqtt.Client, command: Command) -> None:
    client.publish(topic_for(TERMINAL, Channel.CMD), command.to_bytes(), qos=1).wait_for_publish(5)


def command(name: str, command_id: str, ttl: timedelta = timedelta(minutes=5)) -> Command:
    now = utc_now()
    return Command(id=command_id, name=name, issued_at=now, expires_at=now + ttl)


def is_ack(command_id: str, result: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        ack = received.message
        return isinstance(ack, CommandAck) and ack.id == command_id and ack.result == result

    return matches


def test_ui_link_session_events_and_a_wipe_order_end_to_end(
    broker: TestBroker, fleet_publisher: mqtt.Client, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.toml",
        TERMINAL,
        broker.host,
        broker.port,
        broker.password(TERMINAL),
        state_dir=tmp_path / "state",
        ui_liveness_s=1.0,
    )
    orders: list[AgentMessage] = []
    link: AgentLink | None = None

    def on_agent_message(message: AgentMessage) -> None:
        # The kiosk UI's side: wipe at once and say how it went.
        orders.append(message)
        if isinstance(message, WipeNow) and link is not None:
            link.wipe_result(ok=True, checks_failed=[])

    with (
        fleet_listener(broker.host, broker.port, broker.password("fleet"), TERMINAL) as fleet,
        running_agent(config, tmp_path / "agent.log"),
    ):
        link = AgentLink(
            tmp_path / f"{TERMINAL}.sock", ui_version="test", on_message=on_agent_message
        )
        link.start()
        try:
            wait_until(lambda: link.heartbeat(session_open=False), 10, "the UI link to connect")
            fleet.expect(
                lambda r: (
                    isinstance(r.message, Health)
                    and r.message.ui is not None
                    and r.message.ui.alive
                    and r.message.enclosure is not None
                ),
                timeout_s=10,
            )
            assert link.session_ended("s-0001-abcd", 93.0, ["caf", "ameli"], "button")
            ended = fleet.expect(lambda r: isinstance(r.message, Event), timeout_s=10).message
            assert isinstance(ended, Event)
            assert ended.kind == "session_ended"
            assert "://" not in str(ended.data)

            send(fleet_publisher, command("wipe_session", "cmd-wipe-0001"))
            fleet.expect(is_ack("cmd-wipe-0001", "accepted"), timeout_s=10)
            fleet.expect(is_ack("cmd-wipe-0001", "done"), timeout_s=10)
            assert [type(o) for o in orders] == [WipeNow]

            # Redelivered: answered from the record, never executed twice.
            send(fleet_publisher, command("wipe_session", "cmd-wipe-0001"))
            fleet.expect(is_ack("cmd-wipe-0001", "done"), timeout_s=10)
            assert len(orders) == 1

            send(fleet_publisher, command("reboot", "cmd-late-0001", ttl=timedelta(seconds=-1)))
            late = fleet.expect(is_ack("cmd-late-0001", "refused"), timeout_s=10).message
            assert isinstance(late, CommandAck)
            assert late.reason is not None
        finally:
            link.stop()
        # A UI that stops answering is reported at once after its deadline (1 s here).
        silent = fleet.expect(
            lambda r: (
                isinstance(r.message, Health)
                and r.message.ui is not None
                and not r.message.ui.alive
            ),
            timeout_s=5,
        )
        assert isinstance(silent.message, Health)


def test_the_agent_tells_systemd_it_is_ready(broker: TestBroker, tmp_path: Path) -> None:
    notify_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(15)
        config = write_config(
            tmp_path / "agent.toml", TERMINAL, broker.host, broker.port, broker.password(TERMINAL)
        )
        with running_agent(config, tmp_path / "agent.log", {"NOTIFY_SOCKET": str(notify_path)}):
            datagram = notify.recv(4096).decode()
    assert "READY=1" in datagram.splitlines()


def test_malformed_commands_are_refused_with_a_reason_and_never_run(
    broker: TestBroker, fleet_publisher: mqtt.Client, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.toml", TERMINAL, broker.host, broker.port, broker.password(TERMINAL)
    )
    cmd_topic = topic_for(TERMINAL, Channel.CMD)
    valid = json.loads(command("reboot", "cmd-ok-00001").to_bytes())
    with (
        fleet_listener(broker.host, broker.port, broker.password("fleet"), TERMINAL) as fleet,
        running_agent(config, tmp_path / "agent.log") as agent,
    ):
        fleet.expect(lambda r: isinstance(r.message, Health), timeout_s=10)
        for payload in (
            b"\xff not json",
            json.dumps({**valid, "id": "cmd-bad-00001", "name": "format_disk"}).encode(),
            json.dumps({**valid, "id": "cmd-bad-00002", "v": 7}).encode(),
            json.dumps({**valid, "id": "cmd-bad-00003", "args": {"u": "https://x.fr/"}}).encode(),
        ):
            fleet_publisher.publish(cmd_topic, payload, qos=1).wait_for_publish(5)
        for bad in ("cmd-bad-00001", "cmd-bad-00002", "cmd-bad-00003"):
            ack = fleet.expect(is_ack(bad, "refused"), timeout_s=10).message
            assert isinstance(ack, CommandAck)
            assert ack.reason is not None
            assert ack.reason.startswith("malformed command")
        # The agent is still there and still obeys a good command (simulated actions: no reboot).
        send(fleet_publisher, command("reboot", "cmd-ok-00001"))
        fleet.expect(is_ack("cmd-ok-00001", "accepted"), timeout_s=10)
        agent.wait_for_log("would run systemctl ['reboot']")
        assert agent.process.poll() is None


def test_settings_from_the_fleet_apply_now_and_after_a_restart(
    broker: TestBroker, fleet_publisher: mqtt.Client, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.toml",
        TERMINAL,
        broker.host,
        broker.port,
        broker.password(TERMINAL),
        state_dir=tmp_path / "state",
    )
    now = utc_now()
    order = Command(
        id="cmd-set-00001",
        name="set_settings",
        args={"health_interval_s": 30},
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    with (
        fleet_listener(broker.host, broker.port, broker.password("fleet"), TERMINAL) as fleet,
        running_agent(config, tmp_path / "agent.log") as agent,
    ):
        fleet.expect(lambda r: isinstance(r.message, Health), timeout_s=10)
        send(fleet_publisher, order)
        fleet.expect(is_ack("cmd-set-00001", "done"), timeout_s=10)
        agent.wait_for_log("health interval set to 30.0 s")
    with running_agent(config, tmp_path / "agent-2.log") as again:
        again.wait_for_log("health interval set to 30.0 s")
