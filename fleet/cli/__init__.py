"""The ``fleet`` command: serve the dashboard and ingest, migrate the database, create users.

Its groups are the modules beside this one (``terminals``, ``enrolment``, ``observatory``; the
content bundles' in :mod:`fleet.content.cli`), what they share in :mod:`fleet.cli.common`. Exit
codes: 0 done, 1 refused (nothing changed), 2 fix the command line or the settings, 3 unknown
terminal, 70 unexpected error (the one line printed names the file with its details).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.text import Text

from fleet import audit, crud
from fleet.broker import BrokerError
from fleet.cli.common import (
    EXIT_USAGE,
    CliContext,
    _,
    database,
    die,
    fleet_app,
    out,
)
from fleet.cli.enrolment import app as enrolment_app
from fleet.cli.observatory import app as observatory_app
from fleet.cli.terminals import app as terminals_app
from fleet.content.cli import app as content_app
from fleet.core.db import make_session_factory
from fleet.core.security import MIN_PASSWORD_LENGTH
from fleet.ingest.supervisor import MAX_INGESTS, IngestSupervisor
from fleet.roles import Role

logger = logging.getLogger("fleet")

USERNAME_PATTERN: Final = re.compile(r"[A-Za-z0-9._@-]{1,64}")
SHUTDOWN_GRACE_S: Final = 5

__all__ = ["CliContext", "app", "main"]

app = fleet_app(_("Fleet service of the street terminals: dashboard, API and MQTT ingest."))
db_app = fleet_app(_("Manage the fleet database."))
app.add_typer(db_app, name="db")


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
    ingests: Annotated[
        int,
        typer.Option(
            "--ingests",
            min=1,
            max=MAX_INGESTS,
            help=_(
                "Run the ingest as this many processes in one share group (fleet, fleet-2...),"
                " beside the web, to use several cores."
            ),
        ),
    ] = 1,
) -> None:
    import uvicorn

    from fleet.enrolment import EnrolmentSettings
    from fleet.main import create_app, freeze_startup_heap

    context = ctx.ensure_object(CliContext)
    settings = context.settings()
    if ingests > 1 and no_ingest:
        die(_("--ingests and --no-ingest exclude each other."), code=EXIT_USAGE)
    supervisor = None
    if ingests > 1:
        enrolment = EnrolmentSettings()
        credentials = enrolment.credentials()
        if credentials is None:
            die(
                _("several ingests need broker users of their own (fleet-2...)."),
                hint=_(
                    "Set FLEET_ENROLMENT_BROKER_PASSWORD_FILE (and its pid file or reload"
                    " command) so that the fleet can create them, or run fleet ingest yourself."
                ),
                code=EXIT_USAGE,
            )
        if settings.resolved_broker_password() is None:
            die(_("the ingest has no broker password."), hint=_("Set FLEET_BROKER_PASSWORD."))
        supervisor = IngestSupervisor(settings, ingests, credentials, context.config_file)
        acl_file = enrolment.broker_acl_file or credentials.password_file.with_name("acl")
        try:
            missing = supervisor.missing_rights(acl_file)
        except OSError as error:
            die(
                _("cannot read the broker's ACL %(path)s: %(error)s")
                % {"path": acl_file, "error": error},
                hint=_("Set FLEET_ENROLMENT_BROKER_ACL_FILE to the broker's acl_file."),
                code=EXIT_USAGE,
            )
        if missing:
            die(
                _("the broker's ACL %(path)s does not give %(users)s the fleet's rights.")
                % {"path": acl_file, "users": ", ".join(missing)},
                hint=_(
                    "Write the broker configuration again with these users among the"
                    " credentials (docs/systemd.md), then reload the broker."
                ),
                code=EXIT_USAGE,
            )
    with database(settings):
        pass
    try:
        web_app = create_app(
            settings,
            start_ingest=settings.ingest_in_web and not no_ingest and supervisor is None,
        )
    except OSError as error:
        die(
            _("cannot prepare the session key: %(error)s") % {"error": error},
            hint=_("Set secret_key_file (FLEET_SECRET_KEY_FILE) to a writable place."),
        )
    freeze_startup_heap()
    logger.info(
        _("Dashboard: http://%(host)s:%(port)d/"),
        {"host": settings.http_host, "port": settings.http_port},
    )
    # Open event streams (dashboards) must not hold a stop for ever. Forwarded headers are the
    # app's business (trusted_proxies), not uvicorn's, which would trust loopback by default.
    if supervisor is not None:
        try:
            supervisor.start()
        except BrokerError as error:
            die(_("cannot create the ingests' broker users: %(error)s") % {"error": error})
    try:
        uvicorn.run(
            web_app,
            host=settings.http_host,
            port=settings.http_port,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            proxy_headers=False,
            server_header=False,
        )
    finally:
        if supervisor is not None:
            supervisor.stop()


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
    username: Annotated[
        str, typer.Argument(metavar=_("USERNAME"), help=_("The new administrator's username."))
    ],
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
        crud.create_user(session, username, password, role=Role.ADMIN)
        # Whoever ran the command on the server: the dashboard has no session to name.
        operator = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
        audit.record(session, f"cli:{operator}", "admin_created", username)
        session.commit()
    out.print(Text(_("Administrator %(username)s created.") % {"username": username}))


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app(prog_name="fleet")


app.add_typer(terminals_app, name="terminals")
app.add_typer(content_app, name="content")
app.add_typer(enrolment_app, name="enrolment")
app.add_typer(observatory_app, name="observatory")
