"""Browsing in a session: tiles open sites, Home keeps the session, idle and Finish wipe it."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QPoint, QQuickItem, Qt
from kiosk.ui.session import SessionTimeouts
from tests.ui.conftest import OFFLINE_TILE, STANDIN_TILE, OpenKiosk, session_view
from tests.ui.standin import Standin
from tests.ui.web import OFFLINE_TITLE, open_standin, title, url_of, wait_title

pytestmark = pytest.mark.qt


def item(home: HomeScreen, name: str) -> QQuickItem:
    found = home.window.findChild(QQuickItem, name)
    assert found is not None, name
    return found


def touch(home: HomeScreen, qtbot: QtBot, name: str) -> None:
    target = item(home, name)
    assert target.isVisible(), name
    centre = target.mapToScene(target.boundingRect().center()).toPoint()
    qtbot.mouseClick(home.window, Qt.MouseButton.LeftButton, pos=QPoint(centre))


def test_touching_a_tile_starts_a_session_and_shows_the_bar(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    with qtbot.waitSignal(home.browser.sessionStarted, timeout=5_000) as started:
        home.backend.openTile(STANDIN_TILE)
    assert started.args[1] == STANDIN_TILE
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=5_000)
    view = session_view(home)
    assert view is not None
    wait_title(qtbot, view, lambda t: t == "standin-home")
    assert item(home, "browserView").isVisible()
    for name in ("homeButton", "backButton", "finishButton"):
        assert item(home, name).isVisible()
    assert item(home, "finishButton").property("text") == "Terminer et effacer mes données"


def test_home_keeps_the_session_until_it_is_ended(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url("/target"))
    wait_title(qtbot, view, lambda t: t == "target-page")
    session_id = home.browser.clock.session_id
    touch(home, qtbot, "homeButton")
    qtbot.waitUntil(lambda: not item(home, "browserView").isVisible())
    assert home.browser.sessionActive
    assert home.browser.clock.session_id == session_id
    # The home screen offers the way out during a session.
    assert item(home, "homeFinishButton").isVisible()
    with qtbot.assertNotEmitted(home.browser.sessionStarted):
        home.browser.openTile(STANDIN_TILE)
    assert session_view(home) is view
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000) as ended:
        touch(home, qtbot, "finishButton")
    assert ended.args[0] == session_id
    assert ended.args[1] == "button"
    qtbot.waitUntil(lambda: session_view(home) is None)
    assert not item(home, "homeFinishButton").isVisible()


def test_finish_from_the_home_screen(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    home.browser.goHome()
    qtbot.waitUntil(lambda: item(home, "homeFinishButton").isVisible())
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=10_000) as done:
        touch(home, qtbot, "homeFinishButton")
    assert done.args[0].ok


def test_back_with_no_history_goes_home(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    touch(home, qtbot, "backButton")
    qtbot.waitUntil(lambda: not home.browser.browsing)
    assert home.browser.sessionActive


def test_idle_countdown_then_wipe(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk(SessionTimeouts(idle_timeout_s=0.3, countdown_s=0.5))
    open_standin(home, qtbot)
    overlay = item(home, "idleOverlay")
    qtbot.waitUntil(overlay.isVisible, timeout=5_000)
    assert item(home, "idleQuestion").property("text") == "Êtes-vous toujours là\u202f?" or (
        item(home, "idleQuestion").property("text") == "Êtes-vous toujours là ?"
    )
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=5_000) as done:
        pass
    assert done.args[0].ok
    assert not overlay.isVisible()
    assert session_view(home) is None
    assert not home.browser.browsing


def test_i_am_here_keeps_the_session(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk(SessionTimeouts(idle_timeout_s=0.3, countdown_s=30))
    view = open_standin(home, qtbot)
    overlay = item(home, "idleOverlay")
    qtbot.waitUntil(overlay.isVisible, timeout=5_000)
    assert int(str(item(home, "idleSecondsLeft").property("text"))) in range(28, 31)
    with qtbot.assertNotEmitted(home.browser.sessionEnded):
        touch(home, qtbot, "stillHereButton")
        qtbot.waitUntil(lambda: not overlay.isVisible())
    assert session_view(home) is view


def test_max_length_warns_then_wipes(open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin) -> None:
    home = open_kiosk(SessionTimeouts(max_length_s=1.0, max_length_warning_s=0.7))
    open_standin(home, qtbot)
    qtbot.waitUntil(item(home, "maxLengthWarning").isVisible, timeout=5_000)
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=5_000) as ended:
        pass
    assert ended.args[1] == "max-length"
    assert not item(home, "maxLengthWarning").isVisible()


def test_server_down_shows_the_friendly_page_and_retries(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk(retry_interval_s=0.2)
    home.browser.openTile(OFFLINE_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=5_000)
    view = session_view(home)
    assert view is not None
    wait_title(qtbot, view, lambda t: t == OFFLINE_TITLE)
    assert url_of(view) == "kiosk://offline/"
    # It tries the address again by itself (and lands on the friendly page again).
    with qtbot.waitSignal(home.browser.loadRequested, timeout=5_000) as retried:
        pass
    assert retried.args[0].startswith("https://www.test-gouv.fr:")
    wait_title(qtbot, view, lambda t: t == OFFLINE_TITLE)
    assert "test-gouv" not in title(view)
