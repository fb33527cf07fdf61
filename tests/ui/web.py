"""Helpers for tests that drive the session's web view."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QJSValue, QObject, QQuickItem, QUrl
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


def focus_field(home: HomeScreen, qtbot: QtBot, view: QObject, selector: str) -> None:
    """Give the keyboard to the page's field ``selector``, as a resident's touch would.

    Offscreen, nothing activates the window by itself: key events sent to it then reach no
    page. The window is activated, the view takes the active focus (Chromium's page then has
    the focus: ``document.hasFocus()``), and the field is focused by the page.
    """
    home.window.requestActivate()
    qtbot.waitUntil(home.window.isActive, timeout=5_000)
    assert isinstance(view, QQuickItem)
    view.forceActiveFocus()
    qtbot.waitUntil(view.hasActiveFocus, timeout=5_000)
    field = f"document.querySelector({json.dumps(selector)})"
    check = f"({field}.focus(), document.hasFocus() && document.activeElement === {field})"
    qtbot.waitUntil(lambda: evaluate(qtbot, view, check) == "true", timeout=5_000)
