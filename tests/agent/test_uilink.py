"""The local UI <-> agent socket: liveness, session events, bad input, delivery, restarts."""

from __future__ import annotations

import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.agent import uimessages as agent_side
from kiosk.agent.uilink import UiLinkError, UiLinkServer
from kiosk.agentlink import AgentLink, new_session_id
from kiosk.contract.local import (
    MAX_LINE_BYTES,
    AgentMessage,
    ContentSwitch,
    Crash,
    Heartbeat,
    LocalProtocolError,
    SessionStarted,
    Settings,
    decode_ui_message,
    encode,
)
from kiosk.contract.mqtt import Event, HelpUsage, Scalar, SessionAssist, utc_now
from tests.agent.same_json import wire_form
from tests.helpers import wait_until

DEADLINE_S = 0.5


@pytest.fixture
def socket_path(tmp_path: Path) -> Path:
    return tmp_path / "agent.sock"


@pytest.fixture
def events() -> list[tuple[str, dict[str, Scalar]]]:
    return []


@pytest.fixture
def server(
    socket_path: Path, events: list[tuple[str, dict[str, Scalar]]]
) -> Iterator[UiLinkServer]:
    link = UiLinkServer(
        socket_path,
        on_session_event=lambda kind, data: events.append((kind, data)),
        liveness_timeout_s=DEADLINE_S,
        terminal_id="bdx-test-a",
    )
    with link:
        yield link


@pytest.fixture
def received() -> list[AgentMessage]:
    """What the UI fixture received from the agent."""
    return []


@pytest.fixture
def ui(
    socket_path: Path, server: UiLinkServer, received: list[AgentMessage]
) -> Iterator[AgentLink]:
    link = AgentLink(
        socket_path, ui_version="0.1.0", on_message=received.append, retry_interval_s=0.05
    )
    with link:
        wait_until(lambda: link.connected and server.connections == 1, 5, "the UI to connect")
        yield link


def raw_client(path: Path) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(5)
    client.connect(str(path))
    return client


def closed_by_peer(client: socket.socket) -> bool:
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def test_a_ui_that_stops_heartbeating_is_reported_not_alive(
    server: UiLinkServer, ui: AgentLink
) -> None:
    assert server.ui_state().alive is False  # nothing heard yet
    assert ui.heartbeat(session_open=True)
    wait_until(lambda: server.ui_state().alive, 5, "the heartbeat")
    state = server.ui_state()
    assert state.session_open is True
    assert state.heartbeat_age_s is not None
    assert state.heartbeat_age_s < DEADLINE_S
    took = wait_until(lambda: not server.ui_state().alive, 5, "the UI to be reported dead")
    assert took <= DEADLINE_S + 0.5
    assert server.ui_state().heartbeat_age_s >= DEADLINE_S  # type: ignore[operator]


def test_session_events_become_anonymous_contract_events(
    server: UiLinkServer, ui: AgentLink, events: list[tuple[str, dict[str, Scalar]]]
) -> None:
    session_id = new_session_id()
    assert ui.session_started(session_id, "caf")
    assert ui.session_ended(
        session_id,
        312.46,
        ["caf", "ameli", "caf"],
        "button",
        HelpUsage(places_shown=2),
        SessionAssist(language="uk", large_text=True),
    )
    assert ui.wipe_result(ok=False, checks_failed=["cookies_empty", "cache_empty"])
    assert ui.crash("webengine", "render process gone")
    wait_until(lambda: len(events) == 4, 5, "four session events")
    assert events == [
        ("session_started", {"tile": "caf"}),
        (
            "session_ended",
            {
                "duration_s": 312.5,
                "reason": "button",
                "tiles_count": 2,
                "tiles": "caf,ameli",
                "guide_opened": 0,
                "places_shown": 2,
                "numbers_shown": 0,
                # The reading aids used and the language: yes or no, and a code.
                "read_aloud": False,
                "large_text": True,
                "high_contrast": False,
                "language": "uk",
            },
        ),
        (
            "wipe_done",
            {"ok": False, "checks_failed_count": 2, "checks_failed": "cookies_empty,cache_empty"},
        ),
        ("ui_crash", {"component": "webengine", "reason": "render process gone"}),
    ]
    for seq, (kind, data) in enumerate(events):
        Event(seq=seq, sent_at=utc_now(), kind=kind, data=data)  # the contract accepts them
    state = server.ui_state()
    assert state.sessions_total == 1
    assert state.session_open is False
    assert state.last_wipe_ok is False
    assert state.last_wipe_at is not None
    assert all(session_id not in str(data) for _, data in events)


