"""``make demo``: a broker, the fleet and simulated terminals on this machine, in one command.

The same :class:`DemoStack` serves the end-to-end tests, so what the newcomer sees is what the
tests prove. Everything runs as real processes: Mosquitto with the project's configuration,
``fleet serve`` on SQLite, ``kiosk-agent`` with simulated sensors, and on every terminal a live
UI on the agent's local socket: the real ``kiosk`` on the first (in a window where a display
exists, else on a virtual screen seen in the browser, :mod:`fleet.demo_screen`), a stand-in
with simulated residents on the others (:mod:`kiosk.demo.residents`). The terminals are placed
at town halls of the metropole (:data:`DEMO_PLACES`) with ``fleet terminals locate``. What
stands in for a terminal's own code is the terminal's (``kiosk/demo/``) and runs as a program:
the fleet imports nothing of the kiosk but the contract (``tests/test_boundaries.py``).

Over 400 lines because it is one command's whole stack (broker, fleet, terminals, kiosk,
residents) and its check, which the end-to-end tests reuse as is.
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from fleet.broker import RunningBroker, free_port, start_broker, wait_for_port
from fleet.demo_screen import VirtualScreen, missing_programs
from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.mqtt import FLEET_USERNAME
from kiosk.i18n import cli_language, translator

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DEMO_TERMINALS: Final = ("bdx-demo-001", "bdx-demo-002", "bdx-demo-003")
ADMIN_USERNAME: Final = "admin"


@dataclass(frozen=True)
class Place:
    """Where a demo terminal stands: a public building, its commune, its position."""

    site: str
    commune: str
    latitude: float
    longitude: float


#: The demo terminals stand at town halls, at the positions the dashboard's plan already uses
#: for these communes (fleet/citymap.py): Bordeaux's Palais Rohan (place Pey-Berland), the
#: Hôtel de ville of Mérignac and that of Bègles. Four decimals: about ten metres.
DEMO_PLACES: Final = {
    "bdx-demo-001": Place("Hôtel de ville (Palais Rohan)", "Bordeaux", 44.8378, -0.5792),
    "bdx-demo-002": Place("Hôtel de ville", "Mérignac", 44.8386, -0.6436),
    "bdx-demo-003": Place("Hôtel de ville", "Bègles", 44.8086, -0.5478),
}


@dataclass(frozen=True)
class Pace:
    """How busy a terminal with simulated residents is: mean seconds between two residents,
    and of one visit (``python -m kiosk.demo.residents --between-s --visit-s``)."""

    between_s: float = 12.0
    visit_s: float = 20.0


def clock_is_synchronised() -> bool:
    """Whether the kernel says NTP keeps this machine's clock (True where it cannot tell), as
    the agent's sensors read it: :mod:`kiosk.demo.clock`, run as a program."""
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.demo.clock"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip() == "synchronised"


#: What shows the real kiosk: nothing (tests), its window on this display, or a virtual screen.
KioskMode = Literal["none", "window", "screen"]


