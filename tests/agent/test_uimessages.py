"""The agent's plain side of the local socket agrees with the UI's pydantic one (localproto).

What the UI's models write, the agent reads to the same values; what they refuse, the agent
refuses; and the agent never accepts a line the models would refuse (it may be stricter on
types: the UI's encoder writes ``true`` and numbers, never ``"true"`` or ``"5"``). What the
agent writes, the UI's models read to the same values.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kiosk.agent import uimessages
from kiosk.contract import catalog
from kiosk.contract import local as localproto
from kiosk.contract.mqtt import HelpUsage, SessionAssist
from tests.agent.same_json import wire_form

UI_SAMPLES: list[localproto.LocalMessage] = [
    localproto.Heartbeat(ui_version="0.1.0", session_open=False),
    localproto.Heartbeat(ui_version="2025.3+local", session_open=True),
    localproto.SessionStarted(session_id="abcdefgh", tile_id="caf"),
    localproto.SessionEnded(session_id="abcdefgh-1234", duration_s=12.5, reason="idle"),
    localproto.SessionEnded(
        session_id="abcdefgh",
        duration_s=0,
        tiles_used=["caf", "france-travail", "caf"],
        reason="button",
        help=HelpUsage(guide_opened=1, places_shown=3, numbers_shown=10_000),
        assist=SessionAssist(language="ar", read_aloud=True, high_contrast=True),
    ),
    localproto.WipeResult(ok=True),
    localproto.WipeResult(ok=False, checks_failed=["cookies_empty", "cache.size"]),
    localproto.Crash(component="webengine", reason="render process gone"),
    localproto.ScreenshotPart(request_id="cmd-00000001", index=1, count=2, data="iVBORw0KGgo="),
    localproto.ScreenshotPart(request_id="cmd-00000001", refused="session_open"),
]


def test_the_constants_are_the_models_constants() -> None:
    assert uimessages.TILE_ID_PATTERN == catalog.ID_PATTERN
    assert uimessages.SCREENSHOT_PART_CHARS == localproto.SCREENSHOT_PART_CHARS
    assert uimessages.SCREENSHOT_MAX_PARTS == localproto.SCREENSHOT_MAX_PARTS


@pytest.mark.parametrize("message", UI_SAMPLES, ids=lambda m: type(m).__name__)
def test_what_the_ui_writes_the_agent_reads(message: localproto.LocalMessage) -> None:
    read = uimessages.decode_ui_message(localproto.encode(message))
    assert type(read).__name__ == type(message).__name__
    assert wire_form(read) == wire_form(message)


def _line(**body: Any) -> bytes:
    return json.dumps({"v": 1, **body}).encode()


REFUSED: list[bytes] = [
    b"not json",
    b"[1]",
    b'{"type": "heartbeat", "ui_version": "1", "session_open": true}',
    _line(v=2, type="heartbeat", ui_version="1", session_open=True),
    _line(type="nope"),
    _line(ui_version="1", session_open=True),
    _line(type="heartbeat", ui_version="1"),
    _line(type="heartbeat", ui_version="1 0", session_open=True),
    _line(type="heartbeat", ui_version="1", session_open=True, url="https://caf.fr"),
    _line(type="session_started", session_id="short", tile_id="caf"),
    _line(type="session_started", session_id="abcdefgh", tile_id="https://evil.example"),
    _line(type="session_started", session_id="abcdefgh", tile_id="caf\n"),
    _line(type="session_started", session_id="abcdefgh", tile_id="caf", typed_text="1 85 05"),
    _line(type="session_ended", session_id="abcdefgh", duration_s=-1, reason="idle"),
    _line(type="session_ended", session_id="abcdefgh", duration_s=86401, reason="idle"),
    _line(type="session_ended", session_id="abcdefgh", duration_s=1, reason="bored"),
    _line(
        type="session_ended", session_id="abcdefgh", duration_s=1, reason="idle", tiles_used="caf"
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        tiles_used=["caf"] * 33,
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        help={"places_shown": 10_001},
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        help={"place_id": 3},
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        help={"places_shown": True},
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        assist={"language": "fr-FR"},
    ),
    _line(
        type="session_ended",
        session_id="abcdefgh",
        duration_s=1,
        reason="idle",
        assist={"read_aloud": 1},
    ),
    _line(type="session_ended", session_id="abcdefgh", duration_s=1, reason="idle", help=[]),
    _line(type="wipe_result", ok=True, checks_failed=["Cookies"]),
    _line(type="wipe_result", ok=True, checks_failed=[f"c{i}" for i in range(33)]),
    _line(type="crash", component="webengine", reason="at https://ameli.fr/compte"),
    _line(type="crash", component="webengine", reason="x" * 121),
    _line(type="crash", component="WebEngine", reason="x"),
    _line(type="screenshot_part", request_id="cmd-00000001", index=8),
    _line(type="screenshot_part", request_id="cmd-00000001", count=0),
    _line(type="screenshot_part", request_id="cmd-00000001", data="not base64!"),
    _line(type="screenshot_part", request_id="cmd-00000001", data="A" * 12_001),
    _line(type="screenshot_part", request_id="cmd-00000001", refused="maybe"),
    _line(type="wipe_now", command_id="cmd-00000001"),
    b" " * (localproto.MAX_LINE_BYTES + 1),
]


def _outcome(decoder: Any, line: bytes) -> tuple[str, Any]:
    try:
        return "ok", wire_form(decoder(line))
    except (localproto.LocalProtocolError, uimessages.LocalProtocolError) as error:
        return error.reason, None


@pytest.mark.parametrize("line", REFUSED, ids=lambda line: line[:70].decode("latin-1"))
def test_what_the_models_refuse_the_agent_refuses(line: bytes) -> None:
    expected = _outcome(localproto.decode_ui_message, line)
    assert expected[0] != "ok"
    assert _outcome(uimessages.decode_ui_message, line) == expected


_values = st.none() | st.booleans() | st.integers(-3, 12_000) | st.floats(allow_nan=False)
_values |= st.sampled_from(["caf", "abcdefgh", "idle", "x" * 121, "cmd-00000001", "fr", "AA=="])
_values |= st.lists(st.sampled_from(["caf", "Bad", "cookies_empty"]), max_size=3)
_values |= st.dictionaries(
    st.sampled_from(["guide_opened", "places_shown", "language", "read_aloud", "other"]),
    st.none() | st.booleans() | st.integers(-1, 10_001) | st.sampled_from(["fr", "1"]),
    max_size=3,
)
_FIELDS = sorted(
    {name for message in UI_SAMPLES for name in type(message).model_fields} - {"v", "type"}
)


@settings(max_examples=600)
@given(
    st.sampled_from([type(m).model_fields["type"].default for m in UI_SAMPLES]),
    st.dictionaries(st.sampled_from(_FIELDS), _values, max_size=6),
)
def test_the_agent_never_accepts_what_the_models_refuse(kind: str, body: dict[str, Any]) -> None:
    line = _line(type=kind, **body)
    agent = _outcome(uimessages.decode_ui_message, line)
    models = _outcome(localproto.decode_ui_message, line)
    if agent[0] == "ok":
        assert models == agent
    if models[0] != "ok":
        assert agent[0] == models[0]


AGENT_ORDERS: list[tuple[str, dict[str, Any]]] = [
    ("WipeNow", {"command_id": "cmd-00000001"}),
    ("Settings", {"settings": {}}),
    ("Settings", {"settings": {"idle_timeout_s": 90, "bright": 0.5, "on": True, "x": None}}),
    ("ScreenshotRequest", {"request_id": "cmd-00000001", "max_bytes": 40_000}),
    ("ContentSwitch", {"version": "2025.03.1"}),
]


@pytest.mark.parametrize(("kind", "values"), AGENT_ORDERS)
def test_what_the_agent_writes_the_ui_reads(kind: str, values: dict[str, Any]) -> None:
    written = getattr(uimessages, kind)(**values)
    read = localproto.decode_agent_message(uimessages.encode(written))
    assert read == getattr(localproto, kind)(**values)


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("WipeNow", {"command_id": "short"}),
        ("Settings", {"settings": {"home": "https://example.org"}}),
        ("Settings", {"settings": {"Bad": 1}}),
        ("Settings", {"settings": {"a": "x" * 201}}),
        ("Settings", {"settings": {f"k{i}": 1 for i in range(33)}}),
        ("ScreenshotRequest", {"request_id": "cmd-00000001", "max_bytes": 999}),
        ("ScreenshotRequest", {"request_id": "cmd-00000001", "max_bytes": 40_001}),
        ("ContentSwitch", {"version": "http://x/1"}),
        ("ContentSwitch", {"version": ""}),
    ],
)
def test_what_the_models_refuse_the_agent_does_not_write(kind: str, values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        getattr(localproto, kind)(**values)
    with pytest.raises(uimessages.LocalProtocolError):
        getattr(uimessages, kind)(**values)


@pytest.mark.parametrize(
    "name",
    [
        "Heartbeat",
        "SessionStarted",
        "SessionEnded",
        "WipeResult",
        "Crash",
        "ScreenshotPart",
        "WipeNow",
        "Settings",
        "ScreenshotRequest",
        "ContentSwitch",
    ],
)
def test_each_plain_line_has_the_models_fields(name: str) -> None:
    """A field added to a local message must be added to the agent's class too."""
    model = getattr(localproto, name)
    plain_fields = [spec.name for spec in dataclasses.fields(getattr(uimessages, name))]
    assert plain_fields == [field for field in model.model_fields if field not in ("v", "type")]
    assert model.model_fields["type"].default == getattr(uimessages, name).TYPE


@pytest.mark.parametrize("name", ["HelpUsage", "SessionAssist"])
def test_the_session_counts_have_the_contracts_fields(name: str) -> None:
    from kiosk.contract import mqtt as contract

    plain_fields = [spec.name for spec in dataclasses.fields(getattr(uimessages, name))]
    assert plain_fields == list(getattr(contract, name).model_fields)
