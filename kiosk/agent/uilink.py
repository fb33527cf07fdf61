"""The agent's end of the local socket to the kiosk UI: heartbeats and events in, orders out.

One background thread runs a ``selectors`` loop over the listening Unix socket, every connected UI
and a wake-up socket pair (so that :meth:`UiLinkServer.send_to_ui`, called from any thread, only
queues bytes and never blocks on a slow reader). Nothing a UI sends can stop the loop: malformed
lines are counted and dropped, an oversized line closes its connection.

Over 400 lines because the selectors loop, the connections it owns and the orders that wait for
the UI's answer (wipe, screenshot) share one thread's state; apart, their locking would be
spread over modules.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import logging
import os
import selectors
import socket
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

from kiosk.agent.messages import UiState
from kiosk.agent.uimessages import (
    AgentMessage,
    Crash,
    Heartbeat,
    ScreenshotPart,
    ScreenshotRequest,
    SessionEnded,
    SessionStarted,
    UiMessage,
    WipeNow,
    WipeResult,
    decode_ui_message,
    encode,
)
from kiosk.contract.paths import AGENT_SOCKET
from kiosk.contract.wire import (
    PNG_SIGNATURE,
    SCREENSHOT_MAX_BYTES,
    LineSplitter,
    LocalProtocolError,
    Scalar,
    utc_now,
)
from kiosk.wakeable import WakeableThread

log = logging.getLogger(__name__)

DEFAULT_LIVENESS_TIMEOUT_S: Final = 10.0
#: Bytes queued for one UI before it is considered stuck and disconnected.
MAX_OUTBOUND_BYTES: Final = 256 * 1024
_MAX_JOINED_CHARS: Final = 200

#: ``on_session_event(kind, data)``: kind is a contract Event kind, data holds counts and ids only.
SessionEventCallback = Callable[[str, dict[str, Scalar]], None]


class UiLinkError(OSError):
    """The socket cannot be set up (path taken by a live agent or by something not a socket)."""


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    number: int
    splitter: LineSplitter = field(default_factory=LineSplitter)
    outbound: bytearray = field(default_factory=bytearray)
    closing: bool = False


def _joined(names: Sequence[str]) -> str:
    """Distinct names, comma-separated, cut at a whole name to fit a contract Event value."""
    text = ""
    for name in dict.fromkeys(names):
        candidate = f"{text},{name}" if text else name
        if len(candidate) > _MAX_JOINED_CHARS:
            break
        text = candidate
    return text


def _assembled(parts: dict[int, str] | None, max_bytes: int) -> bytes | None:
    """The PNG once every part is in; a picture too large or not a PNG counts as ``b""``."""
    if not parts or -1 not in parts:
        return None
    count = int(parts[-1])
    if any(index not in parts for index in range(count)):
        return None
    try:
        png = base64.b64decode("".join(parts[index] for index in range(count)), validate=True)
    except ValueError:
        return b""
    if len(png) > max_bytes or not png.startswith(PNG_SIGNATURE):
        return b""
    return png


class UiLinkServer(WakeableThread):
    """Listens for kiosk UIs on a Unix socket; knows whether the UI is alive and what it did."""

    def __init__(
        self,
        path: Path = AGENT_SOCKET,
        *,
        on_session_event: SessionEventCallback | None = None,
        liveness_timeout_s: float = DEFAULT_LIVENESS_TIMEOUT_S,
        terminal_id: str = "-",
        socket_mode: int = 0o660,
        socket_group: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self._path = path
        self._on_session_event = on_session_event
        self._liveness_timeout_s = liveness_timeout_s
        self._terminal_id = terminal_id
        self._socket_mode = socket_mode
        self._socket_group = socket_group
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._wipe_done = threading.Condition(self._lock)
        self._connections: dict[int, _Connection] = {}
        self._next_number = 0
        self._last_heartbeat: float | None = None
        self._ui_version: str | None = None
        self._session_open = False
        self._sessions_total = 0
        self._last_wipe: WipeResult | None = None
        self._last_wipe_at: datetime | None = None
        self._wipes_seen = 0
        # request id -> the parts of its picture received so far (index -> base64), or the
        # UI's refusal; only for the request being waited for.
        self._screenshots: dict[str, dict[int, str] | str] = {}
        self._screenshot_done = threading.Condition(self._lock)
        self._malformed_lines = 0
        self._oversized_lines = 0
        self._was_alive = False
        self._listener: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._socket_inode: int | None = None

    # ---------------------------------------------------------------------------------------
    # Life cycle

    @property
    def path(self) -> Path:
        return self._path

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and serve in a background thread.

        Raise :class:`UiLinkError` if another agent listens on the path or the path is not a
        socket, ``OSError`` if the directory cannot be made.
        """
        self._listener = self._bind()
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, "listener")
        self._selector.register(self._wake_reader, selectors.EVENT_READ, "wake")
        self._start_thread(self._serve, "kiosk-uilink")
        log.info("terminal %s: listening for the kiosk UI on %s", self._terminal_id, self._path)

    def stop(self) -> None:
        """Close every connection and remove the socket file (if it is still ours)."""
        self._stop_thread()
        with self._lock:
            for connection in list(self._connections.values()):
                self._close(connection)
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            self._remove_socket_file()
        self._selector.close()
        self._close_wake()
        with self._wipe_done:
            self._wipe_done.notify_all()
            self._screenshot_done.notify_all()

    def _bind(self) -> socket.socket:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._refuse_taken_path()
        # Bound under a temporary name, given its mode, then renamed over the final path: the
        # final path never exists with the wrong mode, and a stale socket is replaced atomically.
        temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}")
        temporary.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(temporary))
            os.chmod(temporary, self._socket_mode)
            if self._socket_group is not None:
                os.chown(temporary, -1, grp.getgrnam(self._socket_group).gr_gid)
            listener.listen(8)
            os.replace(temporary, self._path)
        except (OSError, KeyError) as exc:
            listener.close()
            temporary.unlink(missing_ok=True)
            raise UiLinkError(f"cannot listen on {self._path}: {exc}") from exc
        self._socket_inode = self._path.stat().st_ino
        return listener

    def _refuse_taken_path(self) -> None:
        try:
            mode = self._path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise UiLinkError(f"{self._path} exists and is not a socket; not replacing it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(str(self._path))
        except (ConnectionRefusedError, FileNotFoundError):
            log.info("terminal %s: replacing the stale socket %s", self._terminal_id, self._path)
            return
        finally:
            probe.close()
        raise UiLinkError(f"another process already listens on {self._path}")

    def _remove_socket_file(self) -> None:
        try:
            if self._path.stat().st_ino == self._socket_inode:
                self._path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("terminal %s: cannot remove %s (%s)", self._terminal_id, self._path, exc)

    # ---------------------------------------------------------------------------------------
    # Any thread

    def ui_state(self) -> UiState:
        """What the agent knows of the UI, for the health report."""
        with self._lock:
            age = None if self._last_heartbeat is None else self._clock() - self._last_heartbeat
            return UiState(
                alive=age is not None and age <= self._liveness_timeout_s,
                heartbeat_age_s=None if age is None else round(max(0.0, age), 1),
                session_open=self._session_open,
                sessions_total=self._sessions_total,
                last_wipe_ok=None if self._last_wipe is None else self._last_wipe.ok,
                last_wipe_at=self._last_wipe_at,
            )

    @property
    def malformed_lines(self) -> int:
        return self._malformed_lines

    @property
    def oversized_lines(self) -> int:
        return self._oversized_lines

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def send_to_ui(self, message: AgentMessage) -> bool:
        """Queue ``message`` for every connected UI; False when none is connected."""
        data = encode(message)
        queued = False
        with self._lock:
            for connection in self._connections.values():
                if connection.closing:
                    continue
                if len(connection.outbound) + len(data) > MAX_OUTBOUND_BYTES:
                    log.warning(
                        "terminal %s: UI connection %d does not read its messages; closing it",
                        self._terminal_id,
                        connection.number,
                    )
                    connection.closing = True
                    continue
                connection.outbound += data
                queued = True
        self._wake()
        return queued

    def request_wipe(self, command_id: str, timeout_s: float) -> WipeResult | None:
        """Send ``wipe_now`` and wait for the UI's next ``wipe_result``; None if none came."""
        with self._lock:
            seen_before = self._wipes_seen
        if not self.send_to_ui(WipeNow(command_id=command_id)):
            return None
        deadline = time.monotonic() + timeout_s
        with self._wipe_done:
            while self._wipes_seen == seen_before and not self._stopping.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._wipe_done.wait(remaining)
            return self._last_wipe if self._wipes_seen != seen_before else None

    def request_screenshot(
        self, request_id: str, timeout_s: float, max_bytes: int = SCREENSHOT_MAX_BYTES
    ) -> bytes | str | None:
        """Ask the UI for a PNG of its screen: the PNG, the UI's refusal (``session_open``,
        ``not_home``, ``failed``), or None if it did not answer in time (or is not connected).

        The UI answers with a picture only on its attract or home screen, no session open.
        """
        with self._lock:
            self._screenshots[request_id] = {}
        try:
            if not self.send_to_ui(ScreenshotRequest(request_id=request_id, max_bytes=max_bytes)):
                return None
            deadline = time.monotonic() + timeout_s
            with self._screenshot_done:
                while not self._stopping.is_set():
                    answer = self._screenshots.get(request_id)
                    if isinstance(answer, str):
                        return answer
                    png = _assembled(answer, max_bytes)
                    if png is not None:
                        return png
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return None
                    self._screenshot_done.wait(remaining)
            return None
        finally:
            with self._lock:
                self._screenshots.pop(request_id, None)

    # ---------------------------------------------------------------------------------------
    # The server thread

    def _serve(self) -> None:
        tick = min(1.0, self._liveness_timeout_s / 4)
        while not self._stopping.is_set():
            self._update_interest()
            for key, mask in self._selector.select(timeout=tick):
                if key.data == "listener":
                    self._accept()
                elif key.data == "wake":
                    self._drain_wake()
                elif isinstance(key.data, _Connection):
                    if mask & selectors.EVENT_READ:
                        self._read(key.data)
                    if mask & selectors.EVENT_WRITE:
                        self._flush(key.data)
            self._log_liveness_change()

    def _update_interest(self) -> None:
        with self._lock:
            for connection in list(self._connections.values()):
                if connection.closing and not connection.outbound:
                    self._close(connection)
                    continue
                wanted = selectors.EVENT_READ
                if connection.outbound:
                    wanted |= selectors.EVENT_WRITE
                if self._selector.get_key(connection.sock).events != wanted:
                    self._selector.modify(connection.sock, wanted, connection)

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        except OSError as exc:
            log.warning("terminal %s: UI connection not accepted (%s)", self._terminal_id, exc)
            return
        sock.setblocking(False)
        with self._lock:
            self._next_number += 1
            connection = _Connection(sock, self._next_number)
            self._connections[connection.number] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)
        log.info("terminal %s: kiosk UI connected (#%d)", self._terminal_id, connection.number)

    def _read(self, connection: _Connection) -> None:
        try:
            data = connection.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError as exc:
            log.info("terminal %s: UI #%d lost (%s)", self._terminal_id, connection.number, exc)
            data = b""
        if not data:
            with self._lock:
                self._close(connection)
            return
        try:
            lines = connection.splitter.feed(data)
        except LocalProtocolError:
            self._oversized_lines += 1
            log.warning(
                "terminal %s: UI #%d sent a line over the size limit; closing the connection",
                self._terminal_id,
                connection.number,
            )
            with self._lock:
                self._close(connection)
            return
        for line in lines:
            try:
                message = decode_ui_message(line)
            except LocalProtocolError as exc:
                self._malformed_lines += 1
                # Only the reason: the line itself is not ours to copy into logs.
                log.warning(
                    "terminal %s: UI #%d sent a line that was dropped (%s)",
                    self._terminal_id,
                    connection.number,
                    exc.reason,
                )
                continue
            self._handle(message)

    def _flush(self, connection: _Connection) -> None:
        with self._lock:
            try:
                sent = connection.sock.send(connection.outbound)
            except BlockingIOError:
                return
            except OSError as exc:
                log.info("terminal %s: UI #%d lost (%s)", self._terminal_id, connection.number, exc)
                self._close(connection)
                return
            del connection.outbound[:sent]

    def _close(self, connection: _Connection) -> None:
        """Forget ``connection``; the caller holds the lock."""
        if self._connections.pop(connection.number, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)
        connection.sock.close()
        log.info("terminal %s: kiosk UI #%d disconnected", self._terminal_id, connection.number)

    def _handle(self, message: UiMessage) -> None:
        kind: str | None = None
        data: dict[str, Scalar] = {}
        with self._lock:
            if isinstance(message, Heartbeat):
                self._last_heartbeat = self._clock()
                self._session_open = message.session_open
                self._ui_version = message.ui_version
            elif isinstance(message, SessionStarted):
                self._session_open = True
                self._sessions_total += 1
                kind, data = "session_started", {"tile": message.tile_id}
            elif isinstance(message, SessionEnded):
                self._session_open = False
                kind = "session_ended"
                data = {
                    "duration_s": round(message.duration_s, 1),
                    "reason": message.reason,
                    "tiles_count": len(set(message.tiles_used)),
                    "tiles": _joined(message.tiles_used),
                    **message.help.as_json(),
                    **message.assist.event_data(),
                }
            elif isinstance(message, WipeResult):
                self._last_wipe = message
                self._last_wipe_at = self._wall_clock()
                self._wipes_seen += 1
                self._wipe_done.notify_all()
                kind = "wipe_done"
                data = {
                    "ok": message.ok,
                    "checks_failed_count": len(message.checks_failed),
                    "checks_failed": _joined(message.checks_failed),
                }
            elif isinstance(message, ScreenshotPart):
                self._take_screenshot_part(message)
            elif isinstance(message, Crash):
                kind = "ui_crash"
                data = {"component": message.component, "reason": message.reason}
        if kind is not None:
            self._emit(kind, data)

    def _take_screenshot_part(self, part: ScreenshotPart) -> None:
        """File a part of the picture being waited for; the caller holds the lock."""
        parts = self._screenshots.get(part.request_id)
        if not isinstance(parts, dict):
            return  # not asked, or already answered: dropped
        if part.refused is not None:
            self._screenshots[part.request_id] = part.refused
        elif part.index < part.count:
            parts[part.index] = part.data
            parts[-1] = str(part.count)
        self._screenshot_done.notify_all()

    def _emit(self, kind: str, data: dict[str, Scalar]) -> None:
        if kind == "wipe_done" and data["ok"] is False:
            log.error(
                "terminal %s: the privacy wipe self-check FAILED (%s); the UI must not take "
                "a new session",
                self._terminal_id,
                data["checks_failed"],
            )
        if self._on_session_event is None:
            return
        try:
            self._on_session_event(kind, data)
        except Exception:
            # The callback belongs to the session; its bug must not stop the UI link.
            log.exception("terminal %s: publishing the %s event failed", self._terminal_id, kind)

    def _log_liveness_change(self) -> None:
        alive = self.ui_state().alive
        if alive == self._was_alive:
            return
        self._was_alive = alive
        if alive:
            log.info("terminal %s: kiosk UI %s is alive", self._terminal_id, self._ui_version)
        else:
            log.error(
                "terminal %s: no heartbeat from the kiosk UI for %s s; reported as not alive",
                self._terminal_id,
                self._liveness_timeout_s,
            )