@dataclass
class DemoStack:
    """Real processes for a whole little fleet, started and stopped together."""

    state_dir: Path
    terminals: tuple[str, ...] = DEMO_TERMINALS
    keepalive_s: int = 10
    health_interval_s: float = 5.0
    http_port: int | None = None
    #: The real kiosk runs on the first terminal, the UI stand-ins on the others.
    kiosk_mode: KioskMode = "none"
    #: A UI on every terminal without the real kiosk, so that none is "UI not responding".
    residents: bool = True
    resident_pace: Pace = field(default_factory=Pace)
    #: "none" when this machine's clock is not synchronised: see :func:`clock_is_synchronised`.
    clock_source: Literal["kernel", "none"] = field(
        default_factory=lambda: "kernel" if clock_is_synchronised() else "none"
    )
    place_terminals: bool = False
    broker: RunningBroker | None = None
    admin_password: str = ""
    fleet: subprocess.Popen[bytes] | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    uis: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kiosk: subprocess.Popen[bytes] | None = None
    screen: VirtualScreen | None = None
    started_at: float = 0.0

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.state_dir / 'fleet.db'}"

    @property
    def kiosk_terminal(self) -> str:
        return self.terminals[0]

    @property
    def kiosk_url(self) -> str | None:
        """The browser's address of the real kiosk on the virtual screen, if there is one."""
        return self.screen.url if self.screen is not None else None

    def agent_socket(self, terminal_id: str) -> Path:
        return self.state_dir / "agents" / terminal_id / "agent.sock"

    def start(self) -> None:
        """Start the broker, the fleet and one agent per terminal; return once they run."""
        self.started_at = time.monotonic()
        if self.state_dir.exists():
            shutil.rmtree(self.state_dir)
        self.logs_dir.mkdir(parents=True)
        credentials = {
            name: secrets.token_urlsafe(16) for name in (FLEET_USERNAME, *self.terminals)
        }
        self.broker = start_broker(
            self.state_dir / "broker", credentials, log_path=self.logs_dir / "mosquitto.log"
        )
        self.http_port = self.http_port or free_port()
        env = self._fleet_env(credentials[FLEET_USERNAME])
        self._run_fleet_command(["db", "upgrade"], env)
        self.admin_password = secrets.token_urlsafe(12)
        self._run_fleet_command(
            ["create-admin", ADMIN_USERNAME, "--password-stdin"], env, stdin=self.admin_password
        )
        self.fleet = self._spawn("fleet", [_script("fleet"), "serve"], env)
        if not wait_for_port("127.0.0.1", self.http_port, timeout_s=30):
            raise RuntimeError(f"the fleet did not start; see {self.logs_dir / 'fleet.log'}")
        for terminal_id in self.terminals:
            self.start_agent(terminal_id, credentials[terminal_id])
        if self.kiosk_mode != "none":
            self.start_kiosk()
        if self.residents:
            for terminal_id in self.terminals:
                if terminal_id != self.kiosk_terminal or self.kiosk_mode == "none":
                    self.start_residents(terminal_id)
        if self.place_terminals:
            self.place(env)

    def seconds_since_start(self) -> float:
        return time.monotonic() - self.started_at

    def start_agent(self, terminal_id: str, password: str) -> None:
        config = self.state_dir / "agents" / f"{terminal_id}.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        assert self.broker is not None
        config.write_text(
            f'terminal_id = "{terminal_id}"\n'
            f'state_dir = "{self.state_dir / "agents" / terminal_id}"\n'
            "[mqtt]\n"
            f'host = "{self.broker.host}"\nport = {self.broker.port}\n'
            f'password = "{password}"\nkeepalive_s = {self.keepalive_s}\n'
            f"[health]\ninterval_s = {self.health_interval_s}\n"
            f'[ui]\nsocket = "{self.agent_socket(terminal_id)}"\n'
            # Simulated terminals: a fleet "reboot" must never reboot this machine.
            '[actions]\nbackend = "simulated"\n'
            '[enclosure]\nbackend = "simulated"\n'
            f'[sensors]\nbackend = "simulated"\nclock = "{self.clock_source}"\n'
        )
        config.chmod(0o600)
        self.agents[terminal_id] = self._spawn(
            terminal_id, [_script("kiosk-agent"), "--config", str(config)], dict(os.environ)
        )

    def start_kiosk(self) -> None:
        """The real kiosk on the first terminal's agent: in a window, or on a virtual screen."""
        terminal_id = self.kiosk_terminal
        config = self.state_dir / "kiosk" / "kiosk.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        # The shipped content (no content update in the demo) and this terminal's agent.
        config.write_text(
            f'agent_socket = "{self.agent_socket(terminal_id)}"\n'
            f'catalog_dir = "{default_bundle_dir()}"\n'
        )
        env = dict(os.environ)
        if self.kiosk_mode == "screen":
            self.screen = VirtualScreen(self.state_dir / "screen", self.logs_dir)
            self.screen.start()
            env.update(DISPLAY=self.screen.display, QT_QPA_PLATFORM="xcb")
            env.pop("WAYLAND_DISPLAY", None)
        if os.geteuid() == 0:
            # Chromium refuses to run its sandbox as root.
            flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
            env["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --no-sandbox".strip()
        self.kiosk = self._spawn(
            "kiosk", [_script("kiosk"), "--windowed", "--config", str(config)], env
        )

    def start_residents(self, terminal_id: str) -> None:
        """A UI stand-in with simulated residents on ``terminal_id``'s local socket."""
        self.uis[terminal_id] = self._spawn(
            f"{terminal_id}-ui",
            [
                sys.executable,
                "-m",
                "kiosk.demo.residents",
                "--socket",
                str(self.agent_socket(terminal_id)),
                "--seed",
                terminal_id,
                "--between-s",
                str(self.resident_pace.between_s),
                "--visit-s",
                str(self.resident_pace.visit_s),
            ],
            dict(os.environ),
        )

    def place(self, env: dict[str, str], timeout_s: float = 30.0) -> None:
        """``fleet terminals locate`` for each demo terminal, once the fleet has heard of it."""
        deadline = time.monotonic() + timeout_s
        pending = {t: DEMO_PLACES[t] for t in self.terminals if t in DEMO_PLACES}
        while pending:
            for terminal_id, where in list(pending.items()):
                done = subprocess.run(
                    [
                        _script("fleet"), "terminals", "locate", terminal_id,
                        "--lat", str(where.latitude), "--lon", str(where.longitude),
                        "--site", where.site, "--commune", where.commune,
                    ],
                    env=env, capture_output=True, text=True, check=False,
                )  # fmt: skip
                if done.returncode == 0:
                    del pending[terminal_id]
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"could not place {', '.join(pending)}: {done.stderr.strip()}")
            if pending:
                time.sleep(0.5)  # the agents' first reports are on their way: poll again

    def stop(self) -> None:
        """Stop everything, newest first, each with SIGTERM then a bounded wait."""
        processes = [self.kiosk, *self.uis.values(), *self.agents.values(), self.fleet]
        for process in processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self.screen is not None:
            self.screen.stop()
        if self.broker is not None:
            self.broker.stop()

    def _fleet_env(self, broker_password: str) -> dict[str, str]:
        assert self.broker is not None
        return {
            **os.environ,
            "FLEET_DATABASE_URL": self.database_url,
            "FLEET_BROKER_HOST": self.broker.host,
            "FLEET_BROKER_PORT": str(self.broker.port),
            "FLEET_BROKER_USERNAME": FLEET_USERNAME,
            "FLEET_BROKER_PASSWORD": broker_password,
            "FLEET_BROKER_KEEPALIVE_S": str(self.keepalive_s),
            "FLEET_HTTP_HOST": "127.0.0.1",
            "FLEET_COOKIE_SECURE": "false",  # plain HTTP on loopback, explicitly
            "FLEET_HTTP_PORT": str(self.http_port),
            "FLEET_SECRET_KEY_FILE": str(self.state_dir / "secret_key"),
            # Enrolment from the dashboard adds users to this broker and reloads it at once.
            "FLEET_ENROLMENT_BROKER_PASSWORD_FILE": str(self.broker.password_file),
            "FLEET_ENROLMENT_BROKER_PID_FILE": str(self.broker.pid_file),
        }

    def _run_fleet_command(
        self, args: list[str], env: dict[str, str], stdin: str | None = None
    ) -> None:
        done = subprocess.run(
            [_script("fleet"), *args], env=env, input=stdin, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"fleet {' '.join(args)} failed: {done.stderr.strip()}")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.logs_dir / f"{name}.log").open("ab")
        try:
            # Its own session: Ctrl+C reaches only the demo, which stops everyone in order.
            return subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()


