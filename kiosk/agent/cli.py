"""``kiosk-agent``: run the device agent with a configuration file.

Exit codes: 0 after a clean stop (SIGTERM, SIGINT), 2 when the configuration is unusable.
"""

# No ``from __future__ import annotations`` here: Typer reads the option declarations at run
# time, and they refer to the local ``_`` of build_app, which string annotations cannot see.

import ctypes
import gc
import logging
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Final

import typer

from kiosk.agent.config import DEFAULT_CONFIG_PATH, AgentSettings, ConfigError, load_settings
from kiosk.agent.i18n import Translate, gettext_for, languages
from kiosk.agent.notify import SystemdNotifier, configure_logging
from kiosk.agent.outbox import Outbox, OutboxLimits
from kiosk.agent.runtime import AgentRuntime
from kiosk.agent.sensors import PsutilSensors, SensorBackend, SimulatedSensors
from kiosk.agent.session import AgentSession
from kiosk.agent.state import PersistentCounter, read_boot_id
from kiosk.i18n import DEFAULT_LANGUAGE

log = logging.getLogger("kiosk.agent")

EXIT_CONFIG: Final = 2
STOP_SIGNALS: Final = frozenset({signal.SIGTERM, signal.SIGINT})

EXAMPLE_CONFIG: Final = """\
terminal_id = "bdx-001"
state_dir = "/var/lib/kiosk/agent"

[mqtt]
host = "fleet.example.org"
port = 8883
password_file = "/etc/kiosk/mqtt-password"
ca_file = "/etc/kiosk/ca.pem"
keepalive_s = 30

will_delay_s = 10

[health]
sample_s = 10
interval_s = 60
max_silence_s = 900

[outbox]
drain_per_s = 20
max_age_s = 604800

[sensors]
backend = "psutil"

[ui]
socket = "/run/kiosk/agent.sock"

[enclosure]
backend = "sysfs"
door_gpio = "/sys/class/gpio/gpio17/value"
"""


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def language_from_argv(argv: Sequence[str]) -> str:
    """The ``--lang`` value, looked up before parsing so that ``--help`` is in that language."""
    for index, argument in enumerate(argv):
        if argument == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--lang="):
            return argument.partition("=")[2]
    return DEFAULT_LANGUAGE


def stop_on_signals(stop: threading.Event, terminal_id: str) -> None:
    """Set ``stop`` on SIGTERM or SIGINT. Call in the main thread before starting any other.

    The signals are blocked in every thread and received by one thread with ``sigwait``:
    setting an Event from a Python signal handler could deadlock if the signal arrives while
    the main thread holds that Event's lock.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)

    def wait_for_signal() -> None:
        received = signal.sigwait(STOP_SIGNALS)
        log.info("terminal %s: %s received; stopping", terminal_id, signal.Signals(received).name)
        stop.set()

    threading.Thread(target=wait_for_signal, name="stop-signals", daemon=True).start()


def release_startup_memory() -> None:
    """Give back to the system what imports and parsing left behind (the agent runs for months).

    ``gc.freeze`` keeps the start-up objects out of later collections; ``malloc_trim`` (glibc)
    returns the freed heap pages, which Python's allocator would otherwise keep.
    """
    gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        log.debug("malloc_trim not available (not glibc); start-up memory stays reserved")


def make_sensors(settings: AgentSettings) -> SensorBackend:
    """The sensor backend the configuration asks for."""
    if settings.sensors.backend == "simulated":
        return SimulatedSensors(seed=settings.terminal_id)
    return PsutilSensors()


def build_session(settings: AgentSettings, _: Translate) -> AgentSession:
    """The agent's MQTT session, or :class:`ConfigError` if its files cannot be used."""
    state_dir = settings.state_dir
    try:
        # One counter for health, events and acks, so that the fleet de-duplicates by seq;
        # it goes on from the health-only counter of earlier versions.
        legacy = PersistentCounter(state_dir / "health.seq" if state_dir else None).value
        message_seq = PersistentCounter(
            state_dir / "message.seq" if state_dir else None, at_least=legacy
        )
        birth_seq = PersistentCounter(state_dir / "birth.seq" if state_dir else None)
    except OSError as exc:
        raise ConfigError(
            _(
                'The state directory {state_dir} (key "state_dir") cannot be created: {error}.'
            ).format(state_dir=state_dir, error=exc.strerror or exc)
        ) from exc
    limits = OutboxLimits(
        max_rows=settings.outbox.max_rows,
        max_bytes=settings.outbox.max_bytes,
        max_age_s=settings.outbox.max_age_s,
    )
    # A queue directory that cannot be used is not fatal: the outbox falls back to memory.
    outbox = Outbox(state_dir / "outbox" if state_dir else None, settings.terminal_id, limits)
    try:
        return AgentSession(
            settings, make_sensors(settings), message_seq, birth_seq, read_boot_id(), outbox
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            _(
                'The CA file {ca_file} (key "mqtt.ca_file") is not a usable certificate: {error}.'
            ).format(ca_file=settings.mqtt.ca_file, error=exc)
        ) from exc


