"""The agent's plain payloads (kiosk.agent.messages) say and refuse what the contract's models do.

The contract's pydantic models stay the source of truth: whatever the agent builds must decode
with them to the same values, what they refuse the agent must refuse too, and the ``desired``
state and the commands the agent reads without them must be accepted, refused (with the same
reason) and read exactly as :func:`kiosk.contract.mqtt.decode` would.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from kiosk.agent import messages
from kiosk.contract import mqtt as contract
from kiosk.contract.mqtt import Channel, ContractError, decode
from tests import strategies as wire
from tests.agent.same_json import wire_form

NOW = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
CHANNEL = {
    contract.Health: Channel.HEALTH,
    contract.Status: Channel.STATUS,
    contract.Event: Channel.EVENT,
    contract.CommandAck: Channel.CMD_ACK,
}


def plain(model: BaseModel) -> Any:
    """The agent's dataclass with the values of the contract's ``model``."""
    kind = getattr(messages, type(model).__name__)
    values: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name == "v":
            continue
        if isinstance(value, BaseModel) and name != "output":
            value = plain(value)
        elif isinstance(value, list):
            value = [plain(item) if isinstance(item, BaseModel) else item for item in value]
        values[name] = value
    return kind(**values)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(wire.health(), wire.status(), wire.event(), wire.command_ack("cmd-00000001-check"))
)
def test_what_the_agent_sends_decodes_to_the_same_values(model: contract.Message) -> None:
    sent = plain(model).to_bytes()
    assert decode(CHANNEL[type(model)], sent) == model


def test_the_json_is_the_models_json() -> None:
    health = contract.Health(
        seq=3,
        sent_at=NOW,
        uptime_s=12.5,
        cpu_percent=3.0,
        memory_percent=40.0,
        memory_total_bytes=1024,
        ui=contract.UiState(alive=False),
    )
    assert json.loads(plain(health).to_bytes()) == json.loads(health.to_bytes())
    # Times as the models write them: UTC with a Z.
    assert b'"sent_at":"2025-11-25T09:00:00Z"' in plain(health).to_bytes()


def test_an_output_goes_with_its_ack() -> None:
    png = base64.b64encode(contract.PNG_SIGNATURE + b"picture").decode()
    for output in (
        messages.CommandOutput(
            logs=[messages.LogLine(at=NOW, unit="kiosk-agent.service", priority=6, text="up")]
        ),
        messages.CommandOutput(screenshot_png=png),
    ):
        ack = messages.CommandAck(
            id="cmd-00000001", result="done", seq=1, sent_at=NOW, output=output
        )
        decoded = decode(Channel.CMD_ACK, ack.to_bytes())
        assert isinstance(decoded, contract.CommandAck)
        assert wire_form(decoded) == wire_form(ack)
    assert messages.CommandOutput(screenshot_png=png).png() == contract.PNG_SIGNATURE + b"picture"


GOOD_HEALTH: dict[str, Any] = {
    "seq": 1,
    "sent_at": NOW,
    "uptime_s": 10.0,
    "cpu_percent": 5.0,
    "memory_percent": 10.0,
    "memory_total_bytes": 1024,
}


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("Health", {**GOOD_HEALTH, "cpu_percent": 100.5}),
        ("Health", {**GOOD_HEALTH, "cpu_percent": -0.1}),
        ("Health", {**GOOD_HEALTH, "memory_percent": math.nan}),
        ("Health", {**GOOD_HEALTH, "uptime_s": math.inf}),
        ("Health", {**GOOD_HEALTH, "seq": -1}),
        ("Health", {**GOOD_HEALTH, "memory_total_bytes": 2**63}),
        ("Health", {**GOOD_HEALTH, "sent_at": datetime(2025, 1, 1)}),
        ("Health", {**GOOD_HEALTH, "sent_at": 1700000000}),
        ("Health", {**GOOD_HEALTH, "temperatures_c": {"x" * 201: 20.0}}),
        ("Health", {**GOOD_HEALTH, "temperatures_c": {"cpu": -300.0}}),
        ("Health", {**GOOD_HEALTH, "temperatures_c": {f"t{i}": 1.0 for i in range(33)}}),
        ("Health", {**GOOD_HEALTH, "clock_offset_ms": 1e14}),
        ("Health", {**GOOD_HEALTH, "load_1m": -1.0}),
        ("Status", {"state": "up", "boot_id": "b", "sent_at": NOW, "keepalive_s": 30}),
        ("Status", {"state": "online", "boot_id": "b", "sent_at": NOW, "keepalive_s": 0}),
        ("Status", {"state": "online", "boot_id": "b" * 201, "sent_at": NOW, "keepalive_s": 30}),
        (
            "Status",
            {
                "state": "online",
                "boot_id": "b",
                "sent_at": NOW,
                "keepalive_s": 30,
                "versions": {"Agent": "1"},
            },
        ),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "Bad-Kind"}),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "x", "data": {"url": "https://caf.fr"}}),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "x", "data": {"a": "x" * 201}}),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "x", "data": {"Bad": 1}}),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "x", "data": {f"k{i}": 1 for i in range(33)}}),
        ("Event", {"seq": 1, "sent_at": NOW, "kind": "x", "data": {"a": [1]}}),
        ("CommandAck", {"id": "short", "result": "done", "seq": 1, "sent_at": NOW}),
        ("CommandAck", {"id": "cmd-00000001", "result": "ok", "seq": 1, "sent_at": NOW}),
        (
            "CommandAck",
            {"id": "cmd-00000001", "result": "done", "reason": "r" * 201, "seq": 1, "sent_at": NOW},
        ),
        ("UiState", {"alive": True, "heartbeat_age_s": -1.0}),
        ("UiState", {"alive": True, "sessions_total": -1}),
        ("Enclosure", {"humidity_percent": 101.0}),
        ("Enclosure", {"temperature_c": -274.0}),
        ("Disk", {"mount": "/", "total_bytes": -1, "used_percent": 1.0}),
        ("NetInterface", {"name": "n" * 201, "up": True, "bytes_sent": 0, "bytes_recv": 0}),
        ("LogLine", {"at": NOW, "unit": "ssh.service", "priority": 6, "text": "x"}),
        ("LogLine", {"at": NOW, "unit": "kiosk-ui.service", "priority": 8, "text": "x"}),
        ("LogLine", {"at": NOW, "unit": "kiosk-ui.service", "priority": 6, "text": "x" * 201}),
        (
            "LogLine",
            {"at": NOW, "unit": "kiosk-ui.service", "priority": 6, "text": "see https://caf.fr"},
        ),
        (
            "LogLine",
            {"at": NOW, "unit": "kiosk-ui.service", "priority": 6, "text": "call 0612345678"},
        ),
        ("CommandOutput", {"screenshot_png": "not base64!"}),
        ("CommandOutput", {"screenshot_png": base64.b64encode(b"GIF89a").decode()}),
        (
            "CommandOutput",
            {"screenshot_png": base64.b64encode(contract.PNG_SIGNATURE + b"x" * 40_000).decode()},
        ),
    ],
)
def test_what_the_models_refuse_the_agent_refuses(kind: str, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        getattr(contract, kind)(**values)
    with pytest.raises(ContractError) as refused:
        getattr(messages, kind)(**values)
    assert refused.value.reason == "invalid"


# --------------------------------------------------------------------------------------------
# The desired state, read by hand


def _desired(**changes: Any) -> bytes:
    body: dict[str, Any] = {"v": 1, "sent_at": "2025-11-25T09:00:00Z", **changes}
    return json.dumps({key: value for key, value in body.items() if value is not ...}).encode()


DESIRED_CASES: list[bytes] = [
    _desired(),
    _desired(content_version="2025.11.1"),
    _desired(content_version=None),
    _desired(content_version=""),
    _desired(content_version="x" * 200),
    _desired(content_version="x" * 201),
    _desired(content_version=5),
    _desired(content_version=True),
    _desired(settings={}),
    _desired(settings={"idle_timeout_s": 90, "brightness": 0.5, "on": True, "off": None}),
    _desired(settings={"Bad": 1}),
    _desired(settings={"a": "https://caf.fr"}),
    _desired(settings={"a": "x" * 201}),
    _desired(settings={"a": [1]}),
    _desired(settings={"a": {"b": 1}}),
    _desired(settings={f"k{i}": i for i in range(33)}),
    _desired(settings={f"k{i}": i for i in range(32)}),
    _desired(settings=[]),
    _desired(settings="x"),
    _desired(settings=None),
    _desired(sent_at=...),
    _desired(sent_at=1700000000),
    _desired(sent_at="1700000000"),
    _desired(sent_at="2025-11-25T09:00:00"),
    _desired(sent_at="2025-11-25T10:00:00+01:00"),
    _desired(sent_at="2025-11-25"),
    _desired(sent_at="0001-01-01T00:00:00+01:00"),
    _desired(sent_at="9999-06-01T00:00:00Z"),
    _desired(sent_at="not a time"),
    _desired(sent_at=None),
    _desired(url="https://caf.fr"),
    _desired(v=2),
    _desired(v=1.0),
    _desired(v=True),
    _desired(v="1"),
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "sent_at": "2025-11-25T09:00:00Z"}',
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "settings": {"a": NaN}}',
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "settings": {"a": 1e400}}',
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "settings": {"a": 99999999999999999999}}',
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "settings": {"a": "\\u0000"}}',
    b'{"v": 1, "sent_at": "2025-11-25T09:00:00Z", "settings": {"a": "\\ud800"}}',
    b"\xef\xbb\xbf{}",
    b"[]",
    b"not json",
    b"{" * 20 + b"}" * 20,
    b" " * (contract.MAX_PAYLOAD_BYTES + 1),
]


def _outcome(decoder: Any, payload: bytes) -> tuple[str, Any]:
    try:
        return "ok", wire_form(decoder(payload))
    except ContractError as error:
        return error.reason, None


@pytest.mark.parametrize("payload", DESIRED_CASES, ids=lambda p: p[:60].decode("latin-1"))
def test_the_desired_state_is_read_as_the_contract_reads_it(payload: bytes) -> None:
    expected = _outcome(lambda p: decode(Channel.DESIRED, p), payload)
    assert _outcome(messages.decode_desired, payload) == expected


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=400)
@given(
    st.dictionaries(
        st.sampled_from(["v", "content_version", "settings", "sent_at", "other"]),
        _json_values
        | st.just(1)
        | st.just("2025-11-25T09:00:00+02:00")
        | st.dictionaries(st.sampled_from(["a", "idle_timeout_s", "B", "x_1"]), _json_values),
    )
)
def test_any_desired_object_is_judged_as_the_contract_judges_it(body: dict[str, Any]) -> None:
    payload = json.dumps({"v": 1, **body}).encode()
    expected = _outcome(lambda p: decode(Channel.DESIRED, p), payload)
    assert _outcome(messages.decode_desired, payload) == expected


def _command(**changes: Any) -> bytes:
    body: dict[str, Any] = {
        "v": 1,
        "id": "cmd-00000001",
        "name": "reboot",
        "issued_at": "2025-11-25T09:00:00Z",
        "expires_at": "2025-11-25T09:05:00+01:00",
        **changes,
    }
    return json.dumps({key: value for key, value in body.items() if value is not ...}).encode()


COMMAND_CASES: list[bytes] = [
    _command(),
    _command(args={}),
    _command(name="logs", args={"lines": 50}),
    _command(name="wipe_session", args={"force": True}),
    _command(name="set_settings", args={"idle_timeout_s": 90, "x": None, "y": 0.5}),
    _command(name="format_disk"),
    _command(name=5),
    _command(name=None),
    _command(name=...),
    _command(id="short"),
    _command(id="cmd 00000001"),
    _command(id=12345678),
    _command(id="x" * 65),
    _command(id=...),
    _command(args={"url": "https://caf.fr"}),
    _command(args={"Bad": 1}),
    _command(args={"a": [1]}),
    _command(args=[]),
    _command(args=None),
    _command(issued_at=...),
    _command(issued_at=1700000000),
    _command(issued_at="2025-11-25T09:00:00"),
    _command(expires_at=...),
    _command(expires_at="9999-12-31T23:59:59-01:00"),
    _command(expires_at="1969-12-31T23:59:59Z"),
    _command(command="reboot"),
    _command(v=1.0),
    b'{"v": 1, "id": "cmd-00000001", "id": "cmd-00000002", "name": "reboot"}',
]


@pytest.mark.parametrize("payload", COMMAND_CASES, ids=lambda p: p[:70].decode("latin-1"))
def test_a_command_is_read_as_the_contract_reads_it(payload: bytes) -> None:
    expected = _outcome(lambda p: decode(Channel.CMD, p), payload)
    assert _outcome(messages.decode_command, payload) == expected


@settings(max_examples=400)
@given(
    st.dictionaries(
        st.sampled_from(["id", "name", "args", "issued_at", "expires_at", "other"]),
        _json_values
        | st.sampled_from(["cmd-00000001", "reboot", "logs", "2025-11-25T09:00:00+02:00"])
        | st.dictionaries(st.sampled_from(["lines", "force", "B", "x_1"]), _json_values),
    )
)
def test_any_command_object_is_judged_as_the_contract_judges_it(body: dict[str, Any]) -> None:
    payload = json.dumps({"v": 1, **body}).encode()
    expected = _outcome(lambda p: decode(Channel.CMD, p), payload)
    assert _outcome(messages.decode_command, payload) == expected


def test_the_agent_reads_only_its_commands_and_desired_state() -> None:
    command = contract.Command(
        id="cmd-00000001",
        name="reboot",
        issued_at=NOW,
        expires_at=NOW + timedelta(minutes=5),
    )
    topic = contract.topic_for("bdx-001", Channel.CMD)
    address, decoded = messages.decode_received(topic, command.to_bytes())
    assert address.channel is Channel.CMD
    assert isinstance(decoded, messages.Command)
    assert wire_form(decoded) == wire_form(command)
    assert not decoded.expired(NOW)
    assert decoded.expired(NOW + timedelta(minutes=5))
    with pytest.raises(ContractError) as refused:
        messages.decode_received(contract.topic_for("bdx-001", Channel.HEALTH), b"{}")
    assert refused.value.reason == "bad_topic"


@pytest.mark.parametrize(
    "name",
    [
        "Status",
        "Health",
        "Disk",
        "NetInterface",
        "UiState",
        "Enclosure",
        "Event",
        "CommandAck",
        "Command",
        "Desired",
        "LogLine",
        "CommandOutput",
    ],
)
def test_each_plain_class_has_the_models_fields(name: str) -> None:
    """A field added to a contract model must be added to the agent's class too."""
    model: type[BaseModel] = getattr(contract, name)
    plain_fields = [spec.name for spec in dataclasses.fields(getattr(messages, name))]
    assert plain_fields == [field for field in model.model_fields if field != "v"]
