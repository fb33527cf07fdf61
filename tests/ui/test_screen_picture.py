"""See the terminal, on the real kiosk (QtWebEngine offscreen): a picture of the screen only on
its home screen, refused during a resident's session; and nothing a resident typed or visited
in what the kiosk logs (what the agent's ``logs`` command would read)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.agent.journal import SimulatedJournal, collect_logs
from kiosk.agent.uilink import UiLinkServer
from kiosk.contract.mqtt import PNG_SIGNATURE, SCREENSHOT_MAX_BYTES
from kiosk.ui.agent_bridge import AgentBridge
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QImage
from kiosk.ui.settings import KioskSettings
from tests.ui.conftest import OpenKiosk
from tests.ui.standin import ALLOWED_HOST, TYPED_SECRET, Standin
from tests.ui.test_agent_bridge import socket_path as socket_path
from tests.ui.web import focus_field, open_standin, settled_value, type_text, url_of, wait_title

pytestmark = pytest.mark.qt


@dataclass
class Kiosk:
    home: HomeScreen
    server: UiLinkServer
    bridge: AgentBridge

    def ask(self, request_id: str) -> list[bytes | str | None]:
        """The agent's request (it blocks its caller, so not in the GUI thread)."""
        answers: list[bytes | str | None] = []

        def run() -> None:
            answers.append(self.server.request_screenshot(request_id, timeout_s=20))

        threading.Thread(target=run, daemon=True).start()
        return answers


@pytest.fixture
def kiosk(open_kiosk: OpenKiosk, qtbot: QtBot, socket_path: Path) -> Iterator[Kiosk]:
    home = open_kiosk()
    server = UiLinkServer(socket_path, terminal_id="bdx-test")
    server.start()
    settings = KioskSettings(agent_socket=socket_path, heartbeat_interval_s=0.05)
    bridge = AgentBridge(
        home.browser,
        settings,
        socket_path,
        ui_version="0.1.0-test",
        window=home.window,
        is_home=home.showing_home,
    )
    bridge.start()
    qtbot.waitUntil(lambda: bridge.link.connected and server.connections == 1, timeout=5_000)
    try:
        yield Kiosk(home, server, bridge)
    finally:
        bridge.stop()
        server.stop()


def test_the_home_screen_gives_a_bounded_png(kiosk: Kiosk, qtbot: QtBot) -> None:
    assert kiosk.bridge.screen_refusal() is None
    answers = kiosk.ask("cmd-screen-home1")
    qtbot.waitUntil(lambda: bool(answers), timeout=20_000)
    png = answers[0]
    assert isinstance(png, bytes)
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) <= SCREENSHOT_MAX_BYTES
    if os.environ.get("KIOSK_SCREENSHOT_DIR"):
        (Path(os.environ["KIOSK_SCREENSHOT_DIR"]) / "kiosk-screen-command.png").write_bytes(png)
    image = QImage.fromData(png, "PNG")  # type: ignore[arg-type]
    assert not image.isNull()
    assert image.width() >= 240
    # Not a blank frame: the tiles are drawn (more than a couple of distinct colours).
    colours = {
        image.pixel(x, y)
        for x in range(0, image.width(), max(1, image.width() // 40))
        for y in range(0, image.height(), max(1, image.height() // 25))
    }
    assert len(colours) > 3


def test_during_a_session_the_kiosk_refuses(kiosk: Kiosk, qtbot: QtBot, standin: Standin) -> None:
    view = open_standin(kiosk.home, qtbot)
    wait_title(qtbot, view, lambda title: title == "standin-home")
    assert kiosk.bridge.screen_refusal() == "session_open"
    answers = kiosk.ask("cmd-screen-busy1")
    qtbot.waitUntil(lambda: bool(answers), timeout=20_000)
    assert answers == ["session_open"]
    # Back on the tiles with the session still open: still refused.
    kiosk.home.browser.goHome()
    assert kiosk.bridge.screen_refusal() == "session_open"
    with qtbot.waitSignal(kiosk.home.browser.selfCheckDone, timeout=15_000):
        kiosk.home.browser.finishSession()
    # The visit is over and wiped: the home screen may be shown again.
    qtbot.waitUntil(lambda: kiosk.bridge.screen_refusal() is None, timeout=15_000)
    answers = kiosk.ask("cmd-screen-after")
    qtbot.waitUntil(lambda: bool(answers), timeout=20_000)
    assert isinstance(answers[0], bytes)


# Alone, after the parallel run: on a bare Debian beside another worker, the typed text did not
# settle in the field within 10 s (QtWebEngine starved of the second core).
@pytest.mark.serial
def test_nothing_typed_or_visited_reaches_the_kiosk_logs(
    kiosk: Kiosk, qtbot: QtBot, standin: Standin, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything the kiosk logs during a visit (address visited, text typed), as the journal
    of kiosk-ui.service would hold it, gives nothing of the resident through the filter."""
    caplog.set_level(logging.DEBUG)
    visited = standin.url("/?q=" + TYPED_SECRET)
    view = open_standin(kiosk.home, qtbot, visited)
    # The tile's first page has the same title: wait for this one to be loaded, or the script
    # that finds the field runs in the page being left and its answer is lost.
    qtbot.waitUntil(
        lambda: url_of(view) == visited and not view.property("loading"), timeout=10_000
    )
    wait_title(qtbot, view, lambda title: title == "standin-home")
    focus_field(kiosk.home, qtbot, view, "#field")
    type_text(kiosk.home, TYPED_SECRET)
    settled_value(qtbot, view, "#field", TYPED_SECRET)
    with qtbot.waitSignal(kiosk.home.browser.selfCheckDone, timeout=15_000):
        kiosk.home.browser.finishSession()
    records = [record for record in caplog.records if record.name.startswith("kiosk")]
    assert records  # the kiosk did log its session's life
    raw = "\n".join(record.getMessage() for record in records)
    # The kiosk itself logs neither the address nor what was typed...
    assert TYPED_SECRET not in raw
    assert ALLOWED_HOST not in raw
    assert "://" not in raw
    # ... and what the logs command would send of it holds nothing either.
    journal = SimulatedJournal()
    for record in records:
        journal.write(
            "kiosk-ui.service", f"{record.levelname} {record.name}: {record.getMessage()}"
        )
    lines, _left_out = collect_logs(journal, 200)
    assert lines
    sent = "\n".join(line.text for line in lines)
    assert TYPED_SECRET not in sent
    assert ALLOWED_HOST not in sent
