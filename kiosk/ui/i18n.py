"""The UI's gettext catalog (domain ``kiosk``), shared by Python ``_()`` and QML ``qsTr()``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from kiosk.i18n import DEFAULT_LANGUAGE, available_languages, translator

LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
DOMAIN: Final = "kiosk"


def gettext_for(language: str = DEFAULT_LANGUAGE) -> Callable[[str], str]:
    """A ``_()`` for the UI's strings in ``language``."""
    return translator(LOCALE_DIR, DOMAIN, language)


def ui_languages() -> list[str]:
    """The languages the UI can be shown in."""
    return available_languages(LOCALE_DIR, DOMAIN)
