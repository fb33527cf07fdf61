"""``kiosk-provision``: the field technician's tool to bring a unit into the fleet.

``check`` the unit, ``enroll`` it with a one-time code, see its ``status``, print its ``label``,
``decommission`` it. French by default (``--lang en``).
"""

# No `from __future__ import annotations`: Typer reads the translated help inside the
# annotations of commands defined in build_app(), which must be evaluated there.

import hashlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, NoReturn
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kiosk import __version__, cli_words
from kiosk.i18n import cli_language, translator
from provisioning import checks, client, files

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_ETC_DIR = Path("/etc/kiosk")
DEFAULT_STATE_DIR = Path("/var/lib/kiosk/agent")
SERVICES = ("kiosk-agent.service", "kiosk-ui.service")
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

#: Runs a command (systemctl); tests inject their own.
Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(list(argv), capture_output=True, text=True, check=False)


def _code_hash(code: str) -> str:
    raw = "".join(c for c in code.upper() if c.isalnum())
    return hashlib.sha256(raw.encode()).hexdigest()


#: What firmware writes where the maker left no serial number.
PLACEHOLDER_SERIALS: Final = frozenset(
    {"", "0", "none", "default string", "to be filled by o.e.m.", "not specified", "system serial"}
)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()[:64]
    except OSError:
        return None


def unit_serial(sys_root: Path = Path("/sys")) -> str | None:
    """The unit's own serial number: the firmware's (product, board, chassis), else the MAC of
    its first wired network card. Never ``/etc/machine-id``: on the terminal's read-only image
    it is made anew at each boot."""
    for name in ("product_serial", "board_serial", "chassis_serial"):
        value = _read(sys_root / "class" / "dmi" / "id" / name)
        if value is not None and value.lower() not in PLACEHOLDER_SERIALS:
            return value
    net = sys_root / "class" / "net"
    cards = sorted(p for p in net.glob("*") if (p / "device").exists()) if net.is_dir() else []
    for card in cards:
        address = _read(card / "address")
        if address and address != "00:00:00:00:00:00":
            return f"mac:{address}"
    return None


def hardware_facts(sys_root: Path = Path("/sys")) -> dict[str, Any]:
    """What the fleet records about the unit in the audit log."""
    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "software": __version__,
    }
    product = _read(sys_root / "class" / "dmi" / "id" / "product_name")
    if product:
        facts["product"] = product
    serial = unit_serial(sys_root)
    if serial:
        facts["serial"] = serial
    return facts


