"""Six languages, switched live from every screen; Arabic mirrored; French again after a session."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import default_bundle_dir, load_catalog, localized
from kiosk.ui.i18n import RESIDENT_LANGUAGES, gettext_for
from tests.ui.conftest import STANDIN_TILE, OpenKiosk, ShowHome, session_view
from tests.ui.kiosk_items import choose_language, item, scene_x, text_of, touch

pytestmark = pytest.mark.qt

OTHER_LANGUAGES = [lang.code for lang in RESIDENT_LANGUAGES if lang.code != "fr"]


def test_the_picker_names_each_language_in_itself(show_home: ShowHome, qtbot: QtBot) -> None:
    home = show_home("fr")
    touch(home, qtbot, "homeLanguageButton")
    names = [text_of(home, f"language-{lang.code}") for lang in RESIDENT_LANGUAGES]
    assert names == ["Français", "English", "Español", "Português", "العربية", "Українська"]
    touch(home, qtbot, "languagePickerClose")
    qtbot.waitUntil(lambda: not item(home, "languagePicker").isVisible())
    assert home.prefs.language == "fr"


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_switching_language_translates_text_and_tiles_live(
    show_home: ShowHome, qtbot: QtBot, code: str
) -> None:
    home = show_home("fr")
    choose_language(home, qtbot, code)
    # The touch on the picker never reaches the tile underneath.
    assert not home.browser.sessionActive
    _ = gettext_for(code)
    assert text_of(home, "welcomeText") == _("Hello!")
    assert text_of(home, "instructionText") == _("Touch a service to start.")
    assert text_of(home, "privacyText") == _("Your data is erased at the end of your visit.")
    assert home.window.title() == _("Public services")
    if code != "en":
        assert text_of(home, "welcomeText") != "Hello!"
    catalog = load_catalog(default_bundle_dir())
    labels = {card.card_id: card.label for card in home.menu.home_cards}
    assert labels["sante"] == localized(catalog.group("sante").label, code)
    assert labels["caf"] == next(t.label[code] for t in catalog.tiles if t.id == "caf")
    assert text_of(home, "tile-caf-label") == labels["caf"]
    assert text_of(home, "homeLanguageButton") == next(
        lang.name for lang in RESIDENT_LANGUAGES if lang.code == code
    )


def test_every_catalog_label_exists_in_every_language() -> None:
    catalog = load_catalog(default_bundle_dir())
    for lang in RESIDENT_LANGUAGES:
        for group in catalog.groups:
            assert group.label.get(lang.code), (group.id, lang.code)
            if group.description is not None:
                assert group.description.get(lang.code), (group.id, lang.code)
        for tile in catalog.tiles:
            assert tile.label.get(lang.code), (tile.id, lang.code)
            assert tile.description is not None, tile.id
            assert tile.description.get(lang.code), (tile.id, lang.code)


def test_arabic_mirrors_the_home_screen(show_home: ShowHome, qtbot: QtBot) -> None:
    home = show_home("fr")
    first = item(home, "group-sante")
    french_x = scene_x(first)
    assert french_x < home.window.width() / 2
    choose_language(home, qtbot, "ar")
    qtbot.waitUntil(lambda: scene_x(item(home, "group-sante")) > home.window.width() / 2)
    assert home.prefs.rightToLeft
    assert "Arabic" in str(item(home, "welcomeText").property("font").family())
    # The tools move to the left, the welcome to the right.
    assert scene_x(item(home, "homeLanguageButton")) < home.window.width() / 2
    choose_language(home, qtbot, "fr")
    qtbot.waitUntil(lambda: scene_x(item(home, "group-sante")) == french_x)


def test_arabic_mirrors_the_bar_and_the_language_is_reachable_while_browsing(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk()
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    qtbot.waitUntil(lambda: item(home, "finishButton").isVisible())
    assert scene_x(item(home, "finishButton")) > scene_x(item(home, "homeButton"))
    choose_language(home, qtbot, "ar", via="bar")
    assert text_of(home, "finishButton") == gettext_for("ar")("Finish and erase my data")
    qtbot.waitUntil(lambda: scene_x(item(home, "finishButton")) < scene_x(item(home, "homeButton")))
    assert scene_x(item(home, "finishButton")) < home.window.width() / 2


def test_the_language_is_reachable_from_the_idle_countdown(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    from kiosk.ui.session import SessionTimeouts

    home = open_kiosk(SessionTimeouts(idle_timeout_s=0.2, countdown_s=60))
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: bool(home.browser.idle), timeout=5_000)
    choose_language(home, qtbot, "uk", via="idle")
    assert text_of(home, "idleQuestion") == gettext_for("uk")("Are you still there?")


def test_a_session_end_brings_back_french_and_default_display(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk()
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    choose_language(home, qtbot, "uk", via="bar")
    touch(home, qtbot, "barContrastButton")
    touch(home, qtbot, "barTextSizeButton")
    qtbot.waitUntil(lambda: bool(home.prefs.highContrast and home.prefs.largeText))
    assert text_of(home, "finishButton") == "Завершити й стерти мої дані"
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000):
        touch(home, qtbot, "finishButton")
    assert home.prefs.language == "fr"
    assert not home.prefs.highContrast
    assert not home.prefs.largeText
    assert text_of(home, "welcomeText") == "Bonjour\u202f!"
    assert home.menu.home_cards[0].label == "Santé"
    assert text_of(home, "homeLanguageButton") == "Français"
