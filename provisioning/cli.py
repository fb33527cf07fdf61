"""``kiosk-provision``: the field technician's tool to bring a unit into the fleet.

The checks, the enrolment with a one-time code, the label and the decommissioning come with the
provisioning issue; this entry point exists now so that the command, its language and its help
are in place.
"""

# No `from __future__ import annotations`: Typer reads the translated help inside the
# annotations of commands defined in build_app(), which must be evaluated there.

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from kiosk import __version__
from kiosk.i18n import cli_language, translator

LOCALE_DIR = Path(__file__).parent / "locale"


def build_app(language: str) -> typer.Typer:
    """The Typer application, with every text in ``language``."""
    _ = translator(LOCALE_DIR, "provisioning", language)
    app = typer.Typer(
        help=_(
            "Technician's tool for a street terminal: check the unit, enrol it in the fleet "
            "with a one-time code, print its label, take it out of service. "
            "Only 'version' works in this release: check, enroll, status, label and "
            "decommission come with the next one."
        ),
        no_args_is_help=True,
        add_completion=False,
    )

    @app.callback()
    def options(
        lang: Annotated[
            str,
            typer.Option("--lang", help=_("Language of messages (fr, en).")),
        ] = language,
    ) -> None:
        """Options shared by every command."""

    @app.command(help=_("Print the version of the terminal software."))
    def version() -> None:
        typer.echo(_("Terminal software version {version}").format(version=__version__))

    return app


def main() -> None:
    build_app(cli_language(sys.argv[1:], dict(os.environ)))()