def test_malformed_lines_are_counted_and_dropped(
    server: UiLinkServer, socket_path: Path, events: list[tuple[str, dict[str, Scalar]]]
) -> None:
    with raw_client(socket_path) as client:
        client.sendall(
            b"not json\n"
            b"[1, 2]\n"
            b'{"v": 2, "type": "heartbeat", "ui_version": "1", "session_open": false}\n'
            b'{"v": 1, "type": "launch_missiles"}\n'
            b'{"v": 1, "type": "heartbeat", "ui_version": "1", "session_open": false, '
            b'"url": "https://caf.fr/mon-compte"}\n'
            b"\xff\xfe\n" + encode(SessionStarted(session_id=new_session_id(), tile_id="impots"))
        )
        wait_until(lambda: len(events) == 1, 5, "the valid line after the bad ones")
    assert server.malformed_lines == 6
    assert events == [("session_started", {"tile": "impots"})]


def test_an_oversized_line_closes_the_connection_only(
    server: UiLinkServer, socket_path: Path
) -> None:
    with raw_client(socket_path) as client:
        client.sendall(b'{"v": 1, "type": "crash", "reason": "' + b"x" * MAX_LINE_BYTES)
        assert closed_by_peer(client)
    assert server.oversized_lines == 1
    with raw_client(socket_path) as client:
        client.sendall(encode(Heartbeat(ui_version="0.1.0", session_open=False)))
        wait_until(lambda: server.ui_state().alive, 5, "a new connection to be served")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Crash(component="webengine", reason="failed on https://caf.fr/login"),
        lambda: SessionStarted(session_id=new_session_id(), tile_id="https://evil.example"),
        lambda: Settings(settings={"home": "https://example.org"}),
        lambda: Crash(component="webengine", reason="x" * 121),
        lambda: ContentSwitch(version="http://x/1"),
    ],
)
def test_url_like_or_long_strings_are_refused_by_the_models(build: object) -> None:
    with pytest.raises(ValidationError):
        build()  # type: ignore[operator]


def test_the_models_have_no_field_for_a_url_or_typed_text() -> None:
    line = b'{"v": 1, "type": "session_started", "session_id": "abcdefgh", "tile_id": "caf", '
    with pytest.raises(LocalProtocolError) as error:
        decode_ui_message(line + b'"typed_text": "1 85 05 75 123 456 78"}')
    assert error.value.reason == "invalid"


def test_the_ui_side_drops_what_the_models_refuse(ui: AgentLink) -> None:
    assert ui.crash("webengine", "error at https://ameli.fr/compte") is False
    assert ui.dropped == 1


@pytest.mark.usefixtures("ui")
def test_agent_messages_reach_the_ui(server: UiLinkServer, received: list[AgentMessage]) -> None:
    # The agent's side writes them (kiosk.agent.uimessages), the UI's reads them (localproto).
    sent = [
        agent_side.WipeNow(command_id="cmd-00000001"),
        agent_side.Settings(settings={"idle_timeout_s": 90}),
        agent_side.ContentSwitch(version="2025.03.1"),
    ]
    for message in sent:
        assert server.send_to_ui(message)
    wait_until(lambda: len(received) == 3, 5, "three messages at the UI")
    assert [wire_form(message) for message in received] == [wire_form(m) for m in sent]


