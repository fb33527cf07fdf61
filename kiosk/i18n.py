"""Translation of everything a resident, technician or operator reads.

Source strings are written in English in the code and translated through gettext catalogs kept
as ``.po`` files beside each package (``<package>/locale/<lang>/LC_MESSAGES/<domain>.po``). French
is the default language. Catalogs are compiled in memory with Babel when first used, so there is
no generated binary file to forget to rebuild.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Final

DEFAULT_LANGUAGE: Final = "fr"
#: The language the source strings are written in: it needs no catalog.
SOURCE_LANGUAGE: Final = "en"


def catalog_path(locale_dir: Path, language: str, domain: str) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{domain}.po"


def available_languages(locale_dir: Path, domain: str) -> list[str]:
    """The languages with a catalog for ``domain``, plus the source language."""
    found = {p.parent.parent.name for p in locale_dir.glob(f"*/LC_MESSAGES/{domain}.po")}
    return sorted(found | {SOURCE_LANGUAGE})


@cache
def translations(locale_dir: Path, domain: str, language: str) -> gettext.NullTranslations:
    """The compiled catalog of ``domain`` in ``language`` (identity for the source language)."""
    path = catalog_path(locale_dir, language, domain)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    # Imported here: Babel and its locale data (some 2 MB, 15 ms) only for a process that
    # compiles a catalog with it (the agent and the kiosk's UI read theirs with kiosk.pofile).
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language, domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translator(locale_dir: Path, domain: str, language: str) -> Callable[[str], str]:
    """A ``_()`` function for ``domain`` in ``language``."""
    return translations(locale_dir, domain, language).gettext


def cli_language(argv: list[str], environ: dict[str, str] | None = None) -> str:
    """The language a command-line tool speaks: ``--lang X``, else ``$KIOSK_LANG``, else French.

    Read before the command's parser is built, because its help texts are translated.
    """
    for index, arg in enumerate(argv):
        if arg == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return (environ or {}).get("KIOSK_LANG") or DEFAULT_LANGUAGE
