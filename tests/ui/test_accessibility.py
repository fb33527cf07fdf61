"""High contrast, large text and touch targets: 7:1 text contrast, 2 cm targets at 1080p."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from kiosk.ui.preferences import LARGE_TEXT_SCALE
from kiosk.ui.qt import QQuickItem
from kiosk.ui.theme import HIGH_CONTRAST, NORMAL, PALETTES, TEXT_PAIRS, Palette, contrast_ratio
from tests.ui.conftest import STANDIN_TILE, OpenKiosk, ShowHome, session_view
from tests.ui.kiosk_items import all_items, item, touch

pytestmark = pytest.mark.qt

QML_DIR = Path(__file__).resolve().parents[2] / "kiosk" / "ui" / "qml"
#: 2 cm on the reference screen: 21.5" diagonal at 1920×1080 is 102.5 px per inch.
MIN_TARGET_PX = 81
REFERENCE_SIZE = (1920, 1080)


@pytest.mark.parametrize("name", sorted(PALETTES))
@pytest.mark.parametrize(("text", "background"), TEXT_PAIRS)
def test_every_text_colour_has_7_to_1_contrast(name: str, text: str, background: str) -> None:
    palette = PALETTES[name]
    ratio = contrast_ratio(getattr(palette, text), getattr(palette, background))
    assert ratio >= 7.0, f"{name}: {text} on {background} is only {ratio:.2f}:1"


def test_contrast_formula_matches_wcag_examples() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#123456", "#123456") == pytest.approx(1.0)


def test_palettes_declare_every_colour_and_qml_hard_codes_none() -> None:
    for palette in (NORMAL, HIGH_CONTRAST):
        for field in fields(Palette):
            assert re.fullmatch(r"#[0-9a-f]{6}", getattr(palette, field.name)), field.name
    for qml in QML_DIR.glob("*.qml"):
        for number, line in enumerate(qml.read_text(encoding="utf-8").splitlines(), 1):
            if "property color" in line:
                continue  # a default, always overridden from the theme
            assert not re.search(r'"#[0-9a-fA-F]{3,8}"', line), f"{qml.name}:{number}: {line}"


def test_high_contrast_from_the_home_screen(show_home: ShowHome, qtbot: QtBot) -> None:
    home = show_home("fr")
    assert home.window.color().name() == NORMAL.background
    touch(home, qtbot, "homeContrastButton")
    qtbot.waitUntil(lambda: home.window.color().name() == HIGH_CONTRAST.background)
    assert home.prefs.highContrast
    assert item(home, "homeContrastButton").property("checked")
    touch(home, qtbot, "homeContrastButton")
    qtbot.waitUntil(lambda: home.window.color().name() == NORMAL.background)


def _pixel_size(home: HomeScreen, name: str) -> int:
    return int(item(home, name).property("font").pixelSize())


def test_large_text_scales_the_ui_and_the_page(open_kiosk: OpenKiosk, qtbot: QtBot) -> None:
    home = open_kiosk()
    # The cards' words, which the resident must read (the greeting grows less).
    normal = _pixel_size(home, "group-sante-label")
    touch(home, qtbot, "homeTextSizeButton")
    qtbot.waitUntil(lambda: _pixel_size(home, "group-sante-label") > normal)
    assert _pixel_size(home, "group-sante-label") == round(normal * LARGE_TEXT_SCALE)
    assert _pixel_size(home, "group-sante-description") > normal * 0.7 * LARGE_TEXT_SCALE
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    view = session_view(home)
    assert view is not None
    qtbot.waitUntil(lambda: not view.property("loading"), timeout=10_000)
    assert float(view.property("zoomFactor")) == pytest.approx(LARGE_TEXT_SCALE)
    touch(home, qtbot, "barTextSizeButton")
    qtbot.waitUntil(lambda: float(view.property("zoomFactor")) == pytest.approx(1.0))


def _targets(home: HomeScreen) -> list[QQuickItem]:
    return [
        found
        for found in all_items(home.window)
        if found.property("touchTarget") is True and found.isVisible()
    ]


def _assert_large_enough(home: HomeScreen) -> int:
    targets = _targets(home)
    for target in targets:
        inset = target.property("inset")
        margin = 2 * float(inset) if inset is not None else 0.0
        size = (target.width() - margin, target.height() - margin)
        assert min(size) >= MIN_TARGET_PX, f"{target.objectName()} is {size} px at 1080p"
    return len(targets)


def test_touch_targets_are_2_cm_at_1080p(open_kiosk: OpenKiosk, qtbot: QtBot) -> None:
    home = open_kiosk()
    with qtbot.waitSignal(home.window.frameSwapped, timeout=5_000):
        home.window.resize(*REFERENCE_SIZE)
    # Home: the card and the language, contrast and text-size buttons.
    assert _assert_large_enough(home) >= 4
    touch(home, qtbot, "homeLanguageButton")
    qtbot.waitUntil(lambda: item(home, "languagePicker").isVisible())
    assert _assert_large_enough(home) >= 7  # six languages and Close
    touch(home, qtbot, "languagePickerClose")
    qtbot.waitUntil(lambda: not item(home, "languagePicker").isVisible())
    # Browsing: the bar's buttons.
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: item(home, "finishButton").isVisible(), timeout=10_000)
    assert _assert_large_enough(home) >= 7


def test_the_bar_fits_the_1280_window_in_every_language(
    open_kiosk: OpenKiosk, qtbot: QtBot
) -> None:
    home = open_kiosk()
    home.browser.openTile(STANDIN_TILE)
    qtbot.waitUntil(lambda: item(home, "finishButton").isVisible(), timeout=10_000)
    for code in ("fr", "en", "es", "pt", "uk", "ar"):
        home.prefs.setLanguage(code)
        tools = item(home, "barTextSizeButton")
        finish = item(home, "finishButton")
        edges = sorted(
            [
                tools.mapToScene(tools.boundingRect().center()).x(),
                finish.mapToScene(finish.boundingRect().center()).x(),
            ]
        )
        left, right = (tools, finish) if code != "ar" else (finish, tools)
        gap = (
            right.mapToScene(right.boundingRect().topLeft()).x()
            - left.mapToScene(left.boundingRect().topRight()).x()
        )
        assert gap > 0, f"{code}: the bar's buttons overlap by {-gap:.0f} px"
        assert edges[0] >= 0
        assert edges[1] <= home.window.width()
