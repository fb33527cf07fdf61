"""The home screen: loads cleanly, one card per need in the right language, reacts to touch."""

from __future__ import annotations

import logging

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import default_bundle_dir, load_catalog, localized
from kiosk.ui.home import WINDOWED_SIZE, HomeScreen
from kiosk.ui.menu import GROUP, TILE, CaptureDevices, home_cards
from kiosk.ui.qt import QImage, QObject, QPoint, QQuickItem, QQuickWindow, Qt
from tests.ui.conftest import ShowHome
from tests.ui.kiosk_items import all_items, item, touch
from tests.ui.kiosk_items import text_of as scene_text

pytestmark = pytest.mark.qt


def card_items(window: QQuickWindow) -> dict[str, QQuickItem]:
    """The visible cards by object name (``tile-caf``, ``group-sante``)."""
    found: dict[str, QQuickItem] = {}
    for current in all_items(window):
        name = current.objectName()
        is_card = current.property("touchTarget") and name.startswith(("tile-", "group-"))
        if is_card and current.isVisible():
            found[name] = current
    return found


def text_of(home_window: QObject, object_name: str) -> str:
    found = home_window.findChild(QQuickItem, object_name)
    assert found is not None, f"no item named {object_name}"
    return str(found.property("text"))


def test_home_loads_the_default_catalog(show_home: ShowHome) -> None:
    # Any QML warning would fail this test (qt_log_level_fail = WARNING).
    home = show_home("fr")
    assert home.window.isVisible()
    assert home.window.title() == "Services publics"


def test_one_card_per_group_a_group_of_one_is_its_tile() -> None:
    catalog = load_catalog(default_bundle_dir())
    cards = home_cards(catalog, default_bundle_dir(), "fr", CaptureDevices(True, True))
    assert [card.card_id for card in cards] == [
        group.id
        if sum(t.group == group.id for t in catalog.tiles) > 1
        else next(t.id for t in catalog.tiles if t.group == group.id)
        for group in catalog.groups
    ]
    by_id = {card.card_id: card for card in cards}
    assert by_id["sante"].kind == GROUP
    assert by_id["sante"].label == "Santé"
    assert by_id["sante"].description == "Ameli, Mon espace santé"
    assert by_id["messagerie"].description == "Gmail, Outlook, Orange, Yahoo"
    assert by_id["caf"].kind == TILE
    assert by_id["caf"].label == "Famille – CAF"
    assert by_id["caf"].description == "Allocations, aide au logement"
    assert by_id["caf"].icon_url.startswith("file:///")
    # Every tile is on the home screen or in a group's screen.
    reachable = {c.card_id for c in cards if c.kind == TILE} | {
        t.id for t in catalog.tiles if t.group in {c.card_id for c in cards if c.kind == GROUP}
    }
    assert reachable == {t.id for t in catalog.tiles}


def test_the_cards_are_drawn_in_french(show_home: ShowHome) -> None:
    home = show_home("fr")
    cards = card_items(home.window)
    catalog = load_catalog(default_bundle_dir())
    assert set(cards) == {f"{card.kind}-{card.card_id}" for card in home.menu.home_cards}, (
        "every card of the first page"
    )
    assert scene_text(home, "tile-caf-label") == "Famille – CAF"
    assert scene_text(home, "group-sante-label") == localized(catalog.group("sante").label, "fr")


def test_french_is_the_default_screen_language(show_home: ShowHome) -> None:
    window = show_home("fr").window
    assert text_of(window, "welcomeText") == "Bonjour\u202f!"
    assert text_of(window, "instructionText") == "Touchez un service pour commencer."
    assert text_of(window, "privacyText") == "Vos données sont effacées à la fin de votre visite."


def test_english_screen_translates_cards_and_qml_text(show_home: ShowHome) -> None:
    home = show_home("en")
    labels = [card.label for card in home.menu.home_cards]
    assert "Health" in labels
    assert "Family – CAF" in labels
    assert text_of(home.window, "welcomeText") == "Hello!"
    assert text_of(home.window, "privacyText") == "Your data is erased at the end of your visit."
    assert home.window.title() == "Public services"


def test_cards_are_at_least_180_px_tall(show_home: ShowHome) -> None:
    home = show_home("fr")
    cards = card_items(home.window)
    assert cards
    for card in cards.values():
        card_height = card.height() - 2 * float(card.property("inset"))
        assert card_height >= 180, card.objectName()