def _script(name: str) -> str:
    """The console script installed beside this interpreter (the project's virtualenv)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else name


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check_demo` found, terminal by terminal."""

    states: dict[str, str]
    placed: dict[str, bool]
    sessions: dict[str, int]

    def problems(self, need_sessions: tuple[str, ...]) -> list[str]:
        found = [f"{t}: {state}" for t, state in self.states.items() if state != "online"]
        found += [f"{t}: not placed" for t, placed in self.placed.items() if not placed]
        found += [f"{t}: no session" for t in need_sessions if not self.sessions.get(t)]
        return found


def check_demo(stack: DemoStack) -> CheckResult:
    """Each terminal's presence as the dashboard judges it, its place, and its sessions in the
    observatory export (every row, none suppressed), read from the demo's database."""
    from zoneinfo import ZoneInfo

    from fleet import observatory, presence
    from fleet.core.db import make_engine, make_session_factory
    from fleet.models import Terminal

    engine = make_engine(stack.database_url)
    try:
        with make_session_factory(engine)() as session:
            limits = presence.PresenceLimits()
            terminals = {t: session.get(Terminal, t) for t in stack.terminals}
            states: dict[str, str] = {
                t: presence.presence_of(row, limits) if row is not None else "unknown"
                for t, row in terminals.items()
            }
            placed = {
                t: row is not None and row.latitude is not None for t, row in terminals.items()
            }
            day = datetime.date.today()
            rows = observatory.usage(
                session, day - datetime.timedelta(days=1), day + datetime.timedelta(days=1),
                ZoneInfo("Europe/Paris"), min_sessions=1,
            )  # fmt: skip
    finally:
        engine.dispose()
    sessions: dict[str, int] = {}
    for row in rows:
        sessions[row.terminal_id] = sessions.get(row.terminal_id, 0) + (row.sessions or 0)
    return CheckResult(states, placed, sessions)


