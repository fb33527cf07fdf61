"""The home screen holds at every size and in every language: every card whole, nothing cut.

One window, its settings switched: six languages × normal or large text × normal or high
contrast = 24 combinations, each laid out on the terminal's 1920×1080 screen and on 1280×800.
For each, every page of the home screen and of every group's screen is measured: each card
inside the cards' area and above the footer, each of its words, pictogram and chevron inside
the card, no text elided or wider than its box, every description shown, every card reachable.
The catalog is the shipped one (sixteen tiles, ten cards, the help group among them) plus a group
of two more tiles (eighteen tiles, eleven cards: the catalog grown by one more need).
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.ui.home import HomeScreen
from kiosk.ui.i18n import RESIDENT_LANGUAGES
from kiosk.ui.qt import QGuiApplication, QQuickItem, QRectF
from tests.ui.conftest import close_home
from tests.ui.kiosk_items import all_items, item, settled

pytestmark = pytest.mark.qt

SCREENS = ((1920, 1080), (1280, 800))
LANGUAGES = [lang.code for lang in RESIDENT_LANGUAGES]
COMBINATIONS = [
    (language, large, contrast)
    for language in LANGUAGES
    for large in (False, True)
    for contrast in (False, True)
]
#: An eleventh group of two tiles, with long words in every language (as the help group's).
EXTRA_GROUP = {
    "id": "aide-essai",
    "label": {
        "fr": "Aide et urgences",
        "en": "Help and emergencies",
        "es": "Ayuda y urgencias",
        "pt": "Ajuda e emergências",
        "ar": "المساعدة والطوارئ",
        "uk": "Допомога та екстрені випадки",
    },
    "icon": "sante.svg",
    "description": {
        "fr": "Lieux d'aide, numéros d'urgence",
        "en": "Places to get help, emergency numbers",
        "es": "Lugares de ayuda, números de urgencia",
        "pt": "Locais de ajuda, números de emergência",
        "ar": "أماكن المساعدة، أرقام الطوارئ",
        "uk": "Місця допомоги, екстрені номери",
    },
}
EXTRA_TILE = {
    "group": "aide-essai",
    "label": {
        "fr": "Trouver de l'aide près d'ici",
        "en": "Find help near here",
        "es": "Encontrar ayuda cerca de aquí",
        "pt": "Encontrar ajuda perto daqui",
        "ar": "إيجاد المساعدة بالقرب من هنا",
        "uk": "Знайти допомогу поблизу",
    },
    "description": {
        "fr": "Une personne vous aide avec le numérique",
        "en": "A person helps you with digital services",
        "es": "Una persona le ayuda con lo digital",
        "pt": "Uma pessoa ajuda-o com o digital",
        "ar": "شخص يساعدك في الخدمات الرقمية",
        "uk": "Людина допоможе з цифровими послугами",
    },
    "url": "https://aide.example.org/",
    "icon": "sante.svg",
    "allow": ["aide.example.org"],
}


def grown_bundle(target: Path) -> Path:
    shutil.copytree(default_bundle_dir(), target)
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    catalog["groups"].append(EXTRA_GROUP)
    for number in (1, 2):
        tile = copy.deepcopy(EXTRA_TILE)
        tile["id"] = f"aide-essai-{number}"
        catalog["tiles"].append(tile)
    (target / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False), "utf-8")
    return target


@pytest.fixture(scope="module")
def layout_home(
    qapp: QGuiApplication, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HomeScreen, QtBot]]:
    qtbot = QtBot(request)
    bundle = grown_bundle(tmp_path_factory.mktemp("layout") / "bundle")
    catalog = load_catalog(bundle)
    assert len(catalog.tiles) >= 18
    home = HomeScreen(qapp, catalog, bundle, "fr")
    with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
        home.show(windowed=True)
    yield home, qtbot
    close_home(home, qtbot)


def rect(target: QQuickItem) -> QRectF:
    return target.mapRectToScene(target.boundingRect())


def inside(inner: QRectF, outer: QRectF, slack: float = 0.5) -> bool:
    return (
        inner.left() >= outer.left() - slack
        and inner.top() >= outer.top() - slack
        and inner.right() <= outer.right() + slack
        and inner.bottom() <= outer.bottom() + slack
    )


@dataclass
class Problems:
    where: str
    found: list[str]

    def add(self, problem: str) -> None:
        self.found.append(f"{self.where}: {problem}")


def scene_index(home: HomeScreen) -> dict[str, QQuickItem]:
    """Every named item of the scene, by name (one walk, instead of one per lookup)."""
    return {found.objectName(): found for found in all_items(home.window) if found.objectName()}


def laid_out(home: HomeScreen, qtbot: QtBot) -> None:
    """The cards laid out again (TileGrid relayouts once every binding has settled), and their
    positioners (a card's Grid and Column) polished: they place their children just before a
    frame is drawn."""
    settled(home, qtbot)


def check_text(text: QQuickItem, box: QRectF, what: str, problems: Problems) -> None:
    if bool(text.property("truncated")):
        problems.add(f"{what} is elided or cut")
    if float(text.property("contentWidth")) > text.width() + 0.5:
        problems.add(f"{what} is wider than its box (a word sticks out)")
    if not inside(rect(text), box):
        problems.add(f"{what} lies outside {box}")


def check_page(home: HomeScreen, grid_name: str, page: str, problems: Problems) -> set[str]:
    """Measure the cards shown now; return their names."""
    named = scene_index(home)
    area = rect(named["homeArea"])
    footer_top = rect(named["footer"]).top()
    cards = {
        name: card
        for name, card in named.items()
        if card.isVisible()
        and card.property("touchTarget")
        and name.startswith(("tile-", "group-"))
    }
    if not cards:
        problems.add(f"{grid_name} {page} shows no card")
    for name, card in cards.items():
        frame = rect(named[f"{name}-card"])
        if not inside(frame, area) or frame.bottom() > footer_top + 0.5:
            problems.add(f"{name} is outside the cards' area or under the footer")
        data = card.property("card")
        data = data.toVariant() if hasattr(data, "toVariant") else data
        for part in ("label", "description", "note"):
            text = named[f"{name}-{part}"]
            expected = str(data[part])
            if not expected:
                continue
            if not text.isVisible() or str(text.property("text")) != expected:
                problems.add(f"{name}'s {part} is not shown")
            check_text(text, frame, f"{name}'s {part}", problems)
        for part in ("pictogram", "chevron"):
            drawn = named[f"{name}-{part}"]
            if drawn.isVisible() and not inside(rect(drawn), frame):
                problems.add(f"{name}'s {part} is not whole on its card")
        chevron = named[f"{name}-chevron"]
        if chevron.isVisible():
            for part in ("label", "description"):
                if rect(chevron).intersects(rect(named[f"{name}-{part}"])):
                    problems.add(f"{name}'s chevron covers its {part}")
    for control in ("PageControls", "SidePageControls"):
        shown = named[grid_name + control]
        if shown.isVisible():
            for child in shown.childItems():
                if child.isVisible():
                    if not inside(rect(child), area):
                        problems.add(f"{child.objectName()} is outside the cards' area")
                    for card in cards.values():
                        if rect(child).intersects(rect(card)):
                            problems.add(f"{child.objectName()} covers {card.objectName()}")
    return set(cards)


def check_every_page(
    home: HomeScreen, qtbot: QtBot, grid_name: str, problems: Problems
) -> set[str]:
    grid = item(home, grid_name)
    seen: set[str] = set()
    for page in range(int(grid.property("pageCount"))):
        grid.setProperty("page", page)
        laid_out(home, qtbot)
        seen |= check_page(home, grid_name, f"page {page + 1}", problems)
    grid.setProperty("page", 0)
    return seen


def check_header_and_footer(home: HomeScreen, problems: Problems) -> None:
    window = QRectF(0, 0, home.window.width(), home.window.height())
    header = rect(item(home, "header"))
    tools = [item(home, f"home{name}Button") for name in ("Language", "Contrast", "TextSize")]
    for name in ("welcomeText", "instructionText"):
        text = item(home, name)
        check_text(text, header, name, problems)
        for tool in tools:
            if rect(text).intersects(rect(tool)):
                problems.add(f"{name} runs under {tool.objectName()}")
    for tool in tools:
        if not inside(rect(tool), window):
            problems.add(f"{tool.objectName()} is outside the window")
    check_text(item(home, "privacyText"), rect(item(home, "footer")), "privacyText", problems)


@pytest.mark.parametrize(
    ("language", "large", "contrast"),
    COMBINATIONS,
    ids=[
        f"{lang}-{'large' if large else 'normal'}-{'contrast' if hc else 'colour'}"
        for lang, large, hc in COMBINATIONS
    ],
)
def test_every_card_is_whole_at_every_size(
    layout_home: tuple[HomeScreen, QtBot], language: str, large: bool, contrast: bool
) -> None:
    home, qtbot = layout_home
    home.prefs.setLanguage(language)
    if home.prefs.largeText != large:
        home.prefs.toggleLargeText()
    if home.prefs.highContrast != contrast:
        home.prefs.toggleHighContrast()
    problems = Problems("", [])
    for width, height in SCREENS:
        home.window.resize(width, height)
        qtbot.waitUntil(lambda w=width: home.window.width() == w, timeout=5_000)
        laid_out(home, qtbot)
        problems.where = f"{width}×{height} home"
        check_header_and_footer(home, problems)
        shown = check_every_page(home, qtbot, "homeGrid", problems)
        expected = {f"{card.kind}-{card.card_id}" for card in home.menu.home_cards}
        if shown != expected:
            problems.add(f"cards never shown on any page: {sorted(expected - shown)}")
        for card in home.menu.home_cards:
            if card.kind != "group":
                continue
            home.menu.openGroup(card.card_id)
            laid_out(home, qtbot)
            problems.where = f"{width}×{height} group {card.card_id}"
            check_text(
                item(home, "groupTitle"), rect(item(home, "homeArea")), "groupTitle", problems
            )
            shown = check_every_page(home, qtbot, "groupGrid", problems)
            expected = {f"tile-{tile.card_id}" for tile in home.menu.group_cards}
            if shown != expected:
                problems.add(f"tiles never shown: {sorted(expected - shown)}")
            home.menu.closeGroup()
    assert not problems.found, "\n".join(problems.found)


def test_no_text_of_the_kiosk_breaks_inside_a_word() -> None:
    """Text.Wrap and WrapAnywhere cut a word too long for its line ("France Trav|ail"); the
    kiosk wraps between words only, and its layout makes room for the longest word instead
    (a word wider than its box is caught above as "wider than its box")."""
    qml = Path(__file__).resolve().parents[2] / "kiosk" / "ui" / "qml"
    for source in qml.glob("*.qml"):
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"Text\.(Wrap|WrapAnywhere|WrapAtWordBoundaryOrAnywhere)\b", text), (
            source.name
        )