def test_grabbed_home_screen_is_full_size_and_not_blank(show_home: ShowHome) -> None:
    image = show_home("fr").window.grabWindow().convertToFormat(QImage.Format.Format_RGB32)
    assert (image.width(), image.height()) == WINDOWED_SIZE
    background = image.pixel(2, 2)
    step = 7
    samples = [
        image.pixel(x, y)
        for y in range(0, image.height(), step)
        for x in range(0, image.width(), step)
    ]
    other = sum(1 for pixel in samples if pixel != background)
    assert other / len(samples) > 0.3, "mostly background: cards not drawn?"
    assert len(set(samples)) > 50, "too few colours: text and pictograms not drawn?"


def _click(home: HomeScreen, qtbot: QtBot, target: QQuickItem) -> None:
    centre = target.mapToScene(target.boundingRect().center()).toPoint()
    qtbot.mouseClick(home.window, Qt.MouseButton.LeftButton, pos=QPoint(centre))


def test_touching_a_tile_reports_its_id_and_logs_no_address(
    show_home: ShowHome, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    home = show_home("fr")
    with (
        caplog.at_level(logging.INFO, logger="kiosk.ui"),
        qtbot.waitSignal(home.backend.tileActivated, timeout=5_000) as activated,
    ):
        _click(home, qtbot, card_items(home.window)["tile-caf"])
    assert activated.args == ["caf"]
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "caf" in logged
    assert "http" not in logged
    assert "caf.fr" not in logged


def test_a_group_opens_its_screen_and_all_services_comes_back(
    show_home: ShowHome, qtbot: QtBot
) -> None:
    home = show_home("fr")
    touch(home, qtbot, "group-messagerie")
    qtbot.waitUntil(lambda: item(home, "groupTitle").isVisible(), timeout=5_000)
    assert scene_text(home, "groupTitle") == "Messagerie"
    # No session yet: a group is only a screen of the home.
    assert not home.browser.sessionActive
    cards = card_items(home.window)
    assert set(cards) == {"tile-gmail", "tile-outlook", "tile-mail-orange", "tile-yahoo-mail"}
    with qtbot.waitSignal(home.backend.tileActivated, timeout=5_000) as activated:
        _click(home, qtbot, cards["tile-gmail"])
    assert activated.args == ["gmail"]
    home.browser.goHome()
    qtbot.waitUntil(lambda: item(home, "allServicesButton").isVisible(), timeout=5_000)
    touch(home, qtbot, "allServicesButton")
    qtbot.waitUntil(lambda: "group-messagerie" in card_items(home.window), timeout=5_000)
    assert not item(home, "groupTitle").isVisible()


def test_human_help_is_the_first_card_and_two_touches_open_the_guide(
    show_home: ShowHome, qtbot: QtBot
) -> None:
    # Whoever stands at the terminal sees help first: on every screen size and in every language
    # the first card is on the first page (top left, top right in Arabic).
    home = show_home("fr")
    first = home.menu.home_cards[0]
    assert (first.kind, first.card_id, first.label) == (GROUP, "aide", "Aide et urgences")
    assert first.description == "Quelqu'un pour vous aider, numéros d'urgence"
    touch(home, qtbot, "group-aide")
    qtbot.waitUntil(lambda: item(home, "groupTitle").isVisible(), timeout=5_000)
    cards = card_items(home.window)
    assert set(cards) == {"tile-aide-pres-d-ici", "tile-numeros-utiles"}
    with qtbot.waitSignal(home.backend.tileActivated, timeout=5_000) as activated:
        _click(home, qtbot, cards["tile-aide-pres-d-ici"])
    assert activated.args == ["aide-pres-d-ici"]


def test_the_next_resident_starts_on_the_home_screen(show_home: ShowHome, qtbot: QtBot) -> None:
    home = show_home("fr")
    home.menu.openGroup("ecole")
    home.browser.openTile("educonnect")
    with qtbot.waitSignal(home.browser.sessionEnded, timeout=10_000):
        home.browser.finishSession()
    assert home.menu.groupId == ""


def test_menu_relabels_cards_live(show_home: ShowHome, qtbot: QtBot) -> None:
    menu = show_home("fr").menu
    with qtbot.waitSignal(menu.changed, timeout=1_000):
        menu.set_language("en")
    assert [card.label for card in menu.home_cards][:2] == ["Help and emergencies", "Health"]
    menu.openGroup("sante")
    assert [card.label for card in menu.group_cards] == ["Health – Ameli", "My health space"]
    menu.openGroup("no-such-group")
    assert menu.groupId == "sante"
