"""The agent's own catalog reader gives what Babel gives, entry by entry, in every language."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.agent.i18n import DOMAIN, LOCALE_DIR, NotPlain, gettext_for, languages, read_plain_po
from kiosk.i18n import SOURCE_LANGUAGE, catalog_path, translations


@pytest.mark.parametrize("language", [lang for lang in languages() if lang != SOURCE_LANGUAGE])
def test_every_entry_reads_as_babel_compiles_it(language: str) -> None:
    path = catalog_path(LOCALE_DIR, language, DOMAIN)
    plain = read_plain_po(path)
    babel = translations(LOCALE_DIR, DOMAIN, language)
    assert plain, "an empty catalog"
    _ = gettext_for(language)
    for msgid, msgstr in plain.items():
        assert babel.gettext(msgid) == msgstr
        assert _(msgid) == msgstr
    # Nothing Babel translates is missing here.
    from babel.messages.pofile import read_po

    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=DOMAIN)
    compiled = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    assert compiled == plain


def test_fuzzy_obsolete_and_multiline_entries(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n'
        '#, fuzzy\nmsgid "Maybe"\nmsgstr "Peut-être"\n\n'
        '#~ msgid "Old"\n#~ msgstr "Vieux"\n\n'
        'msgid ""\n"Two "\n"lines \\"quoted\\"\\n"\nmsgstr "Deux "\n"lignes"\n\n'
        'msgid "Untranslated"\nmsgstr ""\n',
        encoding="utf-8",
    )
    assert read_plain_po(po) == {'Two lines "quoted"\n': "Deux lignes"}


@pytest.mark.parametrize(
    "entry",
    [
        'msgid "One"\nmsgid_plural "Many"\nmsgstr[0] "Un"\n',
        'msgctxt "menu"\nmsgid "Open"\nmsgstr "Ouvrir"\n',
        'msgid "Bell"\nmsgstr "\\a"\n',
    ],
)
def test_what_is_not_plain_is_left_to_babel(tmp_path: Path, entry: str) -> None:
    po = tmp_path / "x.po"
    po.write_text(entry, encoding="utf-8")
    with pytest.raises(NotPlain):
        read_plain_po(po)
