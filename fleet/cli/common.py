"""What every ``fleet`` sub-command shares: its language, exit codes, console, database.

Kept apart from :mod:`fleet.cli` so that the sub-command modules (``terminals``, ``enrolment``)
build on it without importing the command that registers them. Refusals go through
:func:`kiosk.cli.die`, in the style the four programs share (:mod:`kiosk.cli`).
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fleet.core.config import FleetSettings, load_settings
from fleet.core.db import make_engine, upgrade_database
from fleet.i18n import gettext_for, supported_or
from kiosk.cli import EXIT_REFUSED, EXIT_USAGE, die
from kiosk.cli.typer_app import App

# The CLI speaks the fleet's default language; help texts are built when the module loads.
LANGUAGE: Final = supported_or(os.environ.get("FLEET_DEFAULT_LANGUAGE"), "fr")
_ = gettext_for(LANGUAGE)

#: Exit code when the terminal is unknown (nothing was changed); with kiosk.cli's EXIT_REFUSED
#: (1: refused, nothing changed), EXIT_USAGE (2: fix the command line or the settings) and
#: EXIT_BUG (70: unexpected error, details in the file named).
EXIT_UNKNOWN_TERMINAL: Final = 3

out = Console(highlight=False)

__all__ = ["EXIT_REFUSED", "EXIT_UNKNOWN_TERMINAL", "EXIT_USAGE", "App", "die", "fleet_app"]


def fleet_app(help: str) -> App:
    """A ``fleet`` command group, in the fleet's language (its texts are translated already).

    It has a callback of its own, so that a group with one command (``fleet terminals
    locate``) stays a group; a group with options of its own declares its callback instead."""
    group = App(language=LANGUAGE, help=help, no_args_is_help=True)
    group.callback()(_group)
    return group


def _group() -> None:
    """The callback of a group without options of its own."""


@dataclass(frozen=True)
class CliContext:
    config_file: Path | None

    def settings(self) -> FleetSettings:
        try:
            return load_settings(self.config_file)
        except FileNotFoundError:
            die(
                _("cannot read the settings file %(path)s.") % {"path": self.config_file},
                code=EXIT_USAGE,
            )
        except tomllib.TOMLDecodeError as error:
            die(
                _("the settings file %(path)s is not valid TOML: %(error)s")
                % {"path": self.config_file, "error": error},
                code=EXIT_USAGE,
            )
        except ValidationError as error:
            die(
                _("invalid settings: %(error)s") % {"error": error},
                hint=_("Keys are those of the FLEET_* variables, in lowercase."),
                code=EXIT_USAGE,
            )


def context_of(ctx: typer.Context) -> CliContext:
    """The parent command's options, or the environment's settings when run on its own."""
    found = ctx.find_object(CliContext)
    return found if found is not None else CliContext(None)


@contextlib.contextmanager
def database(settings: FleetSettings) -> Iterator[Engine]:
    """An engine on the configured database, migrated to the latest schema."""
    try:
        engine = make_engine(settings.database_url)
    except (SQLAlchemyError, OSError) as error:
        die(_("cannot open the database: %(error)s") % {"error": error})
    try:
        upgrade_database(engine)
        yield engine
    except SQLAlchemyError as error:
        die(
            _("database error: %(error)s") % {"error": error},
            hint=_("Check database_url (FLEET_DATABASE_URL) and that the database answers."),
        )
    finally:
        engine.dispose()