def main() -> None:
    language = cli_language(sys.argv[1:], dict(os.environ))
    _ = translator(LOCALE_DIR, "fleet", language)
    parser = argparse.ArgumentParser(
        prog="make demo",
        description=_("Start a broker, the fleet and three simulated terminals on this machine."),
    )
    parser.add_argument("--lang", default=language, help=_("Language of messages (fr, en)."))
    parser.add_argument("--port", type=int, default=8080, help=_("Dashboard port."))
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/demo"),
        help=_("Where the demo keeps its files."),
    )
    parser.add_argument(
        "--check",
        type=float,
        metavar=_("SECONDS"),
        help=_("Run this long, then check what the fleet shows and stop (exit 1 if wrong)."),
    )
    args = parser.parse_args()
    port = args.port if not wait_for_port("127.0.0.1", args.port, timeout_s=0.1) else free_port()
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    kiosk_mode: KioskMode = "window" if has_display else "screen"
    if not has_display and missing_programs():
        print(
            _(
                "No display, and no virtual screen without {packages}: the kiosk is not shown."
            ).format(packages=" ".join(missing_programs()))
        )
        kiosk_mode = "none"
    synchronised = clock_is_synchronised()
    stack = DemoStack(
        args.state_dir.resolve(),
        http_port=port,
        kiosk_mode=kiosk_mode,
        clock_source="kernel" if synchronised else "none",
        place_terminals=True,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stopping.set())
    signal.signal(signal.SIGINT, lambda *_args: stopping.set())
    print(
        _("Starting the broker, the fleet and {count} simulated terminals...").format(
            count=len(stack.terminals)
        )
    )
    if not synchronised:
        print(
            _(
                "Note: this machine's clock is not synchronised (no NTP here, as in a container "
                "or a chroot, which cannot set the clock). The demo terminals therefore report "
                "no clock state; a real terminal keeps its clock with systemd-timesyncd."
            )
        )
    code = 0
    try:
        stack.start()
        print()
        print(_("Dashboard: {url}").format(url=stack.dashboard_url))
        print(
            _("Login: {user}   Password: {password}").format(
                user=ADMIN_USERNAME, password=stack.admin_password
            )
        )
        if stack.kiosk_url is not None:
            print(
                _("Kiosk of {terminal} (touch it with the mouse): {url}").format(
                    terminal=stack.kiosk_terminal, url=stack.kiosk_url
                )
            )
        elif stack.kiosk is not None:
            print(
                _("Kiosk of {terminal}: in its own window.").format(terminal=stack.kiosk_terminal)
            )
        print(
            _("Kill a terminal and watch it turn 'lost': kill -9 {pid}  ({terminal})").format(
                pid=stack.agents[stack.terminals[-1]].pid, terminal=stack.terminals[-1]
            )
        )
        print(_("Logs: {path}").format(path=stack.logs_dir))
        print(_("Press Ctrl+C to stop everything."))
        started = time.monotonic()
        while not stopping.wait(1.0):
            dead = [name for name, proc in stack.agents.items() if proc.poll() is not None]
            if stack.fleet is not None and stack.fleet.poll() is not None:
                print(_("The fleet stopped unexpectedly; see {path}").format(path=stack.logs_dir))
                code = 1
                break
            if stack.kiosk is not None and stack.kiosk.poll() is not None:
                print(_("The kiosk stopped; see {path}").format(path=stack.logs_dir / "kiosk.log"))
                stack.kiosk = None
            if dead and time.monotonic() - started > 1:
                for name in dead:
                    print(
                        _("Terminal {terminal} stopped; its state turns to 'lost'.").format(
                            terminal=name
                        )
                    )
                    del stack.agents[name]
            if args.check is not None and time.monotonic() - started >= args.check:
                code = report_check(stack, _)
                break
    except RuntimeError as exc:
        print(_("The demo could not start: {reason}").format(reason=exc), file=sys.stderr)
        code = 1
    finally:
        print(_("Stopping..."))
        stack.stop()
    sys.exit(code)


def report_check(stack: DemoStack, _: Callable[[str], str]) -> int:
    """Print what :func:`check_demo` found; 0 when all is as the README says, else 1."""
    result = check_demo(stack)
    for terminal_id in stack.terminals:
        print(
            _("{terminal}: {state}, placed: {placed}, sessions exported: {sessions}").format(
                terminal=terminal_id,
                state=result.states[terminal_id],
                placed=_("yes") if result.placed[terminal_id] else _("no"),
                sessions=result.sessions.get(terminal_id, 0),
            )
        )
    problems = result.problems(tuple(stack.uis))
    if problems:
        print(_("Demo check failed: {problems}").format(problems="; ".join(problems)))
        return 1
    print(_("Demo check passed."))
    return 0


if __name__ == "__main__":
    main()
