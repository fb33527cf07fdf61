"""Talking to systemd without libsystemd: ``sd_notify`` datagrams, the watchdog, journald logging.

``sd_notify`` is one datagram on the Unix socket named by ``$NOTIFY_SOCKET`` (a leading ``@``
means Linux's abstract namespace), so a few lines of Python replace ``systemd-python``, which
needs libsystemd headers to install. The journal handler is used only when ``systemd.journal``
happens to be importable; otherwise stderr, which journald captures anyway.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Final

log = logging.getLogger(__name__)

SYSLOG_IDENTIFIER: Final = "kiosk-agent"


class SystemdNotifier:
    """Sends state changes to the service manager; does nothing when not run by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        raw = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if raw.startswith("@"):
            self._address = b"\0" + raw[1:].encode()
        elif raw.startswith("/"):
            self._address = raw
        elif raw:
            log.warning("NOTIFY_SOCKET=%r is neither a path nor abstract; not notifying", raw)
        self._failures_logged = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; True if sent, False if no-op or failed."""
        if self._address is None:
            return False
        message = "\n".join(assignments).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(self._address)
                sock.sendall(message)
        except OSError as exc:
            if not self._failures_logged:
                # Once: a watchdog that cannot be fed ends with systemd restarting us, which
                # the journal shows; repeating this every ping would only bury that.
                log.error("cannot notify systemd (%s); the service may be restarted", exc)
                self._failures_logged = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def status(self, text: str) -> bool:
        # One line: a newline would start another assignment.
        return self.notify(f"STATUS={' '.join(text.splitlines())}")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


def watchdog_interval(
    environ: Mapping[str, str] | None = None, pid: int | None = None
) -> float | None:
    """Seconds between ``WATCHDOG=1`` pings (half of ``$WATCHDOG_USEC``), or None if unwatched."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    watched_pid = env.get("WATCHDOG_PID")
    if watched_pid and watched_pid != str(os.getpid() if pid is None else pid):
        return None
    try:
        microseconds = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number; not pinging the watchdog", usec)
        return None
    if microseconds <= 0:
        return None
    return microseconds / 2 / 1_000_000


def start_watchdog(
    notifier: SystemdNotifier,
    interval_s: float,
    stop: threading.Event,
    healthy: Callable[[], bool] = lambda: True,
) -> threading.Thread:
    """Ping the watchdog every ``interval_s`` while ``healthy()``, until ``stop`` is set."""

    def ping() -> None:
        while not stop.wait(interval_s):
            if healthy():
                notifier.watchdog()
            else:
                log.warning("agent unhealthy; not feeding the watchdog, systemd will restart it")

    thread = threading.Thread(target=ping, name="kiosk-watchdog", daemon=True)
    thread.start()
    return thread


def configure_logging(
    level: int | str,
    terminal_id: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """Send the root logger to journald (structured) under systemd, else to stderr."""
    env = os.environ if environ is None else environ
    handler: logging.Handler | None = None
    under_systemd = bool(env.get("JOURNAL_STREAM"))
    if under_systemd:
        handler = _journal_handler(terminal_id)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        # journald stamps each line itself; a terminal does not.
        prefix = "" if under_systemd else "%(asctime)s "
        handler.setFormatter(logging.Formatter(prefix + "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for previous in list(root.handlers):
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


def _journal_handler(terminal_id: str | None) -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    fields = {"SYSLOG_IDENTIFIER": SYSLOG_IDENTIFIER}
    if terminal_id:
        fields["TERMINAL_ID"] = terminal_id
    handler: logging.Handler = JournalHandler(**fields)
    return handler
