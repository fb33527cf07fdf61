"""``kiosk-provision enroll``: bring this unit into the fleet with a one-time code.

Post the code and the unit's facts, write the fleet's answer (agent configuration, MQTT
password, CA, content root) all at once or not at all, start the services, then wait until the
fleet sees the terminal online.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer
from pydantic import ValidationError
from rich.text import Text

from kiosk.cli import N_, die
from kiosk.contract.enrolment import EnrolmentAnswer, EnrolmentRequest, EnrolmentStatus
from kiosk.contract.paths import (
    AGENT_CONFIG_NAME,
    AGENT_STATE_DIR,
    CA_NAME,
    CONTENT_ROOT_NAME,
    ENROLMENT_NAME,
    ETC_DIR,
    MQTT_PASSWORD_NAME,
)
from kiosk.contract.wire import Presence
from provisioning import client, files
from provisioning.common import (
    EXIT_OK,
    EXIT_USAGE,
    SERVICES,
    EtcDir,
    NoSystemctl,
    tool,
)
from provisioning.unit import hardware_facts

HELP = N_("Enrol this unit in the fleet with a one-time code from the dashboard.")


def code_hash(code: str) -> str:
    raw = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(raw.encode()).hexdigest()


def fields_of(error: ValidationError) -> str:
    """The fields ``error`` found wrong, e.g. ``mqtt_host, ca_pem`` (``*`` for the whole)."""
    names = dict.fromkeys(
        ".".join(str(part) for part in item["loc"]) or "*" for item in error.errors()
    )
    return ", ".join(names)


def wait_online(
    fleet: str, terminal_id: str, token: str, ca: Path | None, deadline_s: float, poll_s: float
) -> EnrolmentStatus | None:
    """The fleet's view of the terminal once it says online, or None after ``deadline_s``."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            answer = client.request(
                fleet,
                "GET",
                f"/api/v1/enrol/{quote(terminal_id)}/status",
                headers={"X-Terminal-Token": token},
                ca_file=ca,
            )
            seen = EnrolmentStatus.model_validate(answer.body)
            if seen.state == Presence.ONLINE:
                return seen
        except (client.FleetError, ValidationError):
            pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(poll_s)


