"""``kiosk-provision enroll`` checks the fleet's answer with the contract
(:class:`kiosk.contract.enrolment.EnrolmentAnswer`) before it writes anything: an answer no honest
fleet sends is refused in French, and the terminal's configuration directory stays empty.

The fleet is a stand-in here (``provisioning.client.request`` replaced): what matters is what the
tool does with an answer, whoever sent it.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fleet.enrolment import agent_config_toml
from kiosk.agent.config import load_settings
from kiosk.contract import paths
from kiosk.contract.enrolment import MAX_CA_CHARS, EnrolmentAnswer
from kiosk.contract.wire import is_valid_terminal_id
from provisioning import client, enrol, files
from provisioning.cli import build_app
from tests.provisioning import test_provision_cli as provision_cli
from tests.provisioning.test_checks import self_signed

REFUSED = "la réponse du parc est inutilisable"


def self_signed_pem() -> str:
    with tempfile.TemporaryDirectory() as directory:
        cert_file, _key_file = self_signed(Path(directory))
        return cert_file.read_text()


CA_PEM = self_signed_pem()
CONTENT_ROOT = json.dumps({"signed": {"_type": "root", "version": 1}, "signatures": []})


def honest_answer(etc_dir: Path) -> dict[str, Any]:
    """What the fleet answers, built by the fleet's own code for the agent's file."""
    return {
        "terminal_id": "bdx-begles-001",
        "site_name": "Mairie de Bègles",
        "commune": "Bègles",
        "latitude": 44.808,
        "longitude": -0.548,
        "mqtt_host": "broker.example.org",
        "mqtt_port": 8883,
        "mqtt_username": "bdx-begles-001",
        "mqtt_password": "Zq3v_9-abcdefghijklmnopqrstuvwxy",
        "agent_config": agent_config_toml(
            "bdx-begles-001",
            "broker.example.org",
            8883,
            str(etc_dir),
            "/var/lib/kiosk/agent",
            True,
            "https://fleet.example.org/content",
        ),
        "ca_pem": CA_PEM,
        "content_root": CONTENT_ROOT,
        "status_token": "0123456789abcdef" * 4,
    }


@contextmanager
def fleet_answering(body: Any) -> Iterator[None]:
    """``client.request`` answers ``body`` to the enrolment, as a fleet would."""

    def request(*_args: object, **_kwargs: object) -> client.Answer:
        return client.Answer(200, body, None)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(client, "request", request)
        patch.setattr(enrol, "hardware_facts", dict)
        yield


def enroll(etc_dir: Path, body: Any) -> tuple[int, str]:
    with fleet_answering(body):
        return provision_cli.enroll("https://fleet.example.org", "ACDE-FHJK-MNPR-TUVW", etc_dir)


def test_an_honest_answer_is_written_and_the_agent_reads_it(tmp_path: Path) -> None:
    etc_dir = tmp_path / "etc"
    code, output = enroll(etc_dir, honest_answer(etc_dir))
    assert code == 0, output
    names = [
        paths.AGENT_CONFIG_NAME,
        paths.MQTT_PASSWORD_NAME,
        paths.CA_NAME,
        paths.CONTENT_ROOT_NAME,
    ]
    assert sorted(p.name for p in etc_dir.iterdir()) == sorted([*names, paths.ENROLMENT_NAME])
    settings = load_settings(etc_dir / paths.AGENT_CONFIG_NAME)
    assert settings.terminal_id == "bdx-begles-001"
    assert (settings.mqtt.host, settings.mqtt.port) == ("broker.example.org", 8883)
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "Zq3v_9-abcdefghijklmnopqrstuvwxy"
    assert settings.content.base_url == "https://fleet.example.org/content"


def test_a_refusal_names_the_fields_in_french(tmp_path: Path) -> None:
    etc_dir = tmp_path / "etc"
    body = honest_answer(etc_dir) | {"mqtt_host": "broker example", "ca_pem": "not a CA"}
    code, output = enroll(etc_dir, body)
    assert code == 1, output
    assert REFUSED in output
    assert "mqtt_host, ca_pem" in output
    assert "le code est désormais utilisé" in output
    assert list(etc_dir.iterdir()) == []


def _not(valid: Any) -> Any:
    return lambda value: not valid(value)


_wrong_types = st.one_of(
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
#: For each field, values no honest fleet sends (beside a wrong type or no field at all).
_hostile: dict[str, st.SearchStrategy[Any]] = {
    "terminal_id": st.one_of(
        st.sampled_from(["fleet", "fleet-ingest-2", "BDX-1", "ab", "a" * 41, "../etc", "x\n"]),
        st.text(max_size=60).filter(_not(is_valid_terminal_id)),
    ),
    "mqtt_username": st.sampled_from(["fleet", "", "bdx 1", "bdx\n"]),
    "site_name": st.one_of(
        st.sampled_from(["", "x" * 121, "Mairie\x1b[2J", "Mairie\nde Bègles"]),
        st.text(min_size=1).map(lambda t: t + "\x1b]0;pwned\x07"),
    ),
    "commune": st.sampled_from(["x" * 81, "Bègles\r\n", "\x9b31m"]),
    "latitude": st.one_of(
        st.floats(min_value=90, exclude_min=True),
        st.floats(max_value=-90, exclude_max=True),
        st.sampled_from([math.nan, math.inf, "44.8"]),
    ),
    "longitude": st.sampled_from([180.5, -1e308, math.nan, "0"]),
    "mqtt_host": st.one_of(
        st.sampled_from(
            ["", "broker example", "broker\nexample", 'b"\nx = 1', "b\\x", "-x", "a" * 300]
        ),
        st.text(min_size=1).filter(lambda t: any(c in t for c in ' \n"\\[]=#')),
    ),
    "mqtt_port": st.one_of(
        st.integers(max_value=0), st.integers(min_value=65536), st.just("8883"), st.just(8883.0)
    ),
    "mqtt_password": st.one_of(
        st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=257, max_size=5000),
        st.sampled_from(["short", "sixteen chars ok but spaces", "x" * 20 + "\nextra"]),
    ),
    "agent_config": st.sampled_from(["not toml = = =", "", "[mqtt]\nhost = 1\n"]),
    "ca_pem": st.one_of(
        st.text(max_size=100),
        st.just("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        st.just(CA_PEM.replace("A", "B", 3)),
        st.just(CA_PEM + "x" * MAX_CA_CHARS),
    ),
    "content_root": st.one_of(
        st.text(max_size=50), st.just("[]"), st.just('{"signed": {"_type": "targets"}}')
    ),
    "status_token": st.one_of(
        st.text(max_size=80).filter(lambda t: len(t) != 64),
        st.just("0123456789abcdef" * 3 + "0123456789abcde\n"),
        st.just("0123456789ABCDEF" * 4),
    ),
}


def _agent_config_lies(etc_dir: Path) -> st.SearchStrategy[dict[str, Any]]:
    """An answer whose ``agent_config`` says more than, or else than, the fields beside it."""
    honest = honest_answer(etc_dir)
    text = honest["agent_config"]
    lies = [
        text + "\n[debug]\nemit_event_every_s = 1\n",
        text.replace("[mqtt]\n", '[mqtt]\npassword = "known"\n'),
        text.replace("bdx-begles-001", "bdx-other-001"),
        text.replace("8883", "1883"),
        text.replace('"broker.example.org"', '"broker.evil.example"'),
        text.replace("[content]", "[actions]\nbackend = 'simulated'\n\n[content]"),
        "x" * 20_000,
    ]
    answers = [honest | {"agent_config": lie} for lie in lies]
    answers.append(honest | {"ca_pem": None})  # agent.toml names a CA that is not sent
    answers.append(honest | {"content_root": None})
    return st.sampled_from(answers)


ETC_DIR = Path("/placeholder/etc")  # the directory agent_config names; each example has its own


@st.composite
def dishonest_answers(draw: st.DrawFn) -> Any:
    honest = honest_answer(ETC_DIR)
    kind = draw(st.sampled_from(["hostile", "wrong_type", "missing", "lies", "not_an_object"]))
    if kind == "not_an_object":
        return draw(st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.text(max_size=9)))
    if kind == "lies":
        return draw(_agent_config_lies(ETC_DIR))
    field = draw(st.sampled_from(sorted(honest)))
    if kind == "missing":
        return {key: value for key, value in honest.items() if key != field}
    if kind == "wrong_type":
        return honest | {field: draw(_wrong_types)}
    return honest | {field: draw(_hostile[field])}


def test_every_field_has_hostile_values() -> None:
    assert sorted(_hostile) == sorted(honest_answer(ETC_DIR))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=dishonest_answers())
def test_an_answer_no_honest_fleet_sends_is_refused_and_nothing_is_written(
    body: Any, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError):  # the contract says no, before the tool is even run
        EnrolmentAnswer.model_validate(body)
    etc_dir = Path(tempfile.mkdtemp(dir=tmp_path)) / "etc"
    code, output = enroll(etc_dir, body)
    assert code == 1, output
    assert REFUSED in output
    assert list(etc_dir.iterdir()) == []


@pytest.mark.parametrize(
    "body",
    [
        {"terminal_id": "bdx-begles-001", "state": "\x1b[2Jonline"},
        {"terminal_id": "fleet", "state": "online"},
        ["online"],
    ],
)
def test_a_status_no_honest_fleet_sends_is_not_shown(tmp_path: Path, body: Any) -> None:
    record = {"fleet": "https://fleet.example.org", "terminal_id": "bdx-begles-001"}
    (tmp_path / paths.ENROLMENT_NAME).write_text(files.toml_text(record | {"status_token": "t"}))
    with fleet_answering(body):
        result = provision_cli.runner.invoke(
            build_app("fr"), ["status", "--etc-dir", str(tmp_path), "--no-systemctl"]
        )
        # And enroll, waiting for "online", does not take it for one.
        assert enrol.wait_online("https://fleet.example.org", "bdx-1", "t", None, 0, 0) is None
    assert result.exit_code == 0, result.output
    assert "réponse incomprise" in result.output
    assert "\x1b" not in result.output
    assert "online" not in result.output
