"""The life cycle both ends of the local socket share: one daemon thread, woken from any thread.

The UI's :class:`kiosk.agentlink.AgentLink` and the agent's :class:`kiosk.agent.uilink.UiLinkServer`
each run a ``selectors`` loop in a background thread. Another thread never touches their sockets:
it queues bytes and writes one byte to a socket pair (:meth:`WakeableThread._wake`) that the loop
watches, so the loop wakes at once instead of at its next timeout; stopping is the same, with an
event the loop checks. Standard library only: the agent and the UI both import it at start-up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self


class WakeableThread(ABC):
    """``start()`` and ``stop()`` (also as ``with``) around a loop in a daemon thread.

    Subclasses start their thread with :meth:`_start_thread`, register ``_wake_reader`` in their
    selector and :meth:`_drain_wake` it when it is ready, leave their loop once ``_stopping`` is
    set, and in ``stop()`` call :meth:`_stop_thread` first and :meth:`_close_wake` last.
    """

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_thread(self, target: Callable[[], None], name: str) -> None:
        self._thread = threading.Thread(target=target, name=name, daemon=True)
        self._thread.start()

    def _stop_thread(self) -> None:
        """Ask the loop to end, wake it, and wait for it (5 s at most)."""
        self._stopping.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _close_wake(self) -> None:
        self._wake_reader.close()
        self._wake_writer.close()

    def _wake(self) -> None:
        # A full pair already holds a wake-up; a closed one has no loop left to wake.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_writer.send(b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self._wake_reader.recv(4096)
