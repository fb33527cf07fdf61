"""The UI's side of the agent link, against a real agent socket server and a real kiosk."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.agent.uilink import UiLinkServer
from kiosk.agent.uimessages import Settings, WipeResult  # the agent's side of the socket
from kiosk.contract.mqtt import Scalar
from kiosk.ui.agent_bridge import END_REASONS, AgentBridge
from kiosk.ui.home import HomeScreen
from kiosk.ui.session import EndReason
from kiosk.ui.settings import KioskSettings
from tests.ui.conftest import STANDIN_TILE, OpenKiosk
from tests.ui.standin import ALLOWED_HOST, Standin
from tests.ui.web import open_standin

pytestmark = pytest.mark.qt

#: A Unix socket path must fit in 108 bytes; pytest's tmp_path can be longer.
_MAX_SOCKET_PATH = 100


@dataclass
class Linked:
    """A kiosk and the agent's end of its socket."""

    home: HomeScreen
    server: UiLinkServer
    bridge: AgentBridge
    events: list[tuple[str, dict[str, Scalar]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kinds(self) -> list[str]:
        with self.lock:
            return [kind for kind, _data in self.events]

    def last(self, kind: str) -> dict[str, Scalar]:
        with self.lock:
            return [data for k, data in self.events if k == kind][-1]

    def request_wipe_in_background(self, command_id: str) -> list[WipeResult | None]:
        """The agent's wipe command (it blocks its caller, so not the GUI thread)."""
        results: list[WipeResult | None] = []

        def run() -> None:
            results.append(self.server.request_wipe(command_id, timeout_s=10))

        threading.Thread(target=run, daemon=True).start()
        return results


@pytest.fixture
def socket_path(tmp_path: Path) -> Iterator[Path]:
    if len(str(tmp_path / "agent.sock")) < _MAX_SOCKET_PATH:
        yield tmp_path / "agent.sock"
        return
    with tempfile.TemporaryDirectory(prefix="kiosk-") as directory:
        yield Path(directory) / "agent.sock"


@pytest.fixture
def linked(open_kiosk: OpenKiosk, qtbot: QtBot, socket_path: Path) -> Iterator[Linked]:
    home = open_kiosk()
    events: list[tuple[str, dict[str, Scalar]]] = []
    lock = threading.Lock()

    def on_event(kind: str, data: dict[str, Scalar]) -> None:
        with lock:
            events.append((kind, data))

    server = UiLinkServer(socket_path, on_session_event=on_event, terminal_id="bdx-test")
    server.start()
    settings = KioskSettings(agent_socket=socket_path, heartbeat_interval_s=0.05)
    bridge = AgentBridge(home.browser, settings, socket_path, ui_version="0.1.0-test")
    bridge.start()
    qtbot.waitUntil(lambda: bridge.link.connected and server.connections == 1, timeout=5_000)
    try:
        yield Linked(home, server, bridge, events, lock)
    finally:
        bridge.stop()
        server.stop()


def test_every_end_reason_has_a_protocol_reason() -> None:
    assert set(END_REASONS) == {reason.value for reason in EndReason}
    assert END_REASONS[EndReason.WIPE_NOW.value] == "command"
    assert END_REASONS[EndReason.MAX_LENGTH.value] == "max_length"


def test_the_agent_sees_the_ui_alive(linked: Linked, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: linked.server.ui_state().alive, timeout=5_000)
    assert linked.server.ui_state().session_open is False


def test_a_session_is_reported_with_tile_ids_only(
    linked: Linked, qtbot: QtBot, standin: Standin
) -> None:
    open_standin(linked.home, qtbot)
    qtbot.waitUntil(lambda: "session_started" in linked.kinds(), timeout=5_000)
    assert linked.last("session_started") == {"tile": STANDIN_TILE}
    qtbot.waitUntil(lambda: linked.server.ui_state().session_open, timeout=5_000)

    with qtbot.waitSignal(linked.home.browser.selfCheckDone, timeout=10_000):
        linked.home.browser.finishSession()
    qtbot.waitUntil(lambda: "wipe_done" in linked.kinds(), timeout=5_000)
    ended = linked.last("session_ended")
    assert ended["reason"] == "button"
    assert ended["tiles"] == STANDIN_TILE
    assert ended["tiles_count"] == 1
    assert isinstance(ended["duration_s"], float)
    assert 0 <= ended["duration_s"] < 60
    assert linked.last("wipe_done")["ok"] is True
    assert linked.kinds() == ["session_started", "session_ended", "wipe_done"]
    # Nothing the resident saw or did: no address, no host, no path.
    everything = repr(linked.events)
    assert "://" not in everything
    assert ALLOWED_HOST not in everything


def test_a_wipe_command_ends_the_open_session(
    linked: Linked, qtbot: QtBot, standin: Standin
) -> None:
    open_standin(linked.home, qtbot)
    with qtbot.waitSignal(linked.bridge.wipeOrdered, timeout=5_000) as ordered:
        results = linked.request_wipe_in_background("cmd-wipe-1")
    assert ordered.args == ["cmd-wipe-1"]
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    result = results[0]
    assert result is not None
    assert result.ok is True
    assert result.checks_failed == []
    assert linked.home.browser.sessionActive is False
    qtbot.waitUntil(lambda: "session_ended" in linked.kinds(), timeout=5_000)
    assert linked.last("session_ended")["reason"] == "command"


def test_a_wipe_command_without_a_session_still_answers(linked: Linked, qtbot: QtBot) -> None:
    results = linked.request_wipe_in_background("cmd-wipe-2")
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results[0] is not None
    assert results[0].ok is True
    assert "session_ended" not in linked.kinds()


def test_settings_from_the_agent_change_the_idle_timeout(linked: Linked, qtbot: QtBot) -> None:
    clock = linked.home.browser.clock
    assert clock.timeouts.idle_timeout_s == 120
    schedule = "06:00-23:00=90,23:00-06:00=20"
    with (
        qtbot.waitSignal(linked.bridge.settingsChanged, timeout=5_000) as changed,
        qtbot.waitSignal(linked.bridge.brightnessScheduleChanged, timeout=5_000) as dimmed,
    ):
        linked.server.send_to_ui(
            Settings(settings={"idle_timeout_s": 45, "brightness_schedule": schedule})
        )
    assert clock.timeouts.idle_timeout_s == 45
    assert linked.bridge.settings.idle_timeout_s == 45
    assert changed.args[0].idle_timeout_s == 45
    assert dimmed.args == [schedule]
    # The other durations are left alone.
    assert clock.timeouts.countdown_s == 30


def test_settings_out_of_bounds_are_refused(
    linked: Linked, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    clock = linked.home.browser.clock
    caplog.set_level(logging.WARNING, logger="kiosk.ui.agent_bridge")
    linked.server.send_to_ui(Settings(settings={"idle_timeout_s": 5}))
    with qtbot.waitSignal(linked.bridge.settingsChanged, timeout=5_000):
        linked.server.send_to_ui(Settings(settings={"idle_timeout_s": 60}))
    assert "settings from the agent refused (idle_timeout_s" in caplog.text
    assert clock.timeouts.idle_timeout_s == 60


def test_help_pages_reach_the_agent_as_counts_only(
    linked: Linked, qtbot: QtBot, standin: Standin
) -> None:
    view = open_standin(linked.home, qtbot)
    linked.home.browser.load("kiosk://guide/")
    qtbot.waitUntil(lambda: str(view.property("title")) == "De l'aide près d'ici", timeout=10_000)
    linked.home.browser.load("kiosk://numbers/?show=3919")
    qtbot.waitUntil(lambda: str(view.property("title")) == "Violences faites aux femmes")
    with qtbot.waitSignal(linked.home.browser.selfCheckDone, timeout=10_000):
        linked.home.browser.finishSession()
    qtbot.waitUntil(lambda: "wipe_done" in linked.kinds(), timeout=5_000)
    ended = linked.last("session_ended")
    assert (ended["guide_opened"], ended["places_shown"], ended["numbers_shown"]) == (1, 0, 1)
    # Which number or page: never.
    assert "3919" not in repr(linked.events)
    assert "guide" not in repr([v for v in ended.values() if isinstance(v, str)])
