"""Fixtures for the touch UI: a shown home screen, offscreen, in a chosen language."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytestqt.qtbot import QtBot

from kiosk.catalog import default_bundle_dir, load_catalog
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QGuiApplication

pytestmark = pytest.mark.qt

ShowHome = Callable[[str], HomeScreen]


@pytest.fixture(scope="session")
def qapp_cls() -> type[QGuiApplication]:
    """The kiosk is a Qt Quick application: no widgets needed."""
    return QGuiApplication


@pytest.fixture
def show_home(qapp: QGuiApplication, qtbot: QtBot) -> Iterator[ShowHome]:
    """Open the default home screen windowed in a language; return once its first frame is up."""
    opened: list[HomeScreen] = []

    def show(language: str) -> HomeScreen:
        home = HomeScreen(qapp, load_catalog(default_bundle_dir()), default_bundle_dir(), language)
        opened.append(home)
        with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
            home.show(windowed=True)
        return home

    yield show
    for home in opened:
        home.close()