def build_app(language: str, runner: Runner = run_command) -> typer.Typer:
    """The Typer application, with every text in ``language``."""
    _ = translator(LOCALE_DIR, "provisioning", language)
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    app = typer.Typer(
        help=_(
            "Technician's tool for a street terminal: check the unit, enrol it in the fleet "
            "with a one-time code, print its label, take it out of service."
        ),
        no_args_is_help=True,
        add_completion=False,
    )

    def fail(message: str, todo: str | None = None, code: int = EXIT_FAILED) -> NoReturn:
        err.print(Text(_("Error: {message}").format(message=message), style="bold red"))
        if todo:
            err.print(Text(_("What to do: {todo}").format(todo=todo)))
        raise typer.Exit(code)

    EtcDir = Annotated[
        Path, typer.Option("--etc-dir", help=_("Configuration directory of the terminal."))
    ]
    NoSystemctl = Annotated[
        bool, typer.Option("--no-systemctl", help=_("Do not touch the services (tests, images)."))
    ]

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

    # -----------------------------------------------------------------------------------------
    @app.command(
        help=_("Check that the unit is fit for service: each item passes, warns or fails.")
    )
    def check(
        fleet: Annotated[
            str | None, typer.Option("--fleet", help=_("Address of the fleet (https://...)."))
        ] = None,
        broker: Annotated[
            str | None, typer.Option("--broker", help=_("The broker, as host:port."))
        ] = None,
        ca: Annotated[
            Path | None, typer.Option("--ca", help=_("CA certificate of the fleet and broker."))
        ] = None,
        etc_dir: EtcDir = DEFAULT_ETC_DIR,
        sys_root: Annotated[Path, typer.Option("--sys-root", hidden=True)] = Path("/sys"),
        proc_root: Annotated[Path, typer.Option("--proc-root", hidden=True)] = Path("/proc"),
        dev_root: Annotated[Path, typer.Option("--dev-root", hidden=True)] = Path("/dev"),
        state_dir: Annotated[Path, typer.Option("--state-dir", hidden=True)] = Path(
            "/var/lib/kiosk"
        ),
    ) -> None:
        enrolled = files.read_enrolment(etc_dir) or {}
        fleet = fleet or enrolled.get("fleet")
        if ca is None and (etc_dir / files.CA_FILE).is_file():
            ca = etc_dir / files.CA_FILE
        target = None
        if broker:
            host, _sep, port = broker.rpartition(":")
            if not host or not port.isdigit():
                fail(_("--broker must be host:port."), code=EXIT_USAGE)
            target = (host, int(port))
        elif enrolled.get("mqtt_host"):
            target = (str(enrolled["mqtt_host"]), int(enrolled.get("mqtt_port", 8883)))
        paths = checks.Paths(sys_root, proc_root, dev_root, state_dir, etc_dir / files.AGENT_CONFIG)
        results = checks.run_all(paths, checks.Targets(fleet, target, ca), _)
        labels = {
            checks.Verdict.PASS: Text(_("pass"), style="green"),
            checks.Verdict.WARN: Text(_("warn"), style="yellow"),
            checks.Verdict.FAIL: Text(_("FAIL"), style="bold red"),
        }
        table = Table(_("Item"), _("Result"), _("Detail"), _("What to do"), title=_("Unit check"))
        for result in results:
            table.add_row(result.item, labels[result.verdict], result.detail, result.todo)
        out.print(table)
        code = checks.exit_code(results)
        verdict = {
            0: _("All checks passed."),
            1: _("Some checks warn: the unit works, but see what to do."),
            2: _("Some checks fail: fix them before enrolling."),
        }[code]
        out.print(Text(verdict))
        raise typer.Exit(code)

    # -----------------------------------------------------------------------------------------
    def wait_online(
        fleet: str, terminal_id: str, token: str, ca: Path | None, deadline_s: float, poll_s: float
    ) -> dict[str, Any] | None:
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
                if isinstance(answer.body, dict) and answer.body.get("state") == "online":
                    return answer.body
            except client.FleetError:
                pass
            if time.monotonic() >= deadline:
                return None
            time.sleep(poll_s)

    @app.command(help=_("Enrol this unit in the fleet with a one-time code from the dashboard."))
    def enroll(
        code: Annotated[
            str, typer.Option("--code", help=_("The one-time code (XXXX-XXXX-XXXX-XXXX)."))
        ],
        fleet: Annotated[
            str, typer.Option("--fleet", help=_("Address of the fleet (https://...)."))
        ],
        terminal_id: Annotated[
            str | None,
            typer.Option(
                "--terminal-id", help=_("Identifier to give (default: chosen by the fleet).")
            ),
        ] = None,
        site: Annotated[
            str | None,
            typer.Option("--site", help=_("The site you expect (checked against the code's).")),
        ] = None,
        ca: Annotated[
            Path | None,
            typer.Option("--ca", help=_("CA certificate of the fleet (HTTPS).")),
        ] = None,
        etc_dir: EtcDir = DEFAULT_ETC_DIR,
        state_dir: Annotated[
            Path, typer.Option("--state-dir", help=_("The agent's state directory."))
        ] = DEFAULT_STATE_DIR,
        no_systemctl: NoSystemctl = False,
        wait_s: Annotated[
            float,
            typer.Option(
                "--wait",
                help=_(
                    "Seconds to wait for the fleet to see the terminal online (0: do not wait)."
                ),
            ),
        ] = 120.0,
        poll_s: Annotated[float, typer.Option("--poll", hidden=True)] = 1.0,
    ) -> None:
        fleet = fleet.rstrip("/")
        if not fleet.startswith(("https://", "http://")):
            fail(_("the fleet address must start with https://"), code=EXIT_USAGE)
        etc_dir = etc_dir.absolute()
        already = files.read_enrolment(etc_dir)
        if already:
            if already.get("code_sha256") == _code_hash(code) and already.get("fleet") == fleet:
                out.print(
                    Text(
                        _("Already enrolled as {id} ({site}): nothing to do.").format(
                            id=already.get("terminal_id"), site=already.get("site_name")
                        ),
                        style="green",
                    )
                )
                raise typer.Exit(EXIT_OK)
            fail(
                _("this unit is already enrolled as {id}.").format(id=already.get("terminal_id")),
                _("Run 'kiosk-provision decommission' first, then enrol with a new code."),
            )
        try:
            files.check_writable(etc_dir)
        except OSError as error:
            fail(
                _("cannot write to {path}: {error}").format(path=etc_dir, error=error),
                _("Run as root (sudo), or check that the disk is not read-only."),
            )
        body = {
            "code": code,
            "terminal_id": terminal_id,
            "hardware": hardware_facts(),
            "config_dir": str(etc_dir),
            "state_dir": str(state_dir.absolute()),
        }
        try:
            answer = client.request(
                fleet, "POST", f"/api/v1/enrol?lang={language}", body=body, ca_file=ca
            )
        except client.FleetError as error:
            if error.status is None:
                fail(
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
            fail(str(error), todo)
        result: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
        new_id = str(result.get("terminal_id", ""))
        if (
            site is not None
            and site.strip().casefold() != str(result.get("site_name", "")).casefold()
        ):
            err.print(
                Text(
                    _("Warning: the code is for the site {site}, not {expected}.").format(
                        site=result.get("site_name"), expected=site
                    ),
                    style="yellow",
                )
            )
        to_write = [
            files.FileToWrite(files.AGENT_CONFIG, str(result["agent_config"])),
            files.FileToWrite(files.MQTT_PASSWORD, str(result["mqtt_password"]) + "\n"),
        ]
        if result.get("ca_pem"):
            to_write.append(files.FileToWrite(files.CA_FILE, str(result["ca_pem"])))
        if result.get("content_root"):
            to_write.append(files.FileToWrite(files.CONTENT_ROOT, str(result["content_root"])))
        record = {
            "fleet": fleet,
            "terminal_id": new_id,
            "site_name": result.get("site_name"),
            "commune": result.get("commune"),
            "latitude": result.get("latitude"),
            "longitude": result.get("longitude"),
            "mqtt_host": result.get("mqtt_host"),
            "mqtt_port": result.get("mqtt_port"),
            "status_token": result.get("status_token"),
            "fleet_ca": str(ca.absolute()) if ca else None,
            "code_sha256": _code_hash(code),
            "enrolled_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        to_write.append(files.FileToWrite(files.ENROLMENT, files.toml_text(record)))
        try:
            files.write_all(etc_dir, to_write)
        except OSError as error:
            fail(
                _(
                    "the configuration could not be written ({error}); "
                    "nothing was changed in {path}."
                ).format(error=error, path=etc_dir),
                _(
                    "The code is now used: ask the operations team to decommission {id} "
                    "and give a new code."
                ).format(id=new_id),
            )
        out.print(
            Text(
                _("Enrolled as {id} at {site}; configuration written to {path}.").format(
                    id=new_id, site=result.get("site_name"), path=etc_dir
                ),
                style="green",
            )
        )
        if not no_systemctl:
            for argv in (
                ["systemctl", "enable", *SERVICES],
                ["systemctl", "restart", *SERVICES],
            ):
                done = runner(argv)
                if done.returncode != 0:
                    fail(
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
        seen = wait_online(fleet, new_id, str(record["status_token"]), ca, wait_s, poll_s)
        if seen is None:
            fail(
                _("the fleet has not seen {id} online within {seconds:.0f} s.").format(
                    id=new_id, seconds=wait_s
                ),
                _(
                    "See 'journalctl -u kiosk-agent' (broker address, TLS, clock), "
                    "then 'kiosk-provision status'."
                ),
            )
        out.print(Text(_("The fleet sees {id} online.").format(id=new_id), style="bold green"))

    # -----------------------------------------------------------------------------------------
    @app.command(help=_("Show what is configured, the agent's state and what the fleet sees."))
    def status(
        etc_dir: EtcDir = DEFAULT_ETC_DIR,
        no_systemctl: NoSystemctl = False,
        ca: Annotated[
            Path | None, typer.Option("--ca", help=_("CA certificate of the fleet (HTTPS)."))
        ] = None,
    ) -> None:
        record = files.read_enrolment(etc_dir)
        if not record:
            out.print(Text(_("This unit is not enrolled.")))
            raise typer.Exit(EXIT_FAILED)
        table = Table(show_header=False, title=_("Terminal"))
        table.add_row(_("Identifier"), str(record.get("terminal_id")))
        table.add_row(_("Site"), f"{record.get('site_name')} ({record.get('commune') or '-'})")
        table.add_row(_("Fleet"), str(record.get("fleet")))
        table.add_row(_("Broker"), f"{record.get('mqtt_host')}:{record.get('mqtt_port')}")
        table.add_row(_("Enrolled"), str(record.get("enrolled_at")))
        if not no_systemctl:
            state = runner(["systemctl", "is-active", SERVICES[0]]).stdout.strip() or "?"
            table.add_row(_("Agent service"), state)
        try:
            answer = client.request(
                str(record.get("fleet")),
                "GET",
                f"/api/v1/enrol/{quote(str(record.get('terminal_id')))}/status",
                headers={"X-Terminal-Token": str(record.get("status_token"))},
                ca_file=ca or _fleet_ca(record),
            )
            seen = answer.body if isinstance(answer.body, dict) else {}
            table.add_row(
                _("Seen by the fleet"), f"{seen.get('state')} · {seen.get('last_seen_at') or '-'}"
            )
        except client.FleetError as error:
            table.add_row(
                _("Seen by the fleet"), _("fleet unreachable: {error}").format(error=error)
            )
        out.print(table)

    # -----------------------------------------------------------------------------------------
    @app.command(
        help=_(
            "Show the terminal's label (QR code with its identifier and site) and save it as PNG."
        )
    )
    def label(
        etc_dir: EtcDir = DEFAULT_ETC_DIR,
        output: Annotated[
            Path | None,
            typer.Option("--output", "-o", help=_("PNG file to write (default: <id>.png).")),
        ] = None,
    ) -> None:
        record = files.read_enrolment(etc_dir)
        if not record:
            fail(_("this unit is not enrolled."), _("Run 'kiosk-provision enroll' first."))
        try:
            import segno
        except ImportError:
            fail(_("the 'segno' package is missing."), _("Install it: pip install segno"))
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
        out.print(Text(terminal_id, style="bold"))
        out.print(Text(str(record.get("site_name") or "")))
        path = output or Path(f"{terminal_id}.png")
        qr.save(str(path), scale=8, border=4)
        out.print(Text(_("Label saved to {path}.").format(path=path)))

    # -----------------------------------------------------------------------------------------
    @app.command(
        help=_("Take this unit out of service: revoke it on the fleet, wipe its credentials.")
    )
    def decommission(
        token: Annotated[
            str,
            typer.Option(
                "--token",
                help=_("An operator's API token (from the dashboard)."),
                envvar="KIOSK_FLEET_TOKEN",
            ),
        ],
        etc_dir: EtcDir = DEFAULT_ETC_DIR,
        no_systemctl: NoSystemctl = False,
        ca: Annotated[
            Path | None, typer.Option("--ca", help=_("CA certificate of the fleet (HTTPS)."))
        ] = None,
    ) -> None:
        record = files.read_enrolment(etc_dir)
        if not record:
            fail(_("this unit is not enrolled: nothing to decommission."), code=EXIT_FAILED)
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
            fail(
                _("the fleet did not revoke {id}: {error}").format(id=terminal_id, error=error),
                _(
                    "Check the token (operator role) and the network, then run the command "
                    "again; nothing was wiped."
                ),
            )
        out.print(
            Text(
                _("{id} revoked on the fleet: its MQTT access has stopped.").format(id=terminal_id)
            )
        )
        if not no_systemctl:
            runner(["systemctl", "disable", "--now", SERVICES[0]])
        removed = files.wipe(etc_dir)
        out.print(
            Text(
                _("Local credentials wiped: {names}.").format(names=", ".join(removed) or "-"),
                style="green",
            )
        )

    return app


def _fleet_ca(record: dict[str, Any]) -> Path | None:
    """The CA given with --ca at enrolment for the fleet's HTTPS, if any."""
    given = record.get("fleet_ca")
    return Path(given) if isinstance(given, str) and given else None


def main() -> None:
    language = cli_language(sys.argv[1:], dict(os.environ))
    cli_words.speak(language)
    build_app(language)()
