"""The fleet's translations: catalogs under ``fleet/locale``, French by default."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path
from typing import Final

from kiosk.i18n import translations

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "fleet"
#: The languages the dashboard offers; English is the source language.
SUPPORTED_LANGUAGES: Final = ("fr", "en")


def fleet_translations(language: str) -> gettext.NullTranslations:
    return translations(LOCALE_DIR, DOMAIN, language)


def gettext_for(language: str) -> Callable[[str], str]:
    """A ``_()`` function for ``language``."""
    return fleet_translations(language).gettext


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is shown: stored or raised in English, put in
    the reader's language by the page (the catalog has it: the extraction knows ``N_``)."""
    return message


def supported_or(language: str | None, fallback: str) -> str:
    """``language`` if the fleet speaks it, else ``fallback``."""
    return language if language in SUPPORTED_LANGUAGES else fallback


class Words:
    """Everything that puts a text in one language: ``gettext``, ``ngettext`` (plurals) and the
    Babel locale for numbers, dates and durations."""

    def __init__(self, language: str) -> None:
        self.language = language
        translations = fleet_translations(language)
        self.gettext: Callable[[str], str] = translations.gettext
        self.ngettext: Callable[[str, str, int], str] = translations.ngettext

    @property
    def locale(self) -> str:
        return self.language
