"""The agent's gettext domain: ``_()`` functions for its CLI and error messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeAlias

from kiosk.i18n import DEFAULT_LANGUAGE, available_languages, translator

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "agent"

#: A ``_()`` function: English source text in, text in the chosen language out.
Translate: TypeAlias = Callable[[str], str]


def gettext_for(language: str = DEFAULT_LANGUAGE) -> Translate:
    """The ``_()`` of the agent in ``language`` (English when there is no catalog for it)."""
    return translator(LOCALE_DIR, DOMAIN, language)


def languages() -> list[str]:
    """The languages the agent speaks."""
    return available_languages(LOCALE_DIR, DOMAIN)


def untranslated(message: str) -> str:
    """A ``_()`` that keeps the English source text (for code paths with no user language)."""
    return message
