"""Configuration: what a good file gives, and what a bad one tells the technician."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kiosk.agent.cli import EXAMPLE_CONFIG
from kiosk.agent.config import ConfigError, load_settings
from kiosk.agent.i18n import gettext_for
from tests.agent.agent_process import agent_command

GOOD = """\
terminal_id = "bdx-001"
state_dir = "/var/lib/kiosk/agent"
[mqtt]
host = "broker.example"
port = 8883
password = "s3cret"
keepalive_s = 30
[health]
interval_s = 60
[sensors]
backend = "simulated"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_good_file(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.terminal_id == "bdx-001"
    assert settings.mqtt_username == "bdx-001"
    assert settings.mqtt.port == 8883
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.health.interval_s == 60
    assert settings.sensors.backend == "simulated"
    assert settings.state_dir == Path("/var/lib/kiosk/agent")


def test_defaults_and_password_file(tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("from-file\n")
    path = _write(
        tmp_path,
        f'terminal_id = "bdx-002"\n[mqtt]\nusername = "other"\npassword_file = "{secret}"\n',
    )
    settings = load_settings(path)
    assert settings.mqtt_username == "other"
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "from-file"
    assert settings.mqtt.host == "127.0.0.1"
    assert settings.mqtt.keepalive_s == 30
    assert settings.mqtt.ca_file is None
    assert settings.state_dir is None
    assert settings.sensors.backend == "psutil"


@pytest.mark.parametrize(
    ("text", "key", "french"),
    [
        (GOOD.replace('"bdx-001"', '"BDX 1"'), "terminal_id", "de 3 à 40 caractères"),
        (GOOD.replace('"bdx-001"', '"fleet"'), "terminal_id", "ne pas être « fleet »"),
        (GOOD.replace('password = "s3cret"\n', ""), "mqtt.password", "password_file"),
        (GOOD.replace("port = 8883", "port = 0"), "mqtt.port", "au moins 1"),
        (GOOD.replace("port = 8883", 'port = "x"'), "mqtt.port", "nombre entier"),
        (GOOD.replace('"simulated"', '"magic"'), "sensors.backend", "l'une des valeurs"),
        (GOOD.replace("interval_s", "intervall_s"), "health.intervall_s", "clé inconnue"),
        (GOOD + 'ca_file = "/nonexistent/ca.pem"\n', "sensors.ca_file", "clé inconnue"),
    ],
)
def test_invalid_values_name_the_key_in_french(
    tmp_path: Path, text: str, key: str, french: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, gettext_for("fr"))
    message = str(caught.value)
    assert str(path) in message
    assert f'"{key}"' in message
    assert french in message
    assert "\n" not in message


def test_missing_ca_file(tmp_path: Path) -> None:
    text = GOOD.replace("[health]", 'ca_file = "/nonexistent/ca.pem"\n[health]')
    with pytest.raises(ConfigError, match=r'"mqtt\.ca_file": this file does not exist'):
        load_settings(_write(tmp_path, text))


def test_unreadable_password_file(tmp_path: Path) -> None:
    text = GOOD.replace('password = "s3cret"', f'password_file = "{tmp_path / "none"}"')
    with pytest.raises(ConfigError, match=r"mqtt\.password_file"):
        load_settings(_write(tmp_path, text))


def test_bad_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, "terminal_id = \n")
    with pytest.raises(ConfigError, match="pas du TOML valide"):
        load_settings(path, gettext_for("fr"))


def _run_cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*agent_command(Path(arguments[0])), *arguments[1:]],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "n'existe pas"),
        (GOOD.replace('password = "s3cret"\n', ""), "mot de passe MQTT"),
        (GOOD.replace('"bdx-001"', '"Borne_1"'), '"terminal_id"'),
    ],
)
def test_cli_exits_2_with_a_french_message(tmp_path: Path, text: str | None, expected: str) -> None:
    path = tmp_path / "agent.toml"
    if text is not None:
        path.write_text(text)
    result = _run_cli(str(path))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Erreur : ")
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_speaks_english_on_request(tmp_path: Path) -> None:
    result = _run_cli(str(tmp_path / "none.toml"), "--lang", "en")
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_cli_unusable_state_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = _write(tmp_path, GOOD.replace("/var/lib/kiosk/agent", str(blocker / "state")))
    result = _run_cli(str(path))
    assert result.returncode == 2
    assert "« state_dir »" in result.stderr


def test_help_is_french_by_default() -> None:
    result = _run_cli("/unused.toml", "--help")
    assert result.returncode == 0
    assert "Lance l'agent" in result.stdout
    assert "--config FICHIER" in result.stdout
    english = _run_cli("/unused.toml", "--help", "--lang", "en")
    assert "Run the device agent" in english.stdout


def test_new_sections_and_their_defaults(tmp_path: Path) -> None:
    settings = load_settings(_write(tmp_path, GOOD))
    assert settings.mqtt.effective_will_delay_s == 10
    assert settings.health.effective_sample_s == 5
    assert settings.health.effective_max_silence_s == 900
    assert settings.outbox.drain_per_s == 20
    assert settings.outbox.max_age_s == 7 * 86400
    assert settings.debug.emit_event_every_s is None
    # A short keepalive gets a will delay that still reports a dead terminal in time.
    short = load_settings(_write(tmp_path, GOOD.replace("keepalive_s = 30", "keepalive_s = 2")))
    assert short.mqtt.effective_will_delay_s == 0
    medium = load_settings(_write(tmp_path, GOOD.replace("keepalive_s = 30", "keepalive_s = 10")))
    assert medium.mqtt.effective_will_delay_s == 3
    # And a short interval, samples as often.
    quick = load_settings(_write(tmp_path, GOOD.replace("interval_s = 60", "interval_s = 0.5")))
    assert quick.health.effective_sample_s == 0.5


@pytest.mark.parametrize(
    ("text", "key", "french"),
    [
        (
            GOOD.replace("keepalive_s = 30", "keepalive_s = 30\nwill_delay_s = 31"),
            "mqtt.will_delay_s",
            "1,5 × le keepalive",
        ),
        (
            GOOD.replace("interval_s = 60", "interval_s = 60\nsample_s = 61"),
            "health.sample_s",
            "doit être vrai",
        ),
        (
            GOOD.replace("interval_s = 60", "interval_s = 60\nmax_silence_s = 30"),
            "health.max_silence_s",
            "doit être vrai",
        ),
        (GOOD + "[outbox]\ndrain_per_s = 0\n", "outbox.drain_per_s", "supérieur à 0"),
        (GOOD + "[debug]\nemit_event_every = 1\n", "debug.emit_event_every", "clé inconnue"),
    ],
)
def test_timing_keys_are_checked(tmp_path: Path, text: str, key: str, french: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_write(tmp_path, text), gettext_for("fr"))
    message = str(caught.value)
    assert f'"{key}"' in message
    assert french in message


def test_the_example_in_the_help_is_valid(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("unused here")
    password_file = tmp_path / "mqtt-password"
    password_file.write_text("s3cret\n")
    text = EXAMPLE_CONFIG.replace("/etc/kiosk/ca.pem", str(ca_file)).replace(
        "/etc/kiosk/mqtt-password", str(password_file)
    )
    settings = load_settings(_write(tmp_path, text))
    assert settings.mqtt.effective_will_delay_s == 10
    assert settings.health.effective_max_silence_s == 900
