"""The bar's pictograms with words, mirrored in Arabic; the countdown's unit, ring, Finish now."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.session import SessionTimeouts
from kiosk.ui.translator import GettextTranslator
from tests.ui.conftest import STANDIN_TILE, OpenKiosk, session_view
from tests.ui.kiosk_items import item, scene_x, text_of, touch

pytestmark = pytest.mark.qt

#: The bar's buttons with a pictogram and a word; those whose pictogram points a way.
WITH_PICTOGRAM = ("homeButton", "backButton", "readAloudButton", "barLanguageButton")
POINTING = ("backButton", "readAloudButton")


def test_the_bar_s_buttons_have_a_pictogram_and_a_word(open_kiosk: OpenKiosk, qtbot: QtBot) -> None:
    home = open_kiosk()
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: item(home, "finishButton").isVisible(), timeout=10_000)
    for name in (*WITH_PICTOGRAM, "barContrastButton"):
        assert item(home, f"{name}Icon").isVisible(), name
        assert text_of(home, name), f"{name} has no word"
    assert text_of(home, "homeButton") == "Accueil"
    assert text_of(home, "backButton") == "Retour"
    assert text_of(home, "barContrastButton") == "Contraste"
    # Each word under its pictogram (measured once the bar is drawn: positioners place their
    # items just before a frame).
    with qtbot.waitSignal(home.window.frameSwapped, timeout=5_000):
        home.window.update()
    for name in WITH_PICTOGRAM:
        icon, button = item(home, f"{name}Icon"), item(home, name)
        icon_centre = icon.mapToScene(icon.boundingRect().center()).y()
        assert icon_centre < button.mapToScene(button.boundingRect().center()).y(), name


def test_arabic_mirrors_the_pictograms_that_point_a_way(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk()
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    for name in (*WITH_PICTOGRAM, "barContrastButton"):
        assert item(home, f"{name}Icon").property("mirror") is False, name
    home.prefs.setLanguage("ar")
    qtbot.waitUntil(lambda: bool(item(home, "backButtonIcon").property("mirror")))
    for name in POINTING:
        assert item(home, f"{name}Icon").property("mirror") is True, name
    # A globe, a house and a half disc read the same both ways.
    for name in ("homeButton", "barLanguageButton", "barContrastButton"):
        assert item(home, f"{name}Icon").property("mirror") is False, name


def test_the_countdown_has_its_unit_a_ring_and_finish_now(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk(SessionTimeouts(idle_timeout_s=0.2, countdown_s=60))
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: bool(home.browser.idle), timeout=5_000)
    assert text_of(home, "idleSecondsLeft") == "60"
    assert text_of(home, "idleSecondsUnit") == "secondes"
    assert home.browser.countdownTotal == 60
    ring = item(home, "idleRing")
    assert ring.isVisible()
    assert ring.width() > 150
    # "Finish now" beside "I am here", on the same line, both big.
    still, finish = item(home, "stillHereButton"), item(home, "finishNowButton")
    assert finish.isVisible()
    assert text_of(home, "finishNowButton") == "Terminer maintenant"
    assert (
        abs(
            still.mapToScene(still.boundingRect().center()).y()
            - finish.mapToScene(finish.boundingRect().center()).y()
        )
        < 1
    )
    assert scene_x(finish) > scene_x(still)
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000) as ended:
        touch(home, qtbot, "finishNowButton")
    assert ended.args[1] == "button"


@pytest.mark.parametrize(
    ("language", "count", "unit"),
    [
        ("fr", 1, "seconde"),
        ("fr", 30, "secondes"),
        ("en", 1, None),  # the source text: English has no catalog
        ("uk", 1, "секунда"),
        ("uk", 3, "секунди"),
        ("uk", 30, "секунд"),
        ("ar", 2, "ثانيتان"),
        ("ar", 5, "ثوانٍ"),
    ],
)
def test_the_unit_follows_the_language_s_plural(
    language: str, count: int, unit: str | None
) -> None:
    translator = GettextTranslator(language)
    assert translator.translate("IdleOverlay", "second(s)", None, count) == unit
