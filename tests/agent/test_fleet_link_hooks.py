"""The fleet link's hooks, in process against a real Mosquitto: what the lead wires parts to."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.agent.config import AgentSettings
from kiosk.agent.health import HealthExtras
from kiosk.agent.messages import Enclosure, UiState  # what the agent's parts hand it
from kiosk.agent.mqtt.fleet_link import FleetLink
from kiosk.agent.outbox import Outbox
from kiosk.agent.sensors import SimulatedSensors
from kiosk.agent.state import PersistentCounter
from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Command,
    CommandAck,
    Event,
    Health,
    Status,
    utc_now,
)
from tests.agent.fleet_listener import FleetListener, fleet_listener
from tests.agent.same_json import same_json
from tests.conftest import TestBroker
from tests.helpers import wait_until

pytestmark = [pytest.mark.broker]

TERMINAL = "bdx-test-c"


class Hooks:
    def __init__(self) -> None:
        self.loops = 0
        self.commands: queue.Queue[Command] = queue.Queue()

    def health_extras(self) -> HealthExtras:
        return HealthExtras(
            ui=UiState(alive=True, sessions_total=2), enclosure=Enclosure(door_open=False)
        )

    def on_loop(self) -> None:
        self.loops += 1


@pytest.fixture
def listener(broker: TestBroker) -> Iterator[FleetListener]:
    with fleet_listener(
        broker.host, broker.port, broker.password(FLEET_USERNAME), TERMINAL
    ) as subscribed:
        yield subscribed


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def fleet_link(broker: TestBroker, tmp_path: Path, hooks: Hooks) -> Iterator[FleetLink]:
    settings = AgentSettings.from_mapping(
        {
            "terminal_id": TERMINAL,
            "mqtt": {
                "host": broker.host,
                "port": broker.port,
                "password": broker.password(TERMINAL),
                "keepalive_s": 2,
            },
            "health": {"interval_s": 0.2, "max_silence_s": 0.2},
        }
    )
    agent = FleetLink(
        settings,
        SimulatedSensors(seed=TERMINAL),
        PersistentCounter(None),
        PersistentCounter(None),
        "boot-hooks",
        Outbox(tmp_path / "outbox", TERMINAL),
        health_extras=hooks.health_extras,
        on_command=hooks.commands.put,
        on_loop=hooks.on_loop,
    )
    stop = threading.Event()
    runner = threading.Thread(target=agent.run, args=(stop,))
    runner.start()
    try:
        yield agent
    finally:
        stop.set()
        runner.join(timeout=15)
        assert not runner.is_alive()


def test_hooks_feed_health_commands_acks_and_events(
    fleet_link: FleetLink, listener: FleetListener, hooks: Hooks, broker: TestBroker
) -> None:
    listener.expect(lambda r: isinstance(r.message, Status) and r.message.state == "online")
    health = listener.expect(lambda r: isinstance(r.message, Health)).message
    assert isinstance(health, Health)
    assert same_json(health.ui, UiState(alive=True, sessions_total=2))
    assert same_json(health.enclosure, Enclosure(door_open=False))
    wait_until(lambda: hooks.loops >= 2, 5, "the main loop to turn twice")

    now = utc_now()
    command = Command(
        id="cmd-hooks-0001",
        name="wipe_session",
        issued_at=now,
        expires_at=now + timedelta(minutes=1),
    )
    broker.send_command(TERMINAL, command)
    assert same_json(hooks.commands.get(timeout=10), command)
    ack = fleet_link.publish_ack(command.id, "done")
    event = fleet_link.publish_event("wipe_done", {"ok": True})
    assert event.seq == ack.seq + 1

    got_ack = listener.expect(lambda r: isinstance(r.message, CommandAck)).message
    assert same_json(got_ack, ack)
    got_event = listener.expect(lambda r: isinstance(r.message, Event)).message
    assert same_json(got_event, event)
    # Health, events and acks share one counter: the fleet de-duplicates by seq.
    later = listener.expect(lambda r: isinstance(r.message, Health)).message
    assert isinstance(later, Health)
    assert later.seq > event.seq > health.seq


def test_an_invalid_event_is_refused_without_a_gap(fleet_link: FleetLink) -> None:
    first = fleet_link.publish_event("probe")
    with pytest.raises(ValueError, match="kind"):
        fleet_link.publish_event("Not A Name")
    with pytest.raises(ValueError, match="data"):
        fleet_link.publish_event("probe", {"url": "https://example.org/private"})
    second = fleet_link.publish_event("probe")
    assert second.seq > first.seq
