"""The terminal's fonts draw every character the kiosk shows: no missing-glyph box anywhere.

What the kiosk shows: every translation of its own strings (``kiosk/ui/locale``, and English,
the source), every label and description of the shipped catalog in every language, each
language's name, greeting and invitation, the literal strings of its QML, and the text of the
pages it draws itself (refusal, offline, the help-places guide and a place's page, the useful
numbers and each number full screen), which also holds what no catalog translates: the shipped
places' data, day names, times and distances formatted for the locale. Its pictograms are SVG
drawings (``icons.js``, ``pagestyle.py``, the bundle's ``.svg``), never characters. The fonts
are those the kiosk names (Noto Sans, and Noto Sans Arabic for Arabic), which Debian's
``fonts-noto-core`` ships: the Makefile installs it for development and tests, the image recipe
for the terminal.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.contract.places import PlacesFile, load_places
from kiosk.ui.browser.nearby import LANGUAGE_LABELS, NEED_LABELS, SUPPORT_LABELS
from kiosk.ui.browser.numbers import NUMBERS
from kiosk.ui.browser.pages import REFUSAL_REASONS, PageContext, render_page
from kiosk.ui.i18n import LOCALE_DIR, RESIDENT_LANGUAGES, gettext_for
from kiosk.ui.qt import QFont, QGuiApplication, QRawFont

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]
QML_DIR = ROOT / "kiosk" / "ui" / "qml"
FONT_PACKAGE = "fonts-noto-core"
LATIN, ARABIC = "Noto Sans", "Noto Sans Arabic"


def _makefile_packages() -> list[str]:
    """``APT_PACKAGES`` as make itself expands it (the Makefile joins one list per group)."""
    expanded = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "-C",
            str(ROOT),
            "--eval",
            "print-apt-packages: ; @echo $(APT_PACKAGES)",
            "print-apt-packages",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return expanded.stdout.split()


def _mkosi_packages(text: str) -> list[str]:
    """The indented names under ``Packages=`` (comments left out)."""
    words: list[str] = []
    for line in text[text.index("Packages=") :].splitlines()[1:]:
        if line.strip() and not line.startswith((" ", "\t")):
            break
        words += line.split("#")[0].split()
    return words


def test_the_makefile_and_the_image_install_the_fonts() -> None:
    assert FONT_PACKAGE in _makefile_packages()
    image = (ROOT / "images" / "mkosi.conf").read_text(encoding="utf-8")
    assert FONT_PACKAGE in _mkosi_packages(image)


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig's fc-match is missing")
@pytest.mark.parametrize("family", [LATIN, ARABIC])
@pytest.mark.parametrize("style", ["regular", "bold"])
def test_the_kiosk_fonts_come_from_that_package(family: str, style: str) -> None:
    found = subprocess.run(
        ["fc-match", "-f", "%{family}\n%{file}", f"{family}:{style}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert found[0].split(",")[0] == family, f"{family} is not installed: {found}"
    owner = subprocess.run(["dpkg", "-S", found[1]], capture_output=True, text=True)
    assert owner.returncode == 0, f"{found[1]} belongs to no Debian package"
    assert owner.stdout.split(":")[0] == FONT_PACKAGE


def _shown_strings() -> Iterator[tuple[str, str]]:
    """(language, text) for every string the kiosk can put on screen."""
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/kiosk.po")):
        language = po_path.parts[-3]
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            yield from (("en", text) for text in ids)
            yield from ((language, text) for text in strings if text)
    catalog_ = load_catalog(default_bundle_dir())
    for group in catalog_.groups:
        for texts in (group.label, group.description or {}):
            yield from texts.items()
    for tile in catalog_.tiles:
        for texts in (tile.label, tile.description or {}):
            yield from texts.items()
    for lang in RESIDENT_LANGUAGES:
        for text in (lang.name, lang.greeting, lang.invitation):
            yield lang.code, text
    for qml in QML_DIR.glob("*.qml"):
        for literal in re.findall(r'text: "([^"]*)"', qml.read_text(encoding="utf-8")):
            yield "en", literal
    for lang in RESIDENT_LANGUAGES:
        for page in _kiosk_pages(lang.code):
            yield from ((lang.code, text) for text in _page_text(page))


class _TextOf(HTMLParser):
    """The text a page puts on screen: its text nodes and the attributes a reader is given,
    outside styles, scripts and SVG drawings."""

    HIDDEN = frozenset({"style", "script", "svg"})

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        self.texts += [value for name, value in attrs if name in ("alt", "aria-label") and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.texts.append(data)


def _page_text(page: str) -> list[str]:
    parser = _TextOf()
    parser.feed(page)
    parser.close()
    return parser.texts


def _kiosk_pages(language: str) -> Iterator[str]:
    """Every page the kiosk draws, in ``language``: the friendly pages, each number, the
    guide with each filter, and each place's page, for the shipped places and for a copy of
    them located and with opening hours (so distances, directions, day names and times show)."""
    shipped = load_places(default_bundle_dir())
    assert shipped is not None
    assert shipped.places
    located = PlacesFile.model_validate(
        shipped.model_dump()
        | {
            "places": [
                place.model_dump()
                | {"latitude": 44.83, "longitude": -0.56, "horaires": "Mo-Sa 09:00-12:00"}
                for place in shipped.places
            ]
        }
    )
    # Wednesday 2026-12-02 at 10:30 and 13:30 in Paris: open until, and closed until tomorrow.
    for hour in (9, 12):
        for places in (shipped, located, None):
            context = PageContext(
                gettext_for(language),
                language,
                places=places,
                position=(44.8378, -0.5792),
                now=lambda hour=hour: datetime(2026, 12, 2, hour, 30, tzinfo=UTC),
            )
            pages = [("refused", "/", {"why": why}) for why in (*REFUSAL_REASONS, "")]
            pages += [("offline", "/", {}), ("numbers", "/", {})]
            pages += [("numbers", "/", {"show": number.digits}) for number in NUMBERS]
            queries: list[dict[str, str]] = [{}, {"free": "1"}, {"open": "1"}]
            for key, labels in (
                ("need", NEED_LABELS),
                ("support", SUPPORT_LABELS),
                ("lang", LANGUAGE_LABELS),
            ):
                queries += [{key: str(index)} for index in range(len(labels))]
            pages += [("guide", "/", query) for query in queries]
            if places is not None:
                pages += [("guide", "/place", {"id": p.id}) for p in places.places]
            for host, path, query in pages:
                page = render_page(host, path, query, context)
                assert page is not None, (host, path, query)
                yield page


def _drawn(character: str) -> bool:
    return not (character.isspace() or unicodedata.category(character) in ("Cc", "Cf"))


def test_every_character_shown_has_a_glyph(qapp: QGuiApplication) -> None:
    fonts = {
        (family, bold): QRawFont.fromFont(font)
        for family in (LATIN, ARABIC)
        for bold in (False, True)
        for font in [QFont(family, weight=QFont.Weight.Bold if bold else QFont.Weight.Normal)]
    }
    for (family, _bold), raw in fonts.items():
        assert raw.isValid(), f"{family} not found by Qt"
        assert raw.familyName() == family, f"{family} not found by Qt"
    missing: dict[str, set[str]] = {}
    count = 0
    for language, text in _shown_strings():
        # Arabic is drawn in Noto Sans Arabic; what it lacks (Latin names such as "CAF") falls
        # back on Noto Sans, as Qt does.
        families = (ARABIC, LATIN) if language == "ar" else (LATIN,)
        for character in filter(_drawn, text):
            count += 1
            for bold in (False, True):
                # The code point (an int): PySide takes a str for a 16-bit QChar and gets it wrong.
                code = ord(character)
                if not any(fonts[(f, bold)].supportsCharacter(code) for f in families):
                    missing.setdefault(f"U+{ord(character):04X} {character!r}", set()).add(language)
    assert count > 10_000, "too few characters collected: is the scan still reading the UI?"
    assert not missing, f"characters without a glyph: {missing}"


def test_the_check_finds_a_character_the_fonts_lack(qapp: QGuiApplication) -> None:
    # The offline page showed a box: an emoji, which no installed font draws.
    raw = QRawFont.fromFont(QFont(LATIN))
    assert not raw.supportsCharacter(0x1F4F6)  # 📶, the offline page's old icon
    assert not raw.supportsCharacter(0x26D4)  # ⛔, the refusal page's
    assert raw.supportsCharacter(ord("é"))
    assert raw.supportsCharacter(ord("ї"))
