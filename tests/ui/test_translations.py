"""One gettext catalog for Python ``_()`` and QML ``qsTr()``, complete in French."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kiosk.ui.i18n import DOMAIN, LOCALE_DIR, gettext_for, ui_languages
from kiosk.ui.translator import GettextTranslator

UI_DIR = Path(__file__).resolve().parents[2] / "kiosk" / "ui"
METHODS = [("**.py", "python"), ("qml/*.qml", "javascript")]
KEYWORDS = {"_": None, "qsTr": None}


def extracted_msgids() -> set[str]:
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        UI_DIR, METHODS, keywords=KEYWORDS, comment_tags=()
    ):
        assert isinstance(message, str), f"{_filename}:{_lineno}: use one literal string"
        found.add(message)
    return found


def test_qml_and_python_strings_are_extracted() -> None:
    msgids = extracted_msgids()
    assert "Hello!" in msgids  # from Main.qml
    assert "Show this help and exit." in msgids  # from main.py


def test_every_ui_string_has_a_french_translation() -> None:
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po_file:
        catalog = read_po(po_file, locale="fr", domain=DOMAIN)
    missing = []
    for msgid in sorted(extracted_msgids()):
        message = catalog.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(msgid)
    assert not missing, f"untranslated in kiosk.po: {missing}"


def test_ui_languages_include_french_and_english() -> None:
    assert {"fr", "en"} <= set(ui_languages())


def test_python_strings_use_the_same_catalog() -> None:
    assert gettext_for("fr")("Public services") == "Services publics"
    assert gettext_for("en")("Public services") == "Public services"


@pytest.mark.parametrize(
    ("language", "source", "expected"),
    [
        ("fr", "Touch a service to start.", "Touchez un service pour commencer."),
        ("fr", "A string nobody translated", None),
        ("en", "Touch a service to start.", None),
    ],
)
def test_qt_translator_answers_from_gettext(
    language: str, source: str, expected: str | None
) -> None:
    translator = GettextTranslator(language)
    assert translator.translate("Main", source) == expected
    assert translator.language() == language
    assert not translator.isEmpty()
