"""``kiosk-agent``: run the device agent with a configuration file.

Exit codes: 0 after a clean stop (SIGTERM, SIGINT), 2 when the configuration (or the command
line) is unusable, 70 after an unexpected error (the one line printed names the file with its
details). The command line speaks like the other programs' (:mod:`kiosk.cli`).
"""

from __future__ import annotations

import argparse
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
from textwrap import indent
from typing import Final

from kiosk.agent.config import AgentSettings, ConfigError, load_settings
from kiosk.agent.i18n import Translate, gettext_for, languages
from kiosk.agent.mqtt.fleet_link import FleetLink
from kiosk.agent.notify import SystemdNotifier, configure_logging
from kiosk.agent.outbox import Outbox, OutboxLimits
from kiosk.agent.runtime import AgentRuntime
from kiosk.agent.sensors import PsutilSensors, SensorBackend, SimulatedSensors
from kiosk.agent.state import PersistentCounter, read_boot_id
from kiosk.cli import explain, guarded, speak
from kiosk.cli.argparse_app import Parser
from kiosk.contract import paths
from kiosk.contract.paths import AGENT_CONFIG
from kiosk.i18n import DEFAULT_LANGUAGE

log = logging.getLogger("kiosk.agent")

EXIT_CONFIG: Final = 2
#: A command line that cannot be parsed (as the configuration, it must be fixed).
EXIT_USAGE: Final = 2
PROG: Final = "kiosk-agent"
STOP_SIGNALS: Final = frozenset({signal.SIGTERM, signal.SIGINT})

EXAMPLE_CONFIG: Final = f"""\
terminal_id = "bdx-001"
state_dir = "{paths.AGENT_STATE_DIR}"

[mqtt]
host = "fleet.example.org"
port = 8883
password_file = "{paths.MQTT_PASSWORD}"
ca_file = "{paths.CA_FILE}"
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
socket = "{paths.AGENT_SOCKET}"

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


def build_fleet_link(settings: AgentSettings, _: Translate) -> FleetLink:
    """The agent's MQTT link to the fleet, or :class:`ConfigError` if its files cannot be used."""
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
        return FleetLink(
            settings, make_sensors(settings), message_seq, birth_seq, read_boot_id(), outbox
        )
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(
            _(
                'The CA file {ca_file} (key "mqtt.ca_file") is not a usable certificate: {error}.'
            ).format(ca_file=settings.mqtt.ca_file, error=exc)
        ) from exc


def build_parser(_: Translate) -> argparse.ArgumentParser:
    """The command line, with every text in the language of ``_``.

    argparse rather than Typer: the agent runs for months, and Typer and its click would stay
    loaded all that time (about 1 MB resident) only to read three options at start-up.
    """
    example = "\n\n".join(indent(block, "  ") for block in EXAMPLE_CONFIG.split("\n\n"))
    parser = Parser(
        PROG,
        _(
            "Run the device agent of a street terminal: it connects to the fleet's MQTT "
            "broker, says that the terminal is online, publishes its health at regular "
            "intervals and receives the fleet's commands. It stops cleanly on SIGTERM or "
            "Ctrl-C. Exit code 2 means the configuration file must be fixed."
        ),
        f"  {_('Example of a configuration file:')}\n\n{example}",
    )
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=AGENT_CONFIG,
        metavar=_("FILE"),
        help=_("The agent's TOML configuration file (default: {path}).").format(path=AGENT_CONFIG),
    )
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=[level.value for level in LogLevel],
        default=LogLevel.INFO.value,
        metavar=_("LEVEL"),
        help=_("How much to write to the log: debug, info, warning or error (default: info)."),
    )
    # --lang was already applied to _ before parsing; the option is declared for --help.
    parser.add_argument(
        "--lang",
        default=DEFAULT_LANGUAGE,
        metavar=_("LANGUAGE"),
        help=_("Language of messages and help, among {languages} (default: {default}).").format(
            languages=", ".join(languages()), default=DEFAULT_LANGUAGE
        ),
    )
    return parser


def run(config: Path, log_level: str, _: Translate) -> int:
    """Load the configuration and run the agent until SIGTERM or SIGINT; the exit code."""
    configure_logging(log_level.upper())
    try:
        settings = load_settings(config, _)
        fleet_link = build_fleet_link(settings, _)
    except ConfigError as exc:
        explain(str(exc), _("Fix the configuration file, then start the agent again."))
        return EXIT_CONFIG
    # Under systemd, every journal entry now carries TERMINAL_ID.
    configure_logging(log_level.upper(), settings.terminal_id)
    stop = threading.Event()
    stop_on_signals(stop, settings.terminal_id)
    release_startup_memory()
    AgentRuntime(settings, fleet_link, SystemdNotifier()).run(stop)
    return 0


@guarded(PROG)
def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``kiosk-agent`` and ``python -m kiosk.agent``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    language = language_from_argv(arguments)
    speak(language)
    _ = gettext_for(language)
    options = build_parser(_).parse_args(arguments)
    sys.exit(run(options.config, options.log_level, _))
