"""The ``agent.toml`` the fleet writes at enrolment (:mod:`kiosk.contract.agent_file`, rendered by
``fleet.enrolment.agent_config_toml``) is read by the agent's own loader into the same values,
and no value, however hostile, can add a key or a section to it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fleet.enrolment import agent_config_toml, render_agent_file
from kiosk.agent.config import load_settings
from kiosk.contract.agent_file import AgentFile, AgentMqtt


def written(config_dir: Path, with_ca: bool, content_url: str | None) -> Path:
    """The files enrolment leaves in ``config_dir``, with the fleet's agent.toml."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "mqtt-password").write_text("s3cret-password-from-the-fleet\n")
    (config_dir / "ca.pem").write_text("(a CA)\n")
    (config_dir / "content-root.json").write_text("{}\n")
    text = agent_config_toml(
        "bdx-begles-001",
        "broker.example.org",
        8883,
        str(config_dir),
        "/var/lib/kiosk/agent",
        with_ca,
        content_url,
    )
    path = config_dir / "agent.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("with_ca", [True, False])
@pytest.mark.parametrize("content_url", ["https://fleet.example.org/content", None])
def test_the_agent_reads_what_the_fleet_writes(
    tmp_path: Path, with_ca: bool, content_url: str | None
) -> None:
    config_dir = tmp_path / "etc"
    path = written(config_dir, with_ca, content_url)
    agent = load_settings(path)
    assert agent.terminal_id == "bdx-begles-001"
    assert agent.mqtt_username == "bdx-begles-001"
    assert agent.state_dir == Path("/var/lib/kiosk/agent")
    assert (agent.mqtt.host, agent.mqtt.port) == ("broker.example.org", 8883)
    assert agent.mqtt.password_file == config_dir / "mqtt-password"
    assert agent.mqtt.password is not None
    assert agent.mqtt.password.get_secret_value() == "s3cret-password-from-the-fleet"
    assert agent.mqtt.ca_file == (config_dir / "ca.pem" if with_ca else None)
    assert agent.content.enabled is (content_url is not None)
    if content_url is not None:
        assert agent.content.base_url == content_url
        assert agent.content.dir == Path("/var/lib/kiosk/content")
        assert agent.content.trusted_root == config_dir / "content-root.json"
    # And the contract reads it back as the same file.
    model = AgentFile.from_toml(path.read_text())
    assert model.mqtt.host == agent.mqtt.host
    assert model.state_dir == str(agent.state_dir)


@pytest.mark.parametrize(
    "host",
    [
        'broker"\nport = 1\n[debug]\nemit_event_every_s = 1\n#',
        "broker\\",
        "broker example",
        "broker\nexample",
        "",
        "broker'",
    ],
)
def test_the_model_refuses_a_hostile_host(host: str) -> None:
    with pytest.raises(ValidationError):
        agent_config_toml("bdx-begles-001", host, 8883, "/etc/kiosk", "/var/lib/kiosk", False, None)


@settings(max_examples=300)
@given(host=st.text(st.characters(exclude_categories=("Cs",)), max_size=80))
def test_the_toml_writer_escapes_anything(host: str) -> None:
    """Below the model's bounds, the writer: a value stays one value, whatever its characters
    (quotes, newlines, backslashes, brackets, DEL...)."""
    mqtt = AgentMqtt.model_construct(host=host, port=1883, password_file="/etc/kiosk/p")
    agent_file = AgentFile.model_construct(
        terminal_id="bdx-begles-001", state_dir="/var/lib/kiosk", mqtt=mqtt, content=None
    )
    data = tomllib.loads(render_agent_file(agent_file))
    assert data == {
        "terminal_id": "bdx-begles-001",
        "state_dir": "/var/lib/kiosk",
        "mqtt": {"host": host, "port": 1883, "password_file": "/etc/kiosk/p"},
    }
