"""The ``fleet`` command: serve the dashboard and ingest, migrate the database, create users."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from fleet import audit, crud
from fleet.core.config import FleetSettings, load_settings
from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.core.security import MIN_PASSWORD_LENGTH
from fleet.i18n import gettext_for, supported_or

logger = logging.getLogger("fleet")

# The CLI speaks the fleet's default language; help texts are built when the module loads.
_ = gettext_for(supported_or(os.environ.get("FLEET_DEFAULT_LANGUAGE"), "fr"))

USERNAME_PATTERN: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")
EXIT_REFUSED: Final = 1
EXIT_USAGE: Final = 2
SHUTDOWN_GRACE_S: Final = 5

app = typer.Typer(
    help=_("Fleet service of the street terminals: dashboard, API and MQTT ingest."),
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help=_("Manage the fleet database."), no_args_is_help=True)
app.add_typer(db_app, name="db")

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def die(message: str, hint: str | None = None, code: int = EXIT_REFUSED) -> NoReturn:
    """Say what went wrong (and what to do), then exit with ``code``."""
    err.print(Text(_("Error: %(message)s") % {"message": message}, style="bold red"))
    if hint:
        err.print(Text(hint))
    raise typer.Exit(code)


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


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help=_("TOML settings file (the FLEET_* variable names, lowercase, without FLEET_)."),
        ),
    ] = None,
) -> None:
    ctx.obj = CliContext(config)


@app.command(help=_("Migrate the database, then serve the dashboard and run the MQTT ingest."))
def serve(
    ctx: typer.Context,
    no_ingest: Annotated[
        bool,
        typer.Option(
            "--no-ingest",
            help=_("Serve the web alone; the ingest runs as its own process (fleet ingest)."),
        ),
    ] = False,
) -> None:
    import uvicorn

    from fleet.main import create_app

    settings = ctx.ensure_object(CliContext).settings()
    with database(settings):
        pass
    try:
        web_app = create_app(settings, start_ingest=settings.ingest_in_web and not no_ingest)
    except OSError as error:
        die(
            _("cannot prepare the session key: %(error)s") % {"error": error},
            hint=_("Set secret_key_file (FLEET_SECRET_KEY_FILE) to a writable place."),
        )
    logger.info(
        _("Dashboard: http://%(host)s:%(port)d/"),
        {"host": settings.http_host, "port": settings.http_port},
    )
    # Open event streams (dashboards) must not hold a stop for ever.
    uvicorn.run(
        web_app,
        host=settings.http_host,
        port=settings.http_port,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )


@app.command(help=_("Migrate the database, then run the MQTT ingest alone (no web)."))
def ingest(ctx: typer.Context) -> None:
    import signal
    import threading

    from fleet.ingest.mqtt import Ingest

    settings = ctx.ensure_object(CliContext).settings()
    with database(settings) as engine:
        worker = Ingest(settings, make_session_factory(engine))
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
        worker.start()
        logger.info(
            _("Ingest running (share group %(group)r); stop with SIGTERM."),
            {"group": settings.ingest_share_group},
        )
        stop.wait()
        worker.stop()


@db_app.command("upgrade", help=_("Bring the database schema to the latest version."))
def db_upgrade(ctx: typer.Context) -> None:
    settings = ctx.ensure_object(CliContext).settings()
    with database(settings):
        out.print(Text(_("The database schema is up to date.")))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first: str = typer.prompt(_("Password"), hide_input=True)
    second: str = typer.prompt(_("Password again"), hide_input=True)
    if first != second:
        die(_("the two passwords differ; nothing was created."))
    return first


@app.command("create-admin", help=_("Create an administrator account for the dashboard."))
def create_admin(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help=_("The new administrator's username."))],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help=_("Read the password from the first line of stdin.")),
    ] = False,
) -> None:
    settings = ctx.ensure_object(CliContext).settings()
    if not USERNAME_PATTERN.fullmatch(username):
        die(
            _("the username may only hold letters, digits and . _ @ - (at most 64)."),
            code=EXIT_USAGE,
        )
    password = _read_password(password_stdin)
    if len(password) < MIN_PASSWORD_LENGTH:
        die(
            _("the password is too short: at least %(min)d characters are needed.")
            % {"min": MIN_PASSWORD_LENGTH}
        )
    with database(settings) as engine, make_session_factory(engine)() as session:
        if crud.get_user(session, username) is not None:
            die(_("the user %(username)s already exists.") % {"username": username})
        crud.create_user(session, username, password, role="admin")
        # Whoever ran the command on the server: the dashboard has no session to name.
        operator = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
        audit.record(session, f"cli:{operator}", "admin_created", username)
        session.commit()
    out.print(Text(_("Administrator %(username)s created.") % {"username": username}))


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app()


def _register_subcommands() -> None:
    """Sub-apps that build on this module's helpers (so they are imported after them)."""
    from fleet.cli_enrolment import app as enrolment_app
    from fleet.cli_terminals import app as terminals_app
    from fleet.content.cli import app as content_app

    app.add_typer(terminals_app, name="terminals")
    app.add_typer(content_app, name="content")
    app.add_typer(enrolment_app, name="enrolment")


_register_subcommands()
