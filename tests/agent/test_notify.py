"""sd_notify over a real datagram socket, the watchdog interval, and the logging set-up."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.agent.notify import (
    SystemdNotifier,
    configure_logging,
    start_watchdog,
    watchdog_interval,
)


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(path))
    receiver.settimeout(5)
    with receiver:
        yield receiver, str(path)


def test_notifications_are_datagrams_on_notify_socket(
    notify_socket: tuple[socket.socket, str],
) -> None:
    receiver, path = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready(status="connected to the broker")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=connected to the broker"
    assert notifier.watchdog()
    assert receiver.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("two\nlines")
    assert receiver.recv(4096) == b"STATUS=two lines"
    assert notifier.stopping()
    assert receiver.recv(4096) == b"STOPPING=1"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux's")
def test_abstract_namespace_sockets_are_supported() -> None:
    name = f"kiosk-test-notify-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(b"\0" + name.encode())
        receiver.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert receiver.recv(4096) == b"READY=1"


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.ready() is False


def test_a_vanished_notify_socket_is_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    assert len([r for r in caplog.records if "cannot notify" in r.message]) == 1


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, pid=42) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "41"}, pid=42) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None


def test_the_watchdog_is_fed_while_healthy(notify_socket: tuple[socket.socket, str]) -> None:
    receiver, path = notify_socket
    stop = threading.Event()
    thread = start_watchdog(SystemdNotifier({"NOTIFY_SOCKET": path}), 0.01, stop)
    try:
        assert receiver.recv(4096) == b"WATCHDOG=1"
        assert receiver.recv(4096) == b"WATCHDOG=1"
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_logging_goes_to_stderr_outside_systemd() -> None:
    handler = configure_logging(logging.INFO, "bdx-test-a", environ={})
    assert isinstance(handler, logging.StreamHandler)
    assert logging.getLogger().handlers == [handler]
    assert logging.getLogger().level == logging.INFO
    assert handler.formatter is not None
    assert "asctime" in (handler.formatter._fmt or "")


@pytest.mark.usefixtures("restore_root_logger")
def test_logging_under_systemd_goes_to_the_journal_with_the_terminal_id() -> None:
    from systemd.journal import JournalHandler  # installed by `make` (the agent extra)

    handler = configure_logging("DEBUG", "bdx-test-a", environ={"JOURNAL_STREAM": "8:1234"})
    assert isinstance(handler, JournalHandler)
    assert handler._extra["TERMINAL_ID"] == "bdx-test-a"
    assert handler._extra["SYSLOG_IDENTIFIER"] == "kiosk-agent"
