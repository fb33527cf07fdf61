"""The UI's gettext catalog (domain ``kiosk``), shared by Python ``_()`` and QML ``qsTr()``."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.i18n import (
    DEFAULT_LANGUAGE,
    available_languages,
)
from kiosk.pofile import catalog_translations

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "kiosk"


def ui_translations(language: str) -> gettext.NullTranslations:
    """The UI's compiled catalog in ``language`` (identity for the source language), compiled
    by :mod:`kiosk.pofile` as Babel would and without it (the kiosk's start)."""
    return catalog_translations(LOCALE_DIR, DOMAIN, language)


def gettext_for(language: str = DEFAULT_LANGUAGE) -> Callable[[str], str]:
    """A ``_()`` for the UI's strings in ``language``."""
    return ui_translations(language).gettext


def N_(text: str) -> str:
    """Mark ``text`` for the catalogs where it is written; it is translated where it is shown."""
    return text


def ui_languages() -> list[str]:
    """The languages the UI can be shown in."""
    return available_languages(LOCALE_DIR, DOMAIN)


@dataclass(frozen=True, slots=True)
class Language:
    """A language the resident can choose, named and greeting in itself (not translated)."""

    code: str
    #: The language's own name, as its speakers look for it ("العربية", not "Arabic").
    name: str
    greeting: str
    #: The attract screen's invitation, in the language itself.
    invitation: str
    right_to_left: bool = False


#: The resident's choices, French first (the default of every session).
RESIDENT_LANGUAGES: Final = (
    Language("fr", "Français", "Bonjour\u202f!", "Touchez l'écran pour commencer"),
    Language("en", "English", "Hello!", "Touch the screen to start"),
    Language("es", "Español", "¡Hola!", "Toque la pantalla para empezar"),
    Language("pt", "Português", "Olá!", "Toque no ecrã para começar"),
    Language("ar", "العربية", "مرحبًا!", "المس الشاشة للبدء", right_to_left=True),
    Language("uk", "Українська", "Вітаємо!", "Торкніться екрана, щоб почати"),
)


def resident_language(code: str) -> Language:
    """The :class:`Language` of ``code``; ``KeyError`` if the kiosk does not offer it."""
    for language in RESIDENT_LANGUAGES:
        if language.code == code:
            return language
    raise KeyError(code)
