"""``kiosk-provision``: the field technician's tool to bring a unit into the fleet.

``check`` the unit, ``enroll`` it with a one-time code (:mod:`provisioning.enrol`), see its
``status``, print its ``label``, ``decommission`` it. French by default (``--lang en``). The
commands are plain functions, registered by :func:`build_app` on an application in one
language; the probes are :mod:`provisioning.checks`, the unit's facts :mod:`provisioning.unit`.

Exit codes: 0 done, 1 refused or failed (the message says what to do), 2 fix the command line,
70 unexpected error (the one line printed names the file with its details); ``check`` says 0,
1 or 2 for all pass, some warn, some fail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from kiosk.cli import N_, die
from kiosk.cli.typer_app import App
from kiosk.contract.enrolment import EnrolmentStatus
from kiosk.contract.paths import AGENT_CONFIG_NAME, CA_NAME, ETC_DIR, STATE_DIR
from kiosk.contract.version import SOFTWARE_VERSION
from kiosk.i18n import DEFAULT_LANGUAGE, cli_language
from provisioning import checks, client, enrol, files
from provisioning.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    SERVICES,
    EtcDir,
    FleetCa,
    NoSystemctl,
    Runner,
    Tool,
    run_command,
    tool,
)

HELP = N_(
    "Technician's tool for a street terminal: check the unit, enrol it in the fleet "
    "with a one-time code, print its label, take it out of service."
)


def options(
    lang: Annotated[
        str, typer.Option("--lang", help=N_("Language of messages (fr, en)."))
    ] = DEFAULT_LANGUAGE,
) -> None:
    # Read before parsing (cli_language), so that the help is in that language too; declared
    # here for the help and so that it may stand before the command.
    pass


def version(ctx: typer.Context) -> None:
    _ = tool(ctx)._
    typer.echo(_("Terminal software version {version}").format(version=SOFTWARE_VERSION))


def check(
    ctx: typer.Context,
    fleet: Annotated[
        str | None, typer.Option("--fleet", help=N_("Address of the fleet (https://...)."))
    ] = None,
    broker: Annotated[
        str | None, typer.Option("--broker", help=N_("The broker, as host:port."))
    ] = None,
    ca: Annotated[
        Path | None, typer.Option("--ca", help=N_("CA certificate of the fleet and broker."))
    ] = None,
    etc_dir: EtcDir = ETC_DIR,
    sys_root: Annotated[Path, typer.Option("--sys-root", hidden=True)] = Path("/sys"),
    proc_root: Annotated[Path, typer.Option("--proc-root", hidden=True)] = Path("/proc"),
    dev_root: Annotated[Path, typer.Option("--dev-root", hidden=True)] = Path("/dev"),
    state_dir: Annotated[Path, typer.Option("--state-dir", hidden=True)] = STATE_DIR,
) -> None:
    here = tool(ctx)
    _ = here._
    enrolled = files.read_enrolment(etc_dir) or {}
    fleet = fleet or enrolled.get("fleet")
    if ca is None and (etc_dir / CA_NAME).is_file():
        ca = etc_dir / CA_NAME
    target = None
    if broker:
        host, _sep, port = broker.rpartition(":")
        if not host or not port.isdigit():
            die(
                _("--broker must be host:port."),
                _("Give the broker's name and port, e.g. --broker fleet.example.org:8883."),
                code=EXIT_USAGE,
            )
        target = (host, int(port))
    elif enrolled.get("mqtt_host"):
        target = (str(enrolled["mqtt_host"]), int(enrolled.get("mqtt_port", 8883)))
    paths = checks.Paths(sys_root, proc_root, dev_root, state_dir, etc_dir / AGENT_CONFIG_NAME)
    results = checks.run_all(paths, checks.Targets(fleet, target, ca), _)
    labels = {
        checks.Verdict.PASS: Text(_("pass"), style="green"),
        checks.Verdict.WARN: Text(_("warn"), style="yellow"),
        checks.Verdict.FAIL: Text(_("FAIL"), style="bold red"),
    }
    table = Table(_("Item"), _("Result"), _("Detail"), _("What to do"), title=_("Unit check"))
    for result in results:
        table.add_row(result.item, labels[result.verdict], result.detail, result.todo)
    here.out.print(table)
    code = checks.exit_code(results)
    verdict = {
        0: _("All checks passed."),
        1: _("Some checks warn: the unit works, but see what to do."),
        2: _("Some checks fail: fix them before enrolling."),
    }[code]
    here.out.print(Text(verdict))
    raise typer.Exit(code)


def status(
    ctx: typer.Context,
    etc_dir: EtcDir = ETC_DIR,
    no_systemctl: NoSystemctl = False,
    ca: FleetCa = None,
) -> None:
    here = tool(ctx)
    _ = here._
    record = files.read_enrolment(etc_dir)
    if not record:
        here.out.print(Text(_("This unit is not enrolled.")))
        raise typer.Exit(EXIT_FAILED)
    table = Table(show_header=False, title=_("Terminal"))
    table.add_row(_("Identifier"), str(record.get("terminal_id")))
    table.add_row(_("Site"), f"{record.get('site_name')} ({record.get('commune') or '-'})")
    table.add_row(_("Fleet"), str(record.get("fleet")))
    table.add_row(_("Broker"), f"{record.get('mqtt_host')}:{record.get('mqtt_port')}")
    table.add_row(_("Enrolled"), str(record.get("enrolled_at")))
    if not no_systemctl:
        state = here.runner(["systemctl", "is-active", SERVICES[0]]).stdout.strip() or "?"
        table.add_row(_("Agent service"), state)
    try:
        answer = client.request(
            str(record.get("fleet")),
            "GET",
            f"/api/v1/enrol/{quote(str(record.get('terminal_id')))}/status",
            headers={"X-Terminal-Token": str(record.get("status_token"))},
            ca_file=ca or _fleet_ca(record),
        )
        seen = EnrolmentStatus.model_validate(answer.body).model_dump(mode="json")
        table.add_row(_("Seen by the fleet"), f"{seen['state']} · {seen['last_seen_at'] or '-'}")
    except client.FleetError as error:
        table.add_row(_("Seen by the fleet"), _("fleet unreachable: {error}").format(error=error))
    except ValidationError as error:
        table.add_row(
            _("Seen by the fleet"),
            _("answer not understood ({fields})").format(fields=enrol.fields_of(error)),
        )
    here.out.print(table)


def label(
    ctx: typer.Context,
    etc_dir: EtcDir = ETC_DIR,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help=N_("PNG file to write (default: <id>.png).")),
    ] = None,
) -> None:
    here = tool(ctx)
    _ = here._
    record = files.read_enrolment(etc_dir)
    if not record:
        die(_("this unit is not enrolled."), _("Run 'kiosk-provision enroll' first."))
    try:
        import segno
    except ImportError:
        die(_("the 'segno' package is missing."), _("Install it: pip install segno"))
    terminal_id = str(record.get("terminal_id"))
    text = "\n".join(
        [
            f"{terminal_id}",
            f"{record.get('site_name') or ''} ({record.get('commune') or ''})",
            f"{str(record.get('fleet', '')).rstrip('/')}/terminals/{terminal_id}",
        ]
    )
    qr = segno.make(text, error="m")
    qr.terminal(out=sys.stdout, compact=True)
    here.out.print(Text(terminal_id, style="bold"))
    here.out.print(Text(str(record.get("site_name") or "")))
    path = output or Path(f"{terminal_id}.png")
    qr.save(str(path), scale=8, border=4)
    here.out.print(Text(_("Label saved to {path}.").format(path=path)))


def decommission(
    ctx: typer.Context,
    token: Annotated[
        str,
        typer.Option(
            "--token",
            help=N_("An operator's API token (from the dashboard)."),
            envvar="KIOSK_FLEET_TOKEN",
        ),
    ],
    etc_dir: EtcDir = ETC_DIR,
    no_systemctl: NoSystemctl = False,
    ca: FleetCa = None,
) -> None:
    here = tool(ctx)
    _ = here._
    record = files.read_enrolment(etc_dir)
    if not record:
        die(_("this unit is not enrolled: nothing to decommission."), code=EXIT_FAILED)
    terminal_id = str(record.get("terminal_id"))
    try:
        client.request(
            str(record.get("fleet")),
            "POST",
            f"/api/v1/terminals/{quote(terminal_id)}/decommission",
            headers={"Authorization": f"Bearer {token}"},
            ca_file=ca or _fleet_ca(record),
        )
    except client.FleetError as error:
        die(
            _("the fleet did not revoke {id}: {error}").format(id=terminal_id, error=error),
            _(
                "Check the token (operator role) and the network, then run the command "
                "again; nothing was wiped."
            ),
        )
    here.out.print(
        Text(_("{id} revoked on the fleet: its MQTT access has stopped.").format(id=terminal_id))
    )
    if not no_systemctl:
        here.runner(["systemctl", "disable", "--now", SERVICES[0]])
    removed = files.wipe(etc_dir)
    here.out.print(
        Text(
            _("Local credentials wiped: {names}.").format(names=", ".join(removed) or "-"),
            style="green",
        )
    )


def _fleet_ca(record: dict[str, Any]) -> Path | None:
    """The CA given with --ca at enrolment for the fleet's HTTPS, if any."""
    given = record.get("fleet_ca")
    return Path(given) if isinstance(given, str) and given else None


#: Every command, in the order of the help, with what the help says of it.
COMMANDS: tuple[tuple[Any, str], ...] = (
    (version, N_("Print the version of the terminal software.")),
    (check, N_("Check that the unit is fit for service: each item passes, warns or fails.")),
    (enrol.enroll, enrol.HELP),
    (status, N_("Show what is configured, the agent's state and what the fleet sees.")),
    (
        label,
        N_("Show the terminal's label (QR code with its identifier and site) and save it as PNG."),
    ),
    (
        decommission,
        N_("Take this unit out of service: revoke it on the fleet, wipe its credentials."),
    ),
)


def build_app(language: str, runner: Runner = run_command) -> App:
    """The application, every text in ``language``; ``runner`` runs ``systemctl``."""
    here = Tool(language, runner)
    app = App(
        language=language,
        translate=here._,
        help=HELP,
        no_args_is_help=True,
        context_settings={"obj": here},
    )
    app.callback()(options)
    for command, text in COMMANDS:
        app.command(help=text)(command)
    return app


def main() -> None:
    language = cli_language(sys.argv[1:], dict(os.environ))
    build_app(language)(prog_name="kiosk-provision")
