"""Typer's own words (help panels, defaults, errors) in the tools' language: kiosk/cli_words.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from kiosk import cli_words
from kiosk.i18n import catalog_path

TYPER_DIR = Path(typer.__file__).parent
BIN = Path(sys.executable).parent


def typer_msgids() -> set[str]:
    """Every text the installed Typer passes through gettext (what pybabel extract finds)."""
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(TYPER_DIR)):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_word_typer_marks_is_translated_in_french() -> None:
    path = catalog_path(cli_words.LOCALE_DIR, "fr", cli_words.DOMAIN)
    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale="fr")
    translated = {m.id for m in catalog if m.id and m.string}
    ids = typer_msgids()
    assert "Commands" in ids  # the extraction itself works
    assert sorted(ids - translated) == []


def test_the_constants_typer_computes_at_import_are_all_known() -> None:
    """A constant Typer adds (``X = _("...")`` in rich_utils) would otherwise stay English."""
    source = (TYPER_DIR / "rich_utils.py").read_text()
    constants = dict(re.findall(r'^([A-Z_]+) = _\("(.*)"\)$', source, flags=re.MULTILINE))
    assert constants == cli_words.TYPER_CONSTANTS


def run(*argv: str) -> str:
    env = {**os.environ, "TERMINAL_WIDTH": "200", "NO_COLOR": "1"}
    env.pop("KIOSK_LANG", None)
    env.pop("FLEET_DEFAULT_LANGUAGE", None)
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], capture_output=True, text=True, env=env, timeout=60
    )
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    ("argv", "expected", "english"),
    [
        (
            ("kiosk-provision", "enroll", "--fleet", "https://parc.example"),
            ["Erreur", "Essayez « kiosk-provision enroll --help » pour l’aide."],
            "Try ",
        ),
        (("kiosk-provision", "--help"), ["Commandes", "[par défaut : fr]"], "Commands"),
        (("kiosk-provision", "enroll", "--help"), ["[obligatoire]"], "[required]"),
        (("fleet", "db", "--help"), ["Commandes"], "Commands"),
        (("fleet", "nope"), ["Erreur", "Commande inconnue : 'nope'."], "No such command"),
    ],
)
def test_typer_speaks_french_by_default(
    argv: tuple[str, ...], expected: list[str], english: str
) -> None:
    shown = run(*argv)
    for text in expected:
        assert text in shown, shown
    assert english not in shown


def test_and_english_when_asked() -> None:
    shown = run("kiosk-provision", "--lang", "en", "enroll", "--fleet", "https://parc.example")
    assert "Try 'kiosk-provision enroll --help' for help." in shown
    assert "Erreur" not in shown
