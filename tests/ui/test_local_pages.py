"""Local pages as tiles: a bundle page and the kiosk's help pages, inside the same lockdown.

The bundle page is opened from its tile in the session's own view; from there, a link outside,
a popup and a request to a site are refused, nothing can be stored, the keyboard types into its
field, and the wipe leaves nothing of it for the next resident. The guide and the numbers are
counted for the observatory (counts only).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.contract.mqtt import HelpUsage
from kiosk.contract.places import PlacesFile
from kiosk.ui.browser.pages import bundle_file
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QGuiApplication, QObject, Qt
from tests.ui.conftest import close_home, session_view
from tests.ui.standin import OUTSIDE_HOST, Standin, write_standin_bundle
from tests.ui.test_wipe import type_text
from tests.ui.web import (
    REFUSED_TITLE,
    evaluate,
    focus_field,
    run_script,
    url_of,
    wait_title,
)

PAGE_TILE = "page-locale"
#: A local page that tries every way out it can think of, and reports in its body.
PAGE = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>page-locale</title>
</head><body><main><h1>Page locale</h1><input id="field" type="text" autocomplete="on">
<a id="out" href="OUTSIDE">dehors</a><button id="popup" onclick="window.open('OUTSIDE')">x</button>
<script>
try { localStorage.setItem("k", "v"); document.body.dataset.storage = "stored"; }
catch (e) { document.body.dataset.storage = "refused"; }
try { document.cookie = "k=v"; document.body.dataset.cookie = String(document.cookie.length); }
catch (e) { document.body.dataset.cookie = "refused"; }
fetch("FETCH").then(() => { document.body.dataset.fetch = "sent"; },
                    () => { document.body.dataset.fetch = "blocked"; });
</script></main></body></html>
"""


@pytest.fixture(scope="module")
def page_bundle(tmp_path_factory: pytest.TempPathFactory, standin: Standin) -> Path:
    bundle = tmp_path_factory.mktemp("pages")
    (bundle / "pages").mkdir()
    page = PAGE.replace("OUTSIDE", standin.url("/target", host=OUTSIDE_HOST))
    (bundle / "pages" / "essai.html").write_text(
        page.replace("FETCH", standin.url("/from-local-page")), encoding="utf-8"
    )
    shutil.copy(default_bundle_dir() / "places.json", bundle / "places.json")
    pages: tuple[dict[str, object], ...] = (
        {"id": PAGE_TILE, "label": {"fr": "Page locale"}, "page": "pages/essai.html", "allow": []},
        {"id": "guide", "label": {"fr": "Aide"}, "page": "guide", "allow": []},
        {"id": "numeros", "label": {"fr": "Numéros"}, "page": "numbers", "allow": []},
    )
    return write_standin_bundle(bundle, standin.url(), "pages", extra_tiles=pages)


@pytest.fixture
def kiosk(qapp: QGuiApplication, qtbot: QtBot, page_bundle: Path) -> Iterator[HomeScreen]:
    home = HomeScreen(qapp, load_catalog(page_bundle), page_bundle, "fr")
    with qtbot.waitSignal(home.window.frameSwapped, timeout=10_000):
        home.show(windowed=True)
    yield home
    close_home(home, qtbot)


def open_page_tile(home: HomeScreen, qtbot: QtBot, tile: str, expected_title: str) -> QObject:
    home.browser.openTile(tile)
    qtbot.waitUntil(lambda: session_view(home) is not None, timeout=10_000)
    view = session_view(home)
    assert view is not None
    wait_title(qtbot, view, lambda t: t == expected_title)
    return view


def body_data(qtbot: QtBot, view: QObject, key: str) -> str:
    qtbot.waitUntil(lambda: evaluate(qtbot, view, f"document.body.dataset.{key} || ''") != "")
    return evaluate(qtbot, view, f"document.body.dataset.{key}")


