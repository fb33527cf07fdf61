"""The real agent against a real Mosquitto: birth, health, clean stop, will, late broker."""

from __future__ import annotations

import secrets
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

import pytest

from fleet.broker import free_port, running_broker
from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Channel,
    Command,
    Health,
    Status,
    utc_now,
)
from tests.agent.agent_process import STOP_TIMEOUT_S, running_agent, write_config
from tests.agent.fleet_listener import FleetListener, Received, fleet_listener
from tests.conftest import TestBroker

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TERMINAL = "bdx-test-a"
KEEPALIVE_S = 2


def _status(state: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        message = received.message
        return isinstance(message, Status) and message.state == state

    return matches


def _health(received: Received) -> bool:
    return isinstance(received.message, Health)


def _listen(broker: TestBroker) -> AbstractContextManager[FleetListener]:
    return fleet_listener(broker.host, broker.port, broker.password(FLEET_USERNAME), TERMINAL)


def _config(tmp_path: Path, broker: TestBroker, state_dir: Path | None = None) -> Path:
    return write_config(
        tmp_path / "agent.toml",
        TERMINAL,
        broker.host,
        broker.port,
        broker.password(TERMINAL),
        state_dir=state_dir,
        keepalive_s=KEEPALIVE_S,
    )


def _health_seqs(listener: FleetListener, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        message = listener.expect(_health).message
        assert isinstance(message, Health)
        seqs.append(message.seq)
    return seqs


def test_birth_health_and_clean_stop(broker: TestBroker, tmp_path: Path) -> None:
    config = _config(tmp_path, broker, state_dir=tmp_path / "state")
    with _listen(broker) as listener, running_agent(config, tmp_path / "agent.log") as agent:
        birth = listener.expect(_status("online")).message
        assert isinstance(birth, Status)
        assert birth.keepalive_s == KEEPALIVE_S
        assert birth.birth_seq >= 1
        assert "agent" in birth.versions
        seqs = _health_seqs(listener, 3)
        assert seqs == sorted(set(seqs)), seqs

        agent.process.send_signal(signal.SIGTERM)
        assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0
        offline = listener.expect(_status("offline")).message
        assert isinstance(offline, Status)
        assert offline.boot_id == birth.boot_id
        assert listener.rejected == []

    # A newcomer gets the retained "offline", not the will: the broker dropped it.
    with _listen(broker) as newcomer:
        retained = newcomer.expect(lambda r: r.address.channel is Channel.STATUS)
        assert retained.retained
        assert isinstance(retained.message, Status)
        assert retained.message.state == "offline"

    # A second run with the same state directory goes on counting.
    with _listen(broker) as listener, running_agent(config, tmp_path / "agent2.log") as agent:
        rebirth = listener.expect(_status("online")).message
        assert isinstance(rebirth, Status)
        assert rebirth.birth_seq > birth.birth_seq
        assert _health_seqs(listener, 1)[0] > seqs[-1]
        agent.process.send_signal(signal.SIGINT)
        assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0


def test_birth_is_retained(broker: TestBroker, tmp_path: Path) -> None:
    config = _config(tmp_path, broker)
    with _listen(broker) as listener, running_agent(config, tmp_path / "agent.log") as agent:
        listener.expect(_status("online"))
        with _listen(broker) as newcomer:
            retained = newcomer.expect(lambda r: r.address.channel is Channel.STATUS)
        assert retained.retained
        assert isinstance(retained.message, Status)
        assert retained.message.state == "online"
        agent.process.send_signal(signal.SIGTERM)
        assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0


def test_command_is_received_and_logged(broker: TestBroker, tmp_path: Path) -> None:
    config = _config(tmp_path, broker)
    now = utc_now()
    command = Command(
        id="cmd-0001-test",
        name="restart_ui",
        issued_at=now,
        expires_at=now + timedelta(minutes=5),
    )
    with _listen(broker) as listener, running_agent(config, tmp_path / "agent.log") as agent:
        listener.expect(_status("online"))
        broker.send_command(TERMINAL, command)
        line = agent.wait_for_log("command restart_ui received")
        assert "cmd-0001-test" in line
        assert TERMINAL in line
        agent.process.send_signal(signal.SIGTERM)
        assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0


def test_will_after_kill(broker: TestBroker, tmp_path: Path) -> None:
    config = _config(tmp_path, broker)
    with _listen(broker) as listener, running_agent(config, tmp_path / "agent.log") as agent:
        birth = listener.expect(_status("online")).message
        assert isinstance(birth, Status)
        agent.process.kill()
        killed_at = time.monotonic()
        agent.process.wait(timeout=STOP_TIMEOUT_S)
        allowed_s = 1.5 * KEEPALIVE_S + 1
        will = listener.expect(_status("lost"), timeout_s=allowed_s)
        assert will.received_at - killed_at <= allowed_s
        # The broker held the will for the Will Delay Interval (keepalive // 2 here), in case
        # the link came back: a 4G blip must not page anyone.
        assert will.received_at - killed_at >= KEEPALIVE_S // 2 - 0.1
        assert isinstance(will.message, Status)
        # The will belongs to the connection whose birth we saw.
        assert will.message.birth_seq == birth.birth_seq
        assert will.message.boot_id == birth.boot_id


def test_agent_waits_for_a_late_broker(tmp_path: Path) -> None:
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, TERMINAL)}
    port = free_port()
    config = write_config(
        tmp_path / "agent.toml", TERMINAL, "127.0.0.1", port, credentials[TERMINAL]
    )
    with running_agent(config, tmp_path / "agent.log") as agent:
        # Start the broker only once the agent has tried and failed.
        agent.wait_for_log("cannot reach broker")
        assert agent.process.poll() is None
        with (
            running_broker(tmp_path / "broker", credentials, port=port),
            fleet_listener("127.0.0.1", port, credentials[FLEET_USERNAME], TERMINAL) as listener,
        ):
            listener.expect(_status("online"), timeout_s=15)
            listener.expect(_health)
            agent.process.send_signal(signal.SIGTERM)
            assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0