def enroll(
    ctx: typer.Context,
    code: Annotated[
        str, typer.Option("--code", help=N_("The one-time code (XXXX-XXXX-XXXX-XXXX)."))
    ],
    fleet: Annotated[str, typer.Option("--fleet", help=N_("Address of the fleet (https://...)."))],
    terminal_id: Annotated[
        str | None,
        typer.Option(
            "--terminal-id", help=N_("Identifier to give (default: chosen by the fleet).")
        ),
    ] = None,
    site: Annotated[
        str | None,
        typer.Option("--site", help=N_("The site you expect (checked against the code's).")),
    ] = None,
    ca: Annotated[
        Path | None,
        typer.Option("--ca", help=N_("CA certificate of the fleet (HTTPS).")),
    ] = None,
    etc_dir: EtcDir = ETC_DIR,
    state_dir: Annotated[
        Path, typer.Option("--state-dir", help=N_("The agent's state directory."))
    ] = AGENT_STATE_DIR,
    no_systemctl: NoSystemctl = False,
    wait_s: Annotated[
        float,
        typer.Option(
            "--wait",
            help=N_("Seconds to wait for the fleet to see the terminal online (0: do not wait)."),
        ),
    ] = 120.0,
    poll_s: Annotated[float, typer.Option("--poll", hidden=True)] = 1.0,
) -> None:
    here = tool(ctx)
    _, out, err = here._, here.out, here.err
    fleet = fleet.rstrip("/")
    if not fleet.startswith(("https://", "http://")):
        die(_("the fleet address must start with https://"), code=EXIT_USAGE)
    etc_dir = etc_dir.absolute()
    already = files.read_enrolment(etc_dir)
    if already:
        if already.get("code_sha256") == code_hash(code) and already.get("fleet") == fleet:
            out.print(
                Text(
                    _("Already enrolled as {id} ({site}): nothing to do.").format(
                        id=already.get("terminal_id"), site=already.get("site_name")
                    ),
                    style="green",
                )
            )
            raise typer.Exit(EXIT_OK)
        die(
            _("this unit is already enrolled as {id}.").format(id=already.get("terminal_id")),
            _("Run 'kiosk-provision decommission' first, then enrol with a new code."),
        )
    try:
        files.check_writable(etc_dir)
    except OSError as error:
        die(
            _("cannot write to {path}: {error}").format(path=etc_dir, error=error),
            _("Run as root (sudo), or check that the disk is not read-only."),
        )
    try:
        request = EnrolmentRequest(
            code=code,
            terminal_id=terminal_id,
            hardware=hardware_facts(),
            config_dir=str(etc_dir),
            state_dir=str(state_dir.absolute()),
        )
    except ValidationError as error:
        die(
            _("the fleet would refuse this request ({fields}).").format(fields=fields_of(error)),
            _(
                "Check the code (16 letters and digits) and the directories "
                "(absolute, letters, digits, '.', '_', '-' and '/' only)."
            ),
            code=EXIT_USAGE,
        )
    try:
        answer = client.request(
            fleet,
            "POST",
            f"/api/v1/enrol?lang={here.language}",
            body=request.model_dump(mode="json"),
            ca_file=ca,
        )
    except client.FleetError as error:
        if error.status is None:
            die(
                _("the fleet cannot be reached: {error}").format(error=error),
                _(
                    "Run 'kiosk-provision check --fleet {fleet}', then try again: "
                    "the code is still valid."
                ).format(fleet=fleet),
            )
        todo = {
            "malformed": _("Type the code again: 16 letters and digits, dashes optional."),
            "unknown": _("Type the code again; if it still fails, ask for a new code."),
            "expired": _("Ask the operations team for a new code from the dashboard."),
            "used": _("Ask the operations team for a new code from the dashboard."),
            "rate_limited": _("Wait a quarter of an hour before trying again."),
        }.get(error.kind or "", _("Call the operations team with this message."))
        die(str(error), todo)
    try:
        result = EnrolmentAnswer.model_validate(answer.body)
    except ValidationError as error:
        die(
            _(
                "the fleet's answer cannot be used ({fields}): nothing was written in {path}."
            ).format(fields=fields_of(error), path=etc_dir),
            _(
                "Check that this is your fleet's address and that kiosk-provision and the fleet "
                "are of the same version; the code is now used: call the operations team with "
                "this message."
            ),
        )
    new_id = result.terminal_id
    if site is not None and site.strip().casefold() != result.site_name.casefold():
        err.print(
            Text(
                _("Warning: the code is for the site {site}, not {expected}.").format(
                    site=result.site_name, expected=site
                ),
                style="yellow",
            )
        )
    to_write = [
        files.FileToWrite(AGENT_CONFIG_NAME, result.agent_config),
        files.FileToWrite(MQTT_PASSWORD_NAME, result.mqtt_password + "\n"),
    ]
    if result.ca_pem is not None:
        to_write.append(files.FileToWrite(CA_NAME, result.ca_pem))
    if result.content_root is not None:
        to_write.append(files.FileToWrite(CONTENT_ROOT_NAME, result.content_root))
    record = {
        "fleet": fleet,
        "terminal_id": new_id,
        "site_name": result.site_name,
        "commune": result.commune,
        "latitude": result.latitude,
        "longitude": result.longitude,
        "mqtt_host": result.mqtt_host,
        "mqtt_port": result.mqtt_port,
        "status_token": result.status_token,
        "fleet_ca": str(ca.absolute()) if ca else None,
        "code_sha256": code_hash(code),
        "enrolled_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    to_write.append(files.FileToWrite(ENROLMENT_NAME, files.toml_text(record)))
    try:
        files.write_all(etc_dir, to_write)
    except OSError as error:
        die(
            _(
                "the configuration could not be written ({error}); nothing was changed in {path}."
            ).format(error=error, path=etc_dir),
            _(
                "The code is now used: ask the operations team to decommission {id} "
                "and give a new code."
            ).format(id=new_id),
        )
    out.print(
        Text(
            _("Enrolled as {id} at {site}; configuration written to {path}.").format(
                id=new_id, site=result.site_name, path=etc_dir
            ),
            style="green",
        )
    )
    if not no_systemctl:
        for argv in (
            ["systemctl", "enable", *SERVICES],
            ["systemctl", "restart", *SERVICES],
        ):
            done = here.runner(argv)
            if done.returncode != 0:
                die(
                    _("'{command}' failed: {error}").format(
                        command=" ".join(argv), error=(done.stderr or done.stdout).strip()
                    ),
                    _(
                        "See 'journalctl -u kiosk-agent', then run "
                        "'systemctl restart kiosk-agent'. The enrolment itself is done."
                    ),
                )
    if wait_s <= 0:
        return
    out.print(Text(_("Waiting for the fleet to see {id} online...").format(id=new_id)))
    seen = wait_online(fleet, new_id, result.status_token, ca, wait_s, poll_s)
    if seen is None:
        die(
            _("the fleet has not seen {id} online within {seconds:.0f} s.").format(
                id=new_id, seconds=wait_s
            ),
            _(
                "See 'journalctl -u kiosk-agent' (broker address, TLS, clock), "
                "then 'kiosk-provision status'."
            ),
        )
    out.print(Text(_("The fleet sees {id} online.").format(id=new_id), style="bold green"))
