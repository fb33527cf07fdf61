"""Helpers for tests that drive the session's web view."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable

from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import (
    QEvent,
    QGuiApplication,
    QJSValue,
    QKeyEvent,
    QObject,
    QPointF,
    QQuickItem,
    Qt,
    QUrl,
)
from tests.ui.conftest import STANDIN_TILE, session_view

#: The French title of the refusal page.
REFUSED_TITLE = "Cette page n'est pas disponible ici"
OFFLINE_TITLE = "Pas de connexion"


def title(view: QObject) -> str:
    return str(view.property("title"))


def url_of(view: QObject) -> str:
    url = view.property("url")
    return url.toString() if isinstance(url, QUrl) else str(url)


def wait_title(
    qtbot: QtBot, view: QObject, accept: Callable[[str], bool], timeout: int = 10_000
) -> str:
    """Wait until the page's title satisfies ``accept``; return it."""
    try:
        qtbot.waitUntil(lambda: accept(title(view)), timeout=timeout)
    except qtbot.TimeoutError as exc:
        raise AssertionError(f"page stuck at {title(view)!r} ({url_of(view)})") from exc
    return title(view)


def open_standin(home: HomeScreen, qtbot: QtBot, url: str | None = None) -> QObject:
    """Open the stand-in tile (a session starts), then ``url`` if given; return the view."""
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    view = session_view(home)
    assert view is not None
    wait_title(qtbot, view, lambda t: t == "standin-home")
    if url is not None:
        home.browser.load(url)
    return view


_marks = itertools.count()


def evaluate(qtbot: QtBot, view: QObject, expression: str) -> str:
    """The value of a JavaScript expression in the page, as text (read back through the title)."""
    mark = f"js{next(_marks)}:"
    script = f"document.title = {json.dumps(mark)} + String({expression});"
    view.runJavaScript(script, QJSValue())  # type: ignore[attr-defined]
    return wait_title(qtbot, view, lambda t: t.startswith(mark)).removeprefix(mark)


def run_script(view: QObject, script: str) -> None:
    """Run ``script`` in the page without reading anything back: for a click that navigates,
    whose page may be gone before :func:`evaluate` could read its answer."""
    view.runJavaScript(script, QJSValue())  # type: ignore[attr-defined]


def focus_field(home: HomeScreen, qtbot: QtBot, view: QObject, selector: str) -> None:
    """Give the keyboard to the page's field ``selector`` the way a resident does: a touch on it.

    Offscreen, nothing activates the window by itself: it is activated first. Then a press and
    a release land on the field (mouse events on the window, routed by Qt Quick to the page's
    render item, as a finger's would be) until the page reports the field focused. Chromium's
    renderer drops input that comes before the page's first frame is presented (so that nobody
    taps what they have not seen); offscreen, that frame comes up to a second after the page's
    own ``requestAnimationFrame`` said it was drawn, and a touch in between is lost, as it
    would be on the terminal: the resident touches again, and so does this helper.

    (Focusing the view from Qt, ``forceActiveFocus()``, then the field from the page's script
    is not the same: after a navigation the keys then reach no page at all, a state nothing
    in the kiosk puts the view in.)
    """
    home.window.requestActivate()
    qtbot.waitUntil(home.window.isActive, timeout=5_000)
    assert isinstance(view, QQuickItem)
    field = f"document.querySelector({json.dumps(selector)})"
    centre = json.loads(
        evaluate(
            qtbot,
            view,
            f"JSON.stringify((r => [r.left + r.width / 2, r.top + Math.min(r.height / 2, 20)])"
            f"({field}.getBoundingClientRect()))",
        )
    )
    zoom = float(view.property("zoomFactor"))
    spot = view.mapToScene(QPointF(centre[0] * zoom, centre[1] * zoom)).toPoint()
    focused = f"document.hasFocus() && document.activeElement === {field}"
    for _touch in range(10):
        qtbot.mousePress(home.window, Qt.MouseButton.LeftButton, pos=spot)
        qtbot.mouseRelease(home.window, Qt.MouseButton.LeftButton, pos=spot)
        with contextlib.suppress(qtbot.TimeoutError):
            qtbot.waitUntil(lambda: evaluate(qtbot, view, focused) == "true", timeout=1_000)
            return
    raise AssertionError(f"{selector} never took the focus after 10 touches ({url_of(view)})")


def type_text(home: HomeScreen, text: str) -> None:
    """Type into the page's focused field: real key events delivered to the window."""
    for char in text:
        key = Qt.Key(ord(char.upper())) if char.isalpha() else Qt.Key.Key_unknown
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, key, Qt.KeyboardModifier.NoModifier, char)
            QGuiApplication.sendEvent(home.window, event)


def settled_value(qtbot: QtBot, view: QObject, selector: str, expected: str) -> str:
    """The field's value once the renderer has handled the keys (input and script calls travel
    on different channels, so a read right after typing may come before the keys)."""
    script = f"document.querySelector({json.dumps(selector)}).value"
    with contextlib.suppress(qtbot.TimeoutError, AssertionError):
        qtbot.waitUntil(lambda: evaluate(qtbot, view, script) == expected, timeout=3_000)
    return evaluate(qtbot, view, script)


def open_page(home: HomeScreen, qtbot: QtBot, view: QObject, url: str, prefix: str) -> str:
    """Load ``url``; its title once it starts with ``prefix`` (the previous page's title may
    too: the address must have changed first)."""
    home.browser.load(url)
    qtbot.waitUntil(lambda: url_of(view) == url, timeout=10_000)
    return wait_title(qtbot, view, lambda t: t.startswith(prefix))
