"""Every string the fleet shows has a French translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

FLEET_DIR = Path(__file__).resolve().parents[2] / "fleet"
CATALOG = FLEET_DIR / "locale" / "fr" / "LC_MESSAGES" / "fleet.po"


def test_every_fleet_msgid_has_a_french_translation() -> None:
    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(FLEET_DIR),
            [("**.py", "python"), ("templates/**.html", "jinja2")],
            {"templates/**.html": {"extensions": "jinja2.ext.i18n"}},
            keywords={"_": None},
        )
    }
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="fr")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}

    assert extracted, "nothing extracted: is the extractor configured?"
    assert sorted(extracted - translated) == []
