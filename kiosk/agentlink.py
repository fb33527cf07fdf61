"""The kiosk UI's end of the local socket to the agent (no Qt here).

The UI must never wait for the agent: every method queues a line and returns at once, and a
background thread connects (retrying while the agent is absent), writes and reads. While the
agent is not connected, messages are dropped and counted: heartbeats would be stale anyway, and
the agent reports a UI it does not hear from. ``on_message`` is called in that background thread;
the Qt side hands it over to the GUI thread (a queued signal) before touching any widget.
"""

from __future__ import annotations

import logging
import secrets
import selectors
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from kiosk.contract.local import (
    AgentMessage,
    Crash,
    Heartbeat,
    LineSplitter,
    LocalProtocolError,
    SessionEnded,
    SessionEndReason,
    SessionStarted,
    UiMessage,
    WipeResult,
    decode_agent_message,
    encode,
)
from kiosk.contract.mqtt import HelpUsage, SessionAssist
from kiosk.contract.paths import AGENT_SOCKET
from kiosk.wakeable import WakeableThread

log = logging.getLogger(__name__)

DEFAULT_RETRY_INTERVAL_S: Final = 1.0
#: Lines waiting for the socket before new ones are dropped.
DEFAULT_MAX_QUEUED: Final = 64


def new_session_id() -> str:
    """A random session id: it says nothing about the resident."""
    return secrets.token_urlsafe(12)


class AgentLink(WakeableThread):
    """Sends the UI's heartbeats and session events to the agent; receives its orders."""

    def __init__(
        self,
        path: Path = AGENT_SOCKET,
        *,
        ui_version: str,
        on_message: Callable[[AgentMessage], None] | None = None,
        retry_interval_s: float = DEFAULT_RETRY_INTERVAL_S,
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        super().__init__()
        self._path = path
        self._ui_version = ui_version
        self._on_message = on_message
        self._retry_interval_s = retry_interval_s
        self._max_queued = max_queued
        self._lock = threading.Lock()
        self._outbound: list[bytes] = []
        self._connected = False
        self._dropped = 0
        self._malformed = 0

    # ---------------------------------------------------------------------------------------
    # Life cycle

    def start(self) -> None:
        """Start connecting in the background; returns at once."""
        self._start_thread(self._run, "kiosk-agentlink")

    def stop(self) -> None:
        """Disconnect and stop the background thread."""
        self._stop_thread()
        self._close_wake()

    @property
    def connected(self) -> bool:
        with self._lock:
            return self._connected

    @property
    def dropped(self) -> int:
        """Messages not sent: agent absent, queue full, or refused by the protocol's models."""
        with self._lock:
            return self._dropped

    @property
    def malformed(self) -> int:
        """Lines from the agent that were not a known message."""
        return self._malformed

    # ---------------------------------------------------------------------------------------
    # What the UI says (any thread; never blocks)

    def heartbeat(self, session_open: bool) -> bool:
        return self._send(lambda: Heartbeat(ui_version=self._ui_version, session_open=session_open))

    def session_started(self, session_id: str, tile_id: str) -> bool:
        return self._send(lambda: SessionStarted(session_id=session_id, tile_id=tile_id))

    def session_ended(
        self,
        session_id: str,
        duration_s: float,
        tiles_used: list[str],
        reason: SessionEndReason,
        help_usage: HelpUsage | None = None,
        assist: SessionAssist | None = None,
    ) -> bool:
        return self._send(
            lambda: SessionEnded(
                session_id=session_id,
                duration_s=duration_s,
                tiles_used=tiles_used,
                reason=reason,
                help=help_usage or HelpUsage(),
                assist=assist or SessionAssist(),
            )
        )

    def wipe_result(self, ok: bool, checks_failed: list[str]) -> bool:
        return self._send(lambda: WipeResult(ok=ok, checks_failed=checks_failed))

    def crash(self, component: str, reason: str) -> bool:
        return self._send(lambda: Crash(component=component, reason=reason))

    def send(self, message: UiMessage) -> bool:
        """Queue ``message``; False (and counted) when it cannot be sent now."""
        return self._send(lambda: message)

    def _send(self, build: Callable[[], UiMessage]) -> bool:
        try:
            line = encode(build())
        except ValidationError as exc:
            # A bug on the UI side, or a value that could carry personal data: never sent.
            first = exc.errors()[0]
            log.warning(
                "a %s message was refused by the local protocol (%s: %s) and not sent",
                exc.title,
                ".".join(str(part) for part in first["loc"]),
                first["type"],
            )
            with self._lock:
                self._dropped += 1
            return False
        with self._lock:
            if not self._connected or len(self._outbound) >= self._max_queued:
                self._dropped += 1
                return False
            self._outbound.append(line)
        self._wake()
        return True

    # ---------------------------------------------------------------------------------------
    # The background thread

    def _run(self) -> None:
        announced_absent = False
        while not self._stopping.is_set():
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(1.0)
            try:
                sock.connect(str(self._path))
            except OSError as exc:
                sock.close()
                if not announced_absent:
                    log.warning(
                        "agent not reachable on %s (%s); retrying every %s s",
                        self._path,
                        exc.strerror or exc,
                        self._retry_interval_s,
                    )
                    announced_absent = True
                self._stopping.wait(self._retry_interval_s)
                continue
            announced_absent = False
            log.info("connected to the agent on %s", self._path)
            sock.setblocking(False)
            with self._lock:
                self._connected = True
            try:
                self._pump(sock)
            finally:
                with self._lock:
                    self._connected = False
                    self._dropped += len(self._outbound)
                    self._outbound.clear()
                sock.close()
            if not self._stopping.is_set():
                log.warning("connection to the agent lost; reconnecting")
                self._stopping.wait(self._retry_interval_s)

    def _pump(self, sock: socket.socket) -> None:
        """Exchange lines over ``sock`` until it closes or the link stops."""
        splitter = LineSplitter()
        pending = bytearray()
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake_reader, selectors.EVENT_READ, "wake")
            selector.register(sock, selectors.EVENT_READ, "agent")
            while not self._stopping.is_set():
                with self._lock:
                    for line in self._outbound:
                        pending += line
                    self._outbound.clear()
                events = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
                selector.modify(sock, events, "agent")
                for key, mask in selector.select(timeout=1.0):
                    if key.data == "wake":
                        self._drain_wake()
                        continue
                    if mask & selectors.EVENT_WRITE:
                        try:
                            sent = sock.send(pending)
                        except BlockingIOError:
                            sent = 0
                        except OSError:
                            return
                        del pending[:sent]
                    if mask & selectors.EVENT_READ and not self._receive(sock, splitter):
                        return

    def _receive(self, sock: socket.socket, splitter: LineSplitter) -> bool:
        """Read what the agent sent; False when the connection is over."""
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        try:
            lines = splitter.feed(data)
        except LocalProtocolError:
            log.warning("the agent sent an oversized line; reconnecting")
            self._malformed += 1
            return False
        for line in lines:
            try:
                message = decode_agent_message(line)
            except LocalProtocolError as exc:
                self._malformed += 1
                log.warning("dropped a line from the agent (%s)", exc.reason)
                continue
            if self._on_message is None:
                continue
            try:
                self._on_message(message)
            except Exception:
                # The UI's handler failing must not cut the UI off from the agent.
                log.exception("handling the agent's %s message failed", message.type)
        return True
