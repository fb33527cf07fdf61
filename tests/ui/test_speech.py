"""Read aloud: the page's selection or main text, in the resident's language (mock engine)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import Catalog
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import Q_ARG, QGuiApplication, QLocale, QMetaObject
from kiosk.ui.speech import MAX_CHARACTERS, speakable
from tests.ui.conftest import close_home
from tests.ui.kiosk_items import touch
from tests.ui.standin import Standin
from tests.ui.web import open_standin, wait_title

pytestmark = pytest.mark.qt


@pytest.fixture
def home(
    qapp: QGuiApplication, qtbot: QtBot, standin_bundle: object, standin_catalog: Catalog
) -> Iterator[HomeScreen]:
    from pathlib import Path

    assert isinstance(standin_bundle, Path)
    screen = HomeScreen(qapp, standin_catalog, standin_bundle, "fr", speech_engine="mock")
    with qtbot.waitSignal(screen.window.frameSwapped, timeout=10_000):
        screen.show(windowed=True)
    yield screen
    close_home(screen, qtbot)


def spoken_words(home: HomeScreen) -> list[str]:
    words: list[str] = []
    home.speech.engine.sayingWord.connect(lambda word, *_: words.append(word))
    return words


def test_speakable_folds_whitespace_and_cuts_at_a_word() -> None:
    assert speakable("  Bonjour\n\n  madame  ") == "Bonjour madame"
    long = "mot " * 5000
    cut = speakable(long)
    assert len(cut) <= MAX_CHARACTERS
    assert cut.endswith("mot")


def test_read_aloud_speaks_the_page_in_the_current_language(
    home: HomeScreen, qtbot: QtBot, standin: Standin, caplog: pytest.LogCaptureFixture
) -> None:
    open_standin(home, qtbot)
    home.prefs.setLanguage("en")
    words = spoken_words(home)
    with (
        caplog.at_level(logging.INFO, logger="kiosk.ui"),
        qtbot.waitSignal(home.speech.speakingChanged, timeout=5_000),
    ):
        touch(home, qtbot, "readAloudButton")
    assert home.speech.speaking
    assert home.speech.engine.locale().language() == QLocale.Language.English
    qtbot.waitUntil(lambda: "Service" in words and "public" in words, timeout=10_000)
    # What a resident reads is theirs: never in the log.
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "reading aloud" in logged
    assert "Service public" not in logged
    # The same button stops the voice; the end of the session silences it too.
    touch(home, qtbot, "readAloudButton")
    qtbot.waitUntil(lambda: not home.speech.speaking, timeout=5_000)


def test_read_aloud_prefers_the_selection(home: HomeScreen, qtbot: QtBot, standin: Standin) -> None:
    view = open_standin(home, qtbot)
    wait_title(qtbot, view, lambda t: t == "standin-home")
    # Select the heading, and say so in the title (the view's scripts report nothing back).
    QMetaObject.invokeMethod(
        view,
        "runJavaScript",
        Q_ARG(
            str,
            "const r = document.createRange();"
            " r.selectNodeContents(document.querySelector('h1'));"
            " getSelection().removeAllRanges(); getSelection().addRange(r);"
            " document.title = 'selected';",
        ),
    )
    wait_title(qtbot, view, lambda t: t == "selected")
    words = spoken_words(home)
    with qtbot.waitSignal(home.speech.speakingChanged, timeout=5_000):
        touch(home, qtbot, "readAloudButton")
    qtbot.waitUntil(lambda: not home.speech.speaking, timeout=10_000)
    # The heading only, not the form under it.
    assert words == ["Service", "public", "test"]


def test_the_session_end_stops_the_voice(home: HomeScreen, qtbot: QtBot, standin: Standin) -> None:
    open_standin(home, qtbot)
    with qtbot.waitSignal(home.speech.speakingChanged, timeout=5_000):
        touch(home, qtbot, "readAloudButton")
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000):
        home.browser.finishSession()
    qtbot.waitUntil(lambda: not home.speech.speaking, timeout=5_000)
    assert home.speech.language() == "fr"


def test_read_aloud_speaks_a_local_page_too(home: HomeScreen, qtbot: QtBot) -> None:
    """The kiosk's own pages are read like a site's: the number shown and what it is for."""
    view = open_standin(home, qtbot)
    home.browser.load("kiosk://numbers/?show=3114")
    wait_title(qtbot, view, lambda t: t == "Prévention du suicide")
    words = spoken_words(home)
    with qtbot.waitSignal(home.speech.speakingChanged, timeout=5_000):
        touch(home, qtbot, "readAloudButton")
    qtbot.waitUntil(lambda: "3114" in words and "suicide" in words, timeout=10_000)
    touch(home, qtbot, "readAloudButton")
    qtbot.waitUntil(lambda: not home.speech.speaking, timeout=5_000)
