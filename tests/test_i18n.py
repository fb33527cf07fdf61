"""Every string a person reads goes through translation, and French misses none of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

from kiosk.i18n import cli_language, translator

ROOT = Path(__file__).parent.parent
PACKAGES = ("kiosk", "fleet", "provisioning")
# How each kind of source file is searched for translatable strings.
EXTRACTORS = {
    ".py": ("python", {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}, {}),
    ".html": ("jinja2.ext:babel_extract", {"_": None, "gettext": None}, {}),
    ".qml": ("javascript", {"qsTr": None}, {}),
}


def locale_dirs() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("locale") if p.is_dir())


def owner_of(source: Path) -> Path | None:
    """The locale dir whose package holds ``source`` (the nearest one above it)."""
    for parent in source.parents:
        if (parent / "locale").is_dir():
            return parent / "locale"
        if parent == ROOT:
            break
    return None


def extracted(source: Path) -> Iterator[str]:
    method, keywords, options = EXTRACTORS[source.suffix]
    with source.open("rb") as handle:
        for _lineno, message, _comments, _context in extract(
            method, handle, keywords=keywords, options=options
        ):
            yield message[0] if isinstance(message, tuple) else message


def sources() -> list[Path]:
    return sorted(
        p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*")
        if p.suffix in EXTRACTORS and "locale" not in p.parts
    )


def test_there_is_something_to_translate() -> None:
    assert locale_dirs(), "no locale directory found"
    assert any(True for s in sources() for _ in extracted(s))


@pytest.mark.parametrize("source", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_string_has_a_french_translation(source: Path) -> None:
    messages = set(extracted(source))
    if not messages:
        return
    locale = owner_of(source)
    assert locale is not None, f"{source} has translatable strings but no locale/ above it"
    catalogs = list(locale.glob("*/LC_MESSAGES/*.po"))
    assert any(p.parts[-3] == "fr" for p in catalogs), f"no French catalog in {locale}"
    for po_path in catalogs:
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        missing = sorted(
            m for m in messages if m not in catalog or not catalog[m].string or catalog[m].fuzzy
        )
        assert not missing, f"{po_path.relative_to(ROOT)} lacks translations for: {missing}"


def test_translator_falls_back_to_source_and_speaks_french_by_default() -> None:
    locale = ROOT / "provisioning" / "locale"
    french = translator(locale, "provisioning", "fr")
    assert french("Print the version of the terminal software.").startswith("Affiche")
    assert translator(locale, "provisioning", "en")("Anything") == "Anything"
    assert translator(locale, "provisioning", "xx")("Anything") == "Anything"


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ([], {}, "fr"),
        (["--lang", "en", "check"], {}, "en"),
        (["--lang=uk"], {"KIOSK_LANG": "en"}, "uk"),
        (["status"], {"KIOSK_LANG": "ar"}, "ar"),
    ],
)
def test_cli_language(argv: list[str], env: dict[str, str], expected: str) -> None:
    assert cli_language(argv, env) == expected
