"""The words Typer prints itself, in the command-line tool's language.

``kiosk-provision`` and ``fleet`` translate their own texts, but the help's panel titles
("Options", "Commands"), "[default: ...]", "[required]", the "Error" panel and its "Try ... for
help." come from Typer, which marks them for gettext and looks them up through the ``_`` its
modules imported from :mod:`gettext` (a few once, at import). :func:`speak` points those at this
package's ``cli`` catalog (``kiosk/locale/<lang>/LC_MESSAGES/cli.po``), so a technician in a
hurry reads them in French.

Typer's own copy of Click (``typer._click``) writes "Usage:", "Show this message and exit."
and the body of a usage error ("Missing option '--code'.") without gettext: those stay English.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Final

from kiosk.i18n import translations

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "cli"

#: Typer's modules that hold a gettext ``_`` of their own.
MODULES: Final = ("typer.core", "typer.rich_utils")

#: Typer's texts computed once at import (name in typer.rich_utils → source text).
TYPER_CONSTANTS: Final = {
    "DEPRECATED_STRING": "(deprecated) ",
    "DEFAULT_STRING": "[default: {}]",
    "ENVVAR_STRING": "[env var: {}]",
    "REQUIRED_LONG_STRING": "[required]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}


def speak(language: str) -> None:
    """Make Typer print its own words in ``language`` (English where there is no catalog).

    Process-wide, like the tools' own language: call it before the tool parses its arguments.
    """
    catalog = translations(LOCALE_DIR, DOMAIN, language)
    for name in MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "_"):
            module._ = catalog.gettext  # type: ignore[attr-defined]
    rich_utils = importlib.import_module("typer.rich_utils")
    for constant, text in TYPER_CONSTANTS.items():
        if hasattr(rich_utils, constant):
            setattr(rich_utils, constant, catalog.gettext(text))
