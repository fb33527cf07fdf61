"""``make demo``: a broker, the fleet and simulated terminals on this machine, in one command.

The same :class:`DemoStack` serves the end-to-end test, so what the newcomer sees is what the
tests prove. Everything runs as real processes: Mosquitto with the project's configuration,
``fleet serve`` on SQLite, ``kiosk-agent`` with simulated sensors, and the ``kiosk`` window
where a display exists.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fleet.broker import RunningBroker, free_port, start_broker, wait_for_port
from kiosk.contract import FLEET_USERNAME
from kiosk.i18n import cli_language, translator

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DEMO_TERMINALS: Final = ("bdx-demo-001", "bdx-demo-002", "bdx-demo-003")
ADMIN_USERNAME: Final = "admin"


@dataclass
class DemoStack:
    """Real processes for a whole little fleet, started and stopped together."""

    state_dir: Path
    terminals: tuple[str, ...] = DEMO_TERMINALS
    keepalive_s: int = 10
    health_interval_s: float = 5.0
    http_port: int | None = None
    with_kiosk: bool = False
    broker: RunningBroker | None = None
    admin_password: str = ""
    fleet: subprocess.Popen[bytes] | None = None
    agents: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kiosk: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

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
        if self.with_kiosk:
            self.kiosk = self._spawn("kiosk", [_script("kiosk"), "--windowed"], dict(os.environ))

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
            f'[ui]\nsocket = "{self.state_dir / "agents" / terminal_id / "agent.sock"}"\n'
            # Simulated terminals: a fleet "reboot" must never reboot this machine.
            '[actions]\nbackend = "simulated"\n'
            '[enclosure]\nbackend = "simulated"\n'
            '[sensors]\nbackend = "simulated"\n'
        )
        config.chmod(0o600)
        self.agents[terminal_id] = self._spawn(
            terminal_id, [_script("kiosk-agent"), "--config", str(config)], dict(os.environ)
        )

    def stop(self) -> None:
        """Stop everything, newest first, each with SIGTERM then a bounded wait."""
        processes = [self.kiosk, *self.agents.values(), self.fleet]
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
        if self.broker is not None:
            self.broker.stop()

    def _fleet_env(self, broker_password: str) -> dict[str, str]:
        assert self.broker is not None
        return {
            **os.environ,
            "FLEET_DATABASE_URL": f"sqlite:///{self.state_dir / 'fleet.db'}",
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
    args = parser.parse_args()
    port = args.port if not wait_for_port("127.0.0.1", args.port, timeout_s=0.1) else free_port()
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    stack = DemoStack(args.state_dir.resolve(), http_port=port, with_kiosk=has_display)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_args: stopping.set())
    signal.signal(signal.SIGINT, lambda *_args: stopping.set())
    print(
        _("Starting the broker, the fleet and {count} simulated terminals...").format(
            count=len(stack.terminals)
        )
    )
    try:
        stack.start()
        print()
        print(_("Dashboard: {url}").format(url=stack.dashboard_url))
        print(
            _("Login: {user}   Password: {password}").format(
                user=ADMIN_USERNAME, password=stack.admin_password
            )
        )
        print(_("Logs: {path}").format(path=stack.logs_dir))
        if not has_display:
            print(_("No display here: the kiosk window is not started (try `kiosk --windowed`)."))
        print(_("Press Ctrl+C to stop everything."))
        started = time.monotonic()
        while not stopping.wait(1.0):
            dead = [name for name, proc in stack.agents.items() if proc.poll() is not None]
            if stack.fleet is not None and stack.fleet.poll() is not None:
                print(_("The fleet stopped unexpectedly; see {path}").format(path=stack.logs_dir))
                break
            if dead and time.monotonic() - started > 1:
                for name in dead:
                    print(
                        _("Terminal {terminal} stopped; its state turns to 'lost'.").format(
                            terminal=name
                        )
                    )
                    del stack.agents[name]
    except RuntimeError as exc:
        print(_("The demo could not start: {reason}").format(reason=exc), file=sys.stderr)
        sys.exit(1)
    finally:
        print(_("Stopping..."))
        stack.stop()


if __name__ == "__main__":
    main()