def test_a_bundle_page_opens_from_its_tile_in_the_session_view(
    kiosk: HomeScreen, qtbot: QtBot
) -> None:
    with qtbot.waitSignal(kiosk.browser.sessionStarted) as started:
        view = open_page_tile(kiosk, qtbot, PAGE_TILE, "page-locale")
    assert started.args is not None
    assert started.args[1] == PAGE_TILE
    assert url_of(view) == "kiosk://content/pages/essai.html"
    assert kiosk.browser.browsing


def test_a_bundle_page_stores_nothing_and_sends_nothing(
    kiosk: HomeScreen, qtbot: QtBot, standin: Standin
) -> None:
    standin.log.clear()
    view = open_page_tile(kiosk, qtbot, PAGE_TILE, "page-locale")
    # An opaque origin: no storage, no cookie for the next resident to find.
    assert body_data(qtbot, view, "storage") == "refused"
    assert body_data(qtbot, view, "cookie") in ("refused", "0")
    # Its Content-Security-Policy lets no request leave the terminal.
    assert body_data(qtbot, view, "fetch") == "blocked"
    assert "/from-local-page" not in {path for _host, path in standin.log.requests}


def test_a_bundle_page_is_inside_the_lockdown(
    kiosk: HomeScreen, qtbot: QtBot, standin: Standin, page_bundle: Path
) -> None:
    seen: list[str] = []
    kiosk.browser.refused.connect(seen.append)
    view = open_page_tile(kiosk, qtbot, PAGE_TILE, "page-locale")
    run_script(view, "document.getElementById('out').click()")
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    assert "outside-allow-list" in seen
    assert OUTSIDE_HOST not in standin.log.hosts()
    kiosk.browser.load("kiosk://content/pages/essai.html")
    wait_title(qtbot, view, lambda t: t == "page-locale")
    # A file of the bundle outside the page names, or beside it, is not served.
    for address in ("kiosk://content/catalog.json", "kiosk://content/../../etc/passwd"):
        kiosk.browser.load(address)
        qtbot.waitUntil(lambda a=address: url_of(view) != a or not view.property("loading"))
        qtbot.waitUntil(lambda: not view.property("loading"), timeout=10_000)
        text = evaluate(qtbot, view, "document.documentElement.innerText")
        assert "root:" not in text
        assert '"tiles"' not in text
    assert bundle_file(page_bundle, "/catalog.json") is None
    assert bundle_file(page_bundle, "/../places.json") is None
    assert bundle_file(page_bundle, "/pages/essai.html") is not None


def test_the_keyboard_types_into_a_bundle_page_and_the_wipe_forgets_it(
    kiosk: HomeScreen, qtbot: QtBot
) -> None:
    view = open_page_tile(kiosk, qtbot, PAGE_TILE, "page-locale")
    focus_field(kiosk, qtbot, view, "#field")
    type_text(kiosk, "rue secrete")
    qtbot.waitUntil(
        lambda: evaluate(qtbot, view, "document.getElementById('field').value") == "rue secrete",
        timeout=5_000,
    )
    with qtbot.waitSignal(kiosk.browser.selfCheckDone, timeout=20_000) as checked:
        kiosk.browser.finishSession()
    assert checked.args is not None
    assert checked.args[0].ok, checked.args[0].checks_failed
    view = open_page_tile(kiosk, qtbot, PAGE_TILE, "page-locale")
    assert evaluate(qtbot, view, "document.getElementById('field').value") == ""
    assert evaluate(qtbot, view, "history.length") == "1"


