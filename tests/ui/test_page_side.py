"""The lockdown seen from inside the page: drags, shortcuts, the kiosk's pages' language.

Each test gives the page the keyboard focus the way a resident does, a touch on the field
(``web.focus_field``), then sends real input to the window.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.i18n import gettext_for
from kiosk.ui.qt import QEvent, QGuiApplication, QKeyEvent, QPoint, QQuickItem, Qt
from tests.ui.conftest import OpenKiosk
from tests.ui.standin import OUTSIDE_HOST, Standin
from tests.ui.test_lockdown import SHORTCUTS, refusals
from tests.ui.web import (
    REFUSED_TITLE,
    evaluate,
    focus_field,
    open_standin,
    title,
    url_of,
    wait_title,
)

pytestmark = pytest.mark.qt


def test_drag_out_of_the_page_is_cancelled(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    """A real drag (press, move, release) on a link: cancelled before the page's listener.

    The page's own ``dragstart`` listener sees ``defaultPrevented`` true: the kiosk's script,
    injected in its own world before the page's scripts, cancelled it, so Chromium never
    starts a drag (nothing leaves the view). Without that script the same drag reports
    ``false``.
    """
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url("/drag"))
    wait_title(qtbot, view, lambda t: t == "drag-ready")
    assert isinstance(view, QQuickItem)
    start = view.mapToScene(view.boundingRect().topLeft()).toPoint() + QPoint(60, 50)
    qtbot.mousePress(home.window, Qt.MouseButton.LeftButton, pos=start)
    for step in range(1, 15):
        qtbot.mouseMove(home.window, pos=start + QPoint(20 * step, 10 * step))
    qtbot.mouseRelease(home.window, Qt.MouseButton.LeftButton, pos=start + QPoint(280, 140))
    assert wait_title(qtbot, view, lambda t: t.startswith("dragstart:")) == "dragstart:true"
    assert url_of(view) == standin.url("/drag")


def test_drag_is_cancelled_in_frames_too(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url(f"/frame?to={quote('/drag')}"))
    wait_title(qtbot, view, lambda t: t == "still-here")
    cancelled = evaluate(
        qtbot,
        view,
        "(() => { const d = document.getElementById('f').contentDocument;"
        " const e = new DragEvent('dragstart', {bubbles: true, cancelable: true});"
        " d.getElementById('a').dispatchEvent(e); return e.defaultPrevented; })()",
    )
    assert cancelled == "true"


def send_key(
    key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier, text: str = ""
) -> None:
    window = QGuiApplication.focusWindow()
    assert window is not None
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QGuiApplication.sendEvent(window, QKeyEvent(kind, key, modifiers, text))


def test_shortcuts_never_reach_the_page_editing_keys_do(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    """With the keyboard in the page, the browser and window shortcuts do nothing at all.

    The page's keydown listener (capture phase, on the document) writes the code of every key it
    gets in the title. After the 15 shortcuts then Ctrl+A, Ctrl+C, Ctrl+V and "x", it holds exactly
    the editing chords and the letter: the shortcuts were swallowed by the window's filter
    before Chromium saw them (a key Chromium acts on, such as Ctrl+P or F5, is first a
    keydown the page would see). And nothing happened: no refusal but the shortcuts' own (no
    print, popup or download attempt), same address, no second window, the kiosk window shown.
    """
    home = open_kiosk()
    seen = refusals(home)
    view = open_standin(home, qtbot, standin.url("/keys"))
    wait_title(qtbot, view, lambda t: t == "keys-ready")
    focus_field(home, qtbot, view, "#k")
    before = title(view)  # the focus check's answer; each key the page gets is added to it
    for key, modifiers in SHORTCUTS:
        send_key(key, modifiers)
    ctrl = Qt.KeyboardModifier.ControlModifier
    for key, letter in ((Qt.Key.Key_A, "a"), (Qt.Key.Key_C, "c"), (Qt.Key.Key_V, "v")):
        send_key(key, ctrl, chr(ord(letter) - 96))
    send_key(Qt.Key.Key_X, text="x")
    final = wait_title(qtbot, view, lambda t: t.endswith(" KeyX"))
    assert final == before + " C-KeyA C-KeyC C-KeyV KeyX"
    assert seen == ["shortcut"] * len(SHORTCUTS)
    assert url_of(view) == standin.url("/keys")
    assert home.window.isVisible()
    assert QGuiApplication.topLevelWindows().count(home.window) == 1
    assert [w for w in QGuiApplication.topLevelWindows() if w.isVisible()] == [home.window]


@pytest.mark.parametrize(("language", "direction"), [("en", "ltr"), ("ar", "rtl")])
def test_refusal_and_offline_pages_follow_the_language(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin, language: str, direction: str
) -> None:
    _ = gettext_for(language)
    home = open_kiosk(retry_interval_s=3600)
    view = open_standin(home, qtbot)
    home.prefs.setLanguage(language)
    home.browser.load(standin.url("/target", host=OUTSIDE_HOST))
    wait_title(qtbot, view, lambda t: t == _("This page is not available here"))
    assert evaluate(qtbot, view, "document.documentElement.dir") == direction
    assert evaluate(qtbot, view, "document.documentElement.lang") == language
    home.browser.openTile("hors-ligne")
    wait_title(qtbot, view, lambda t: t == _("No connection"))
    assert evaluate(qtbot, view, "document.documentElement.dir") == direction


def test_a_shown_refusal_page_switches_language_with_the_resident(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin: Standin
) -> None:
    home = open_kiosk()
    view = open_standin(home, qtbot, standin.url("/target", host=OUTSIDE_HOST))
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    home.prefs.setLanguage("ar")
    wait_title(qtbot, view, lambda t: t == gettext_for("ar")("This page is not available here"))
    assert evaluate(qtbot, view, "document.documentElement.dir") == "rtl"
