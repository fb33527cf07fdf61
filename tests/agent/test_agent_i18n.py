"""The agent's catalog, compiled without Babel (kiosk.pofile), gives what Babel gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.agent.i18n import DOMAIN, LOCALE_DIR, gettext_for, languages
from kiosk.i18n import SOURCE_LANGUAGE, catalog_path, translations
from kiosk.pofile import po_translations


@pytest.mark.parametrize("language", [lang for lang in languages() if lang != SOURCE_LANGUAGE])
def test_every_entry_reads_as_babel_compiles_it(language: str) -> None:
    path = catalog_path(LOCALE_DIR, language, DOMAIN)
    babel = translations(LOCALE_DIR, DOMAIN, language)
    # Compiled by kiosk.pofile itself, not by the fallback to Babel.
    plain = po_translations(path)
    _ = gettext_for(language)
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    translated = [m for m in catalog if m.id and m.string and not m.fuzzy]
    assert translated, "an empty catalog"
    for message in catalog:
        if not message.id or isinstance(message.id, tuple):
            continue
        assert plain.gettext(message.id) == babel.gettext(message.id) == _(message.id)


def test_fuzzy_and_multiline_entries(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#, fuzzy\nmsgid "Maybe"\nmsgstr "Peut-être"\n\n'
        'msgid ""\n"Two "\n"lines \\"quoted\\"\\n"\nmsgstr "Deux "\n"lignes"\n\n'
        'msgid "Untranslated"\nmsgstr ""\n',
        encoding="utf-8",
    )
    compiled = po_translations(po)
    assert compiled.gettext('Two lines "quoted"\n') == "Deux lignes"
    assert compiled.gettext("Maybe") == "Maybe"
    assert compiled.gettext("Untranslated") == "Untranslated"