def test_the_refused_page_leads_to_the_guide_and_the_numbers(
    kiosk: HomeScreen, qtbot: QtBot, standin: Standin
) -> None:
    view = open_page_tile(kiosk, qtbot, "standin", "standin-home")
    kiosk.browser.load(standin.url("/target", host=OUTSIDE_HOST))
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    assert evaluate(qtbot, view, "document.querySelectorAll('svg').length") != "0"
    run_script(view, "document.getElementById('help-guide').click()")
    wait_title(qtbot, view, lambda t: t == "De l'aide près d'ici")
    kiosk.browser.load(standin.url("/target", host=OUTSIDE_HOST))
    wait_title(qtbot, view, lambda t: t == REFUSED_TITLE)
    run_script(view, "document.getElementById('help-numbers').click()")
    wait_title(qtbot, view, lambda t: t == "Numéros utiles et d'urgence")


def test_help_pages_are_counted_and_only_counted(kiosk: HomeScreen, qtbot: QtBot) -> None:
    view = open_page_tile(kiosk, qtbot, "guide", "De l'aide près d'ici")
    kiosk.browser.load("kiosk://guide/?free=1")  # a filter: still the same opening
    qtbot.waitUntil(lambda: url_of(view).endswith("free=1"), timeout=10_000)
    wait_title(qtbot, view, lambda t: t == "De l'aide près d'ici")
    kiosk.browser.load("kiosk://guide/place?id=bdx-sesame")
    wait_title(qtbot, view, lambda t: t.startswith("Espace Sésame"))
    # A language switch reloads the page: the same page, not a new one.
    kiosk.prefs.setLanguage("en")
    # The reload may overwrite a probe's title mark: poll until the page answers in English.
    qtbot.waitUntil(
        lambda: (
            not view.property("loading")
            and evaluate(qtbot, view, "document.documentElement.lang") == "en"
        ),
        timeout=30_000,
    )
    kiosk.browser.load("kiosk://numbers/?show=114")
    wait_title(qtbot, view, lambda t: t == "Emergency by text message")
    kiosk.browser.load("kiosk://numbers/?show=15")
    wait_title(qtbot, view, lambda t: t == "SAMU")
    ended: list[HelpUsage] = []
    kiosk.browser.sessionEnded.connect(lambda *_args: ended.append(kiosk.browser.help_usage))
    with qtbot.waitSignal(kiosk.browser.sessionEnded, timeout=20_000):
        kiosk.browser.finishSession()
    assert ended == [HelpUsage(guide_opened=1, places_shown=1, numbers_shown=2)]
    # The next session starts from zero.
    open_page_tile(kiosk, qtbot, "numeros", "Numéros utiles et d'urgence")
    assert kiosk.browser.help_usage == HelpUsage()


def test_a_guide_that_cannot_be_read_is_shown_empty(
    qapp: QGuiApplication, qtbot: QtBot, page_bundle: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(page_bundle, broken)
    (broken / "places.json").write_text(json.dumps({"v": 1}), encoding="utf-8")
    home = HomeScreen(qapp, load_catalog(broken), broken, "fr")
    try:
        assert home.browser.pages.context.places is None
        home.show(windowed=True)
        view = open_page_tile(home, qtbot, "guide", "De l'aide près d'ici")
        assert evaluate(qtbot, view, "document.getElementById('empty') !== null") == "true"
    finally:
        close_home(home, qtbot)
    assert PlacesFile.model_validate_json((page_bundle / "places.json").read_bytes()).places


def test_the_tiles_of_the_shipped_bundle_open_the_guide_and_the_numbers(
    show_home: object, qtbot: QtBot
) -> None:
    home = show_home("ar")  # type: ignore[operator]
    view = open_page_tile(home, qtbot, "aide-pres-d-ici", "المساعدة بالقرب من هنا")
    assert evaluate(qtbot, view, "document.documentElement.dir") == "rtl"
    home.browser.openTile("numeros-utiles")
    wait_title(qtbot, view, lambda t: t == "أرقام مفيدة وأرقام الطوارئ")
    assert evaluate(qtbot, view, "document.querySelectorAll('ul.numbers li').length") == "10"
    assert Qt.LayoutDirection.RightToLeft  # the scene mirrors too (tests/ui/test_languages.py)
