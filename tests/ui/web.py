"""Helpers for tests that drive the session's web view."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QObject, QUrl
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