def test_sending_without_a_ui_says_so(server: UiLinkServer) -> None:
    assert server.send_to_ui(agent_side.WipeNow(command_id="cmd-00000001")) is False
    assert server.request_wipe("cmd-00000001", timeout_s=0.1) is None


def test_the_socket_is_group_accessible_only(server: UiLinkServer, socket_path: Path) -> None:
    mode = socket_path.stat().st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660


def test_a_stale_socket_file_is_replaced(socket_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path))
    stale.close()  # the file stays, nobody listens: what a crashed agent leaves
    with UiLinkServer(socket_path) as server, raw_client(socket_path) as client:
        client.sendall(encode(Heartbeat(ui_version="0.1.0", session_open=False)))
        wait_until(lambda: server.ui_state().heartbeat_age_s is not None, 5, "a heartbeat")
    assert not socket_path.exists()


def test_a_live_socket_or_a_foreign_file_is_not_replaced(
    server: UiLinkServer, socket_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(UiLinkError, match="already listens"):
        UiLinkServer(socket_path).start()
    # Still serving: a UI that connects now is heard. (Asking whether a UI is connected would
    # race with the refused server's own probe, which the running one briefly takes for a UI.)
    with raw_client(socket_path) as client:
        client.sendall(encode(Heartbeat(ui_version="0.1.0", session_open=True)))
        wait_until(lambda: server.ui_state().session_open, 5, "the heartbeat after the refusal")
    other = tmp_path / "not-a-socket"
    other.write_text("precious", encoding="utf-8")
    with pytest.raises(UiLinkError, match="not a socket"):
        UiLinkServer(other).start()
    assert other.read_text(encoding="utf-8") == "precious"


def test_the_ui_waits_for_an_absent_agent_without_blocking(socket_path: Path) -> None:
    with AgentLink(socket_path, ui_version="0.1.0", retry_interval_s=0.05) as ui:
        started = time.monotonic()
        assert ui.heartbeat(session_open=False) is False
        assert time.monotonic() - started < 0.1
        assert ui.dropped == 1
        with UiLinkServer(socket_path, liveness_timeout_s=DEADLINE_S) as server:
            wait_until(lambda: ui.connected, 5, "the UI to find the agent")
            assert ui.heartbeat(session_open=False)
            wait_until(lambda: server.ui_state().alive, 5, "the heartbeat")
        # The agent restarts: the UI reconnects to the new one on the same path.
        wait_until(lambda: not ui.connected, 5, "the UI to notice the agent left")
        with UiLinkServer(socket_path, liveness_timeout_s=DEADLINE_S) as restarted:
            wait_until(lambda: ui.connected, 5, "the UI to reconnect")
            assert ui.heartbeat(session_open=True)
            wait_until(lambda: restarted.ui_state().session_open, 5, "the heartbeat")


def test_a_failing_event_callback_does_not_stop_the_server(socket_path: Path) -> None:
    def broken(kind: str, data: dict[str, Scalar]) -> None:
        raise RuntimeError("outbox full")

    with (
        UiLinkServer(socket_path, on_session_event=broken) as server,
        raw_client(socket_path) as client,
    ):
        client.sendall(encode(SessionStarted(session_id=new_session_id(), tile_id="caf")))
        client.sendall(encode(Heartbeat(ui_version="0.1.0", session_open=True)))
        wait_until(lambda: server.ui_state().alive, 5, "the heartbeat after the failure")
        assert server.ui_state().sessions_total == 1


def test_server_stop_keeps_a_socket_file_it_no_longer_owns(socket_path: Path) -> None:
    server = UiLinkServer(socket_path)
    server.start()
    os.unlink(socket_path)
    replacement = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    replacement.bind(str(socket_path))
    try:
        server.stop()
        assert socket_path.exists()
    finally:
        replacement.close()
