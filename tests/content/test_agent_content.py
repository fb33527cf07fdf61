"""The real agent follows the fleet's retained desired content version, end to end."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.agentlink import AgentLink
from kiosk.contract.local import AgentMessage, ContentSwitch
from kiosk.contract.mqtt import (
    Channel,
    CommandAck,
    Desired,
    Event,
    topic_for,
    utc_now,
)
from tests.agent.agent_process import running_agent, write_config
from tests.agent.fleet_listener import Received, fleet_listener
from tests.agent.test_runtime import command, send
from tests.conftest import SECOND_FLEET_USER, TestBroker
from tests.content.helpers import new_fleet, static_server
from tests.helpers import wait_until

pytestmark = pytest.mark.broker
TERMINAL = "bdx-test-a"


def content_event(state: str, version: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        event = received.message
        return (
            isinstance(event, Event)
            and event.kind == "content_update"
            and event.data.get("state") == state
            and event.data.get("version") == version
        )

    return matches


def test_desired_version_is_fetched_verified_applied_and_shown(
    broker: TestBroker, tmp_path: Path
) -> None:
    fleet = new_fleet(tmp_path / "fleet")
    fleet.publish("2026.11.1")
    content_dir = tmp_path / "terminal-content"
    switches: list[AgentMessage] = []
    with static_server(fleet.repo.repo_dir) as base_url:
        config = write_config(
            tmp_path / "agent.toml",
            TERMINAL,
            broker.host,
            broker.port,
            broker.password(TERMINAL),
            state_dir=tmp_path / "state",
            extra=(
                f'[content]\ndir = "{content_dir}"\nbase_url = "{base_url}"\n'
                f'trusted_root = "{fleet.repo.metadata_dir / "1.root.json"}"\n'
            ),
        )
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        publisher.username_pw_set(SECOND_FLEET_USER, broker.password(SECOND_FLEET_USER))
        publisher.connect(broker.host, broker.port)
        publisher.loop_start()
        try:
            with (
                fleet_listener(
                    broker.host, broker.port, broker.password("fleet"), TERMINAL
                ) as seen,
                running_agent(config, tmp_path / "agent.log"),
            ):
                link = AgentLink(
                    tmp_path / f"{TERMINAL}.sock", ui_version="test", on_message=switches.append
                )
                link.start()
                try:
                    wait_until(lambda: link.heartbeat(False), 10, "the UI link")
                    desired = Desired(content_version="2026.11.1", sent_at=utc_now())
                    publisher.publish(
                        topic_for(TERMINAL, Channel.DESIRED), desired.to_bytes(), qos=1, retain=True
                    ).wait_for_publish(5)
                    seen.expect(content_event("downloading", "2026.11.1"), timeout_s=20)
                    seen.expect(content_event("applied", "2026.11.1"), timeout_s=20)
                    wait_until(
                        lambda: any(isinstance(m, ContentSwitch) for m in switches),
                        10,
                        "the UI told to switch",
                    )
                    assert (content_dir / "current").resolve().name == "2026.11.1"
                    assert (content_dir / "current" / "catalog.json").is_file()

                    # Asked again by command: already there, so done at once.
                    send(publisher, command("refresh_content", "cmd-refresh-01"))
                    done = seen.expect(
                        lambda r: (
                            isinstance(r.message, CommandAck)
                            and r.message.id == "cmd-refresh-01"
                            and r.message.result in {"done", "failed"}
                        ),
                        timeout_s=20,
                    ).message
                    assert isinstance(done, CommandAck)
                    assert done.result == "done", done.reason
                finally:
                    link.stop()
        finally:
            publisher.disconnect()
            publisher.loop_stop()
