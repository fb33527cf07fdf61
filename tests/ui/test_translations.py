"""One gettext catalog for Python ``_()`` and QML ``qsTr()``, complete in French."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kiosk.i18n import catalog_path, translations
from kiosk.pofile import po_translations, read_entries
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
    assert "Show the version." in msgids  # from main.py (the shared help words: kiosk.cli)


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


@pytest.mark.parametrize("language", [lang for lang in ui_languages() if lang != "en"])
def test_the_start_up_reader_translates_as_babel(language: str) -> None:
    # kiosk.pofile compiles the catalogs without Babel (the kiosk's start): same answers.
    path = catalog_path(LOCALE_DIR, language, DOMAIN)
    plain, babel = po_translations(path), translations(LOCALE_DIR, DOMAIN, language)
    entries = read_entries(path.read_text(encoding="utf-8"))
    assert len(entries) > 100
    with path.open("rb") as po_file:
        assert len(entries) - 1 == len(read_po(po_file, locale=language))
    for entry in entries[1:]:
        assert entry.msgid is not None
        if entry.plural is None:
            assert plain.gettext(entry.msgid) == babel.gettext(entry.msgid), entry.msgid
            continue
        for n in range(30):
            assert plain.ngettext(entry.msgid, entry.plural, n) == babel.ngettext(
                entry.msgid, entry.plural, n
            ), (entry.msgid, n)


def test_the_start_up_reader_leaves_out_what_babel_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.po"
    path.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n"Plural-Forms: nplurals=2; plural=(n > 1);\\n"\n'
        '"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Fuzzy"\nmsgstr "Floue"\n\n'
        'msgid "Untranslated"\nmsgstr ""\n\n'
        'msgid "Two\\n"\n"lines \\"quoted\\""\nmsgstr ""\n"Deux\\n"\n"lignes « citées »"\n\n'
        'msgid "one file"\nmsgid_plural "%d files"\nmsgstr[0] "un fichier"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    plain = po_translations(path)
    assert plain.gettext("Fuzzy") == "Fuzzy"
    assert plain.gettext("Untranslated") == "Untranslated"
    assert plain.gettext('Two\nlines "quoted"') == "Deux\nlignes « citées »"
    assert plain.ngettext("one file", "%d files", 0) == "un fichier"
    assert plain.ngettext("one file", "%d files", 2) == "%d files"