def build_app(_: Translate) -> typer.Typer:
    """The command line, with every text in the language of ``_``."""
    app = typer.Typer(
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": [], "max_content_width": 100},
    )

    def show_help(context: typer.Context, value: bool) -> None:
        if value:
            typer.echo(context.get_help())
            raise typer.Exit(0)

    @app.command(
        help=_(
            "Run the device agent of a street terminal: it connects to the fleet's MQTT "
            "broker, says that the terminal is online, publishes its health at regular "
            "intervals and receives the fleet's commands. It stops cleanly on SIGTERM or "
            "Ctrl-C. Exit code 2 means the configuration file must be fixed."
        ),
        # "\b" keeps click from re-flowing each block of the example into one line.
        epilog=_("Example of a configuration file:")
        + "".join(f"\n\n\b\n{block}" for block in EXAMPLE_CONFIG.split("\n\n")),
    )
    def run(
        config: Annotated[
            Path,
            typer.Option(
                "--config",
                "-c",
                metavar=_("FILE"),
                help=_("The agent's TOML configuration file (default: {path}).").format(
                    path=DEFAULT_CONFIG_PATH
                ),
                show_default=False,
            ),
        ] = DEFAULT_CONFIG_PATH,
        log_level: Annotated[
            LogLevel,
            typer.Option(
                "--log-level",
                metavar=_("LEVEL"),
                help=_(
                    "How much to write to the log: debug, info, warning or error (default: info)."
                ),
                show_default=False,
                case_sensitive=False,
            ),
        ] = LogLevel.INFO,
        lang: Annotated[
            str,
            typer.Option(
                "--lang",
                metavar=_("LANGUAGE"),
                help=_(
                    "Language of messages and help, among {languages} (default: {default})."
                ).format(languages=", ".join(languages()), default=DEFAULT_LANGUAGE),
                show_default=False,
            ),
        ] = DEFAULT_LANGUAGE,
        show: Annotated[
            bool,
            typer.Option(
                "--help",
                "-h",
                is_eager=True,
                expose_value=True,
                callback=show_help,
                help=_("Show this help and exit."),
            ),
        ] = False,
    ) -> None:
        # --lang was already applied to _ before parsing; the option is declared for --help.
        del lang, show
        configure_logging(log_level.upper())
        try:
            settings = load_settings(config, _)
            session = build_session(settings, _)
        except ConfigError as exc:
            typer.echo(_("Error: {message}").format(message=exc), err=True)
            raise typer.Exit(EXIT_CONFIG) from None
        # Under systemd, every journal entry now carries TERMINAL_ID.
        configure_logging(log_level.upper(), settings.terminal_id)
        stop = threading.Event()
        stop_on_signals(stop, settings.terminal_id)
        release_startup_memory()
        AgentRuntime(settings, session, SystemdNotifier()).run(stop)

    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``kiosk-agent`` and ``python -m kiosk.agent``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    app = build_app(gettext_for(language_from_argv(arguments)))
    app(args=arguments, prog_name="kiosk-agent")
