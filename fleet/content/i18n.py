"""The ``content`` gettext domain: catalogs under ``fleet/content/locale``, French by default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from kiosk.i18n import translator

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "content"


def gettext_for(language: str = "fr") -> Callable[[str], str]:
    """A ``_()`` function for ``language`` (English, the source, when there is no catalog)."""
    return translator(LOCALE_DIR, DOMAIN, language)
