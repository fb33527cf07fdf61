"""The home screen: loads cleanly, shows every tile in the right language, reacts to touch."""

from __future__ import annotations

import logging

import pytest
from pytestqt.qtbot import QtBot

from kiosk.catalog import default_bundle_dir, load_catalog
from kiosk.ui.home import WINDOWED_SIZE
from kiosk.ui.qt import QImage, QObject, QPoint, QQuickItem, QQuickWindow, Qt
from kiosk.ui.tiles import ROLE_NAMES, TileRole
from tests.ui.conftest import ShowHome

pytestmark = pytest.mark.qt


def tile_items(window: QQuickWindow) -> dict[str, QQuickItem]:
    """The tile delegates by tile id (delegates live in the visual tree, not the QObject tree)."""
    found: dict[str, QQuickItem] = {}
    pending = [window.contentItem()]
    while pending:
        item = pending.pop()
        if item.objectName().startswith("tile-"):
            found[item.objectName().removeprefix("tile-")] = item
        pending.extend(item.childItems())
    return found


def text_of(home_window: QObject, object_name: str) -> str:
    item = home_window.findChild(QQuickItem, object_name)
    assert item is not None, f"no item named {object_name}"
    return str(item.property("text"))


def test_home_loads_the_default_catalog(show_home: ShowHome) -> None:
    # Any QML warning would fail this test (qt_log_level_fail = WARNING).
    home = show_home("fr")
    assert home.window.isVisible()
    assert home.window.title() == "Services publics"


def test_model_has_one_row_per_tile_with_french_labels(show_home: ShowHome) -> None:
    home = show_home("fr")
    catalog = load_catalog(default_bundle_dir())
    model = home.model
    assert model.rowCount() == len(catalog.tiles)
    labels = [model.data(model.index(row), TileRole.LABEL) for row in range(model.rowCount())]
    assert labels == [tile.label["fr"] for tile in catalog.tiles_by_group()]
    assert model.data(model.index(0), TileRole.GROUP_LABEL) == "Santé"
    assert str(model.data(model.index(0), TileRole.ICON_URL)).startswith("file:///")
    assert {bytes(name.data()).decode() for name in model.roleNames().values()} == set(
        ROLE_NAMES.values()
    )


def test_french_is_the_default_screen_language(show_home: ShowHome) -> None:
    window = show_home("fr").window
    assert text_of(window, "welcomeText") == "Bonjour\u202f!"
    assert text_of(window, "instructionText") == "Touchez un service pour commencer."
    assert text_of(window, "privacyText") == "Vos données sont effacées à la fin de votre visite."


def test_english_screen_translates_tiles_and_qml_text(show_home: ShowHome) -> None:
    home = show_home("en")
    model = home.model
    labels = [model.data(model.index(row), TileRole.LABEL) for row in range(model.rowCount())]
    assert "Health – Ameli" in labels
    assert model.data(model.index(0), TileRole.GROUP_LABEL) == "Health"
    assert text_of(home.window, "welcomeText") == "Hello!"
    assert text_of(home.window, "privacyText") == "Your data is erased at the end of your visit."
    assert home.window.title() == "Public services"


def test_tiles_are_at_least_180_px_tall(show_home: ShowHome) -> None:
    home = show_home("fr")
    tiles = tile_items(home.window)
    assert len(tiles) == home.model.rowCount()
    for tile in tiles.values():
        card_height = tile.height() - 2 * float(tile.property("inset"))
        assert card_height >= 180, tile.objectName()


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
    assert other / len(samples) > 0.3, "mostly background: tiles not drawn?"
    assert len(set(samples)) > 50, "too few colours: text and pictograms not drawn?"


def test_touching_a_tile_reports_its_id_and_logs_no_address(
    show_home: ShowHome, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    home = show_home("fr")
    tile = tile_items(home.window)["caf"]
    centre = tile.mapToScene(tile.boundingRect().center()).toPoint()
    with (
        caplog.at_level(logging.INFO, logger="kiosk.ui"),
        qtbot.waitSignal(home.backend.tileActivated, timeout=5_000) as activated,
    ):
        qtbot.mouseClick(home.window, Qt.MouseButton.LeftButton, pos=QPoint(centre))
    assert activated.args == ["caf"]
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "caf" in logged
    assert "http" not in logged
    assert "caf.fr" not in logged


def test_model_relabels_tiles_live(show_home: ShowHome, qtbot: QtBot) -> None:
    model = show_home("fr").model
    with qtbot.waitSignal(model.dataChanged, timeout=1_000):
        model.set_language("en")
    assert model.data(model.index(0), TileRole.LABEL) == "Health – Ameli"
    assert model.data(model.index(model.rowCount()), TileRole.LABEL) is None
