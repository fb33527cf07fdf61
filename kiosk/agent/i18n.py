"""The agent's gettext domain: ``_()`` functions for its CLI and error messages.

The agent's catalog is compiled by :mod:`kiosk.pofile` rather than with Babel (:mod:`kiosk.i18n`):
Babel brings its locale data, ``decimal``, ``pickle`` and ``zoneinfo``, about 2 MB that would
stay resident for months to translate some forty messages at start-up.
``tests/agent/test_agent_i18n.py`` checks that both give the same translations.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final, TypeAlias

from kiosk.i18n import DEFAULT_LANGUAGE, available_languages
from kiosk.pofile import catalog_translations

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "agent"

#: A ``_()`` function: English source text in, text in the chosen language out.
Translate: TypeAlias = Callable[[str], str]


def gettext_for(language: str = DEFAULT_LANGUAGE) -> Translate:
    """The ``_()`` of the agent in ``language`` (English when there is no catalog for it)."""
    return catalog_translations(LOCALE_DIR, DOMAIN, language).gettext


def languages() -> list[str]:
    """The languages the agent speaks."""
    return available_languages(LOCALE_DIR, DOMAIN)


def untranslated(message: str) -> str:
    """A ``_()`` that keeps the English source text (for code paths with no user language)."""
    return message
