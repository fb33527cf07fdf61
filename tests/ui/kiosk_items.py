"""Finding and touching items of the kiosk's QML scene (shared by the accessibility tests)."""

from __future__ import annotations

from collections.abc import Iterator

from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QPoint, QQuickItem, QQuickWindow, Qt


def all_items(window: QQuickWindow) -> Iterator[QQuickItem]:
    """Every item of the visual tree (delegates included, unlike ``findChild``)."""
    pending = [window.contentItem()]
    while pending:
        item = pending.pop()
        yield item
        # The web view's children are Chromium's private items, which PySide cannot wrap.
        if not item.inherits("QQuickWebEngineView"):
            pending.extend(item.childItems())


def item(home: HomeScreen, name: str) -> QQuickItem:
    for found in all_items(home.window):
        if found.objectName() == name:
            return found
    raise AssertionError(f"no item named {name}")


def text_of(home: HomeScreen, name: str) -> str:
    return str(item(home, name).property("text"))


def scene_x(target: QQuickItem) -> float:
    return target.mapToScene(target.boundingRect().topLeft()).x()


def touch(home: HomeScreen, qtbot: QtBot, name: str) -> None:
    """A real click in the middle of the visible item ``name``."""
    target = item(home, name)
    qtbot.waitUntil(target.isVisible, timeout=5_000)
    centre = target.mapToScene(target.boundingRect().center()).toPoint()
    qtbot.mouseClick(home.window, Qt.MouseButton.LeftButton, pos=QPoint(centre))


def choose_language(home: HomeScreen, qtbot: QtBot, code: str, via: str = "home") -> None:
    """Open the language picker from ``via`` (home, bar, idle) and touch ``code``."""
    touch(home, qtbot, f"{via}LanguageButton")
    with qtbot.waitSignal(home.prefs.languageChanged, timeout=5_000):
        touch(home, qtbot, f"language-{code}")
    qtbot.waitUntil(lambda: not item(home, "languagePicker").isVisible(), timeout=5_000)


def settled(home: HomeScreen, qtbot: QtBot) -> None:
    """Wait until the cards are laid out again after a change (TileGrid relayouts once every
    binding has settled), then for a frame: positioners place their items just before one."""
    grids = [item(home, name) for name in ("homeGrid", "groupGrid")]

    def pending() -> bool:
        return any(grid.property("relayoutPending") for grid in grids)

    # A frame can move something else (a footer that wraps differently) and ask for another
    # layout: settled means no layout pending after a frame.
    for _frame in range(10):
        qtbot.waitUntil(lambda: not pending(), timeout=5_000)
        with qtbot.waitSignal(home.window.frameSwapped, timeout=5_000):
            home.window.update()
        if not pending():
            return
    raise AssertionError("the cards never stop being laid out again")
