"""A resident's session as a clock: when it starts, when it is idle, when it must end.

No web engine here: this object only decides *when*; the browser controller decides *how* the
session's pages and profile are destroyed. Timeouts are configurable so tests use short ones.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from kiosk.ui.qt import QObject, QTimer, Signal

log = logging.getLogger(__name__)

#: How often the countdowns' "seconds left" are refreshed, in milliseconds.
TICK_MS: Final = 1000


class EndReason(StrEnum):
    """Why a session ended; carried by signals and logs (never anything the resident did)."""

    BUTTON = "button"
    IDLE = "idle"
    MAX_LENGTH = "max-length"
    WIPE_NOW = "wipe-now"


@dataclass(frozen=True, slots=True)
class SessionTimeouts:
    """Session durations in seconds (floats, so tests may use fractions of a second)."""

    #: Without a touch for this long, the "Are you still there?" countdown starts.
    idle_timeout_s: float = 120.0
    #: How long the countdown waits for "I am here" before ending the session.
    countdown_s: float = 30.0
    #: The longest a session may last, whatever the resident does.
    max_length_s: float = 30 * 60.0
    #: How long before the maximum length the resident is warned.
    max_length_warning_s: float = 2 * 60.0


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def new_session_id() -> str:
    """A random, meaningless session id: it links a session's events, never a person."""
    return secrets.token_hex(8)


class SessionClock(QObject):
    """Starts, watches and ends sessions; one at a time."""

    #: A session began: its id.
    started = Signal(str)
    #: No touch for ``idle_timeout_s``: the countdown began (seconds left).
    idleCountdownStarted = Signal(int)
    #: The countdown's seconds left, once a second.
    countdownTick = Signal(int)
    #: The resident answered, or touched the screen: the countdown is over.
    countdownCancelled = Signal()
    #: The session will end for its maximum length in this many seconds.
    maxLengthWarning = Signal(int)
    #: A session ended: its id, the reason (an :class:`EndReason` value), its length in seconds.
    ended = Signal(str, str, float)

    def __init__(self, timeouts: SessionTimeouts | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.timeouts = timeouts or SessionTimeouts()
        self.session_id: str | None = None
        self._started_at = 0.0
        self._countdown_deadline = 0.0
        self._idle = self._timer(self._on_idle)
        self._countdown_end = self._timer(lambda: self.end(EndReason.IDLE))
        self._countdown_tick = QTimer(self)
        self._countdown_tick.setInterval(TICK_MS)
        self._countdown_tick.timeout.connect(self._on_tick)
        self._max_warning = self._timer(self._on_max_warning)
        self._max_end = self._timer(lambda: self.end(EndReason.MAX_LENGTH))

    def _timer(self, slot: object) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        return timer

    @property
    def active(self) -> bool:
        return self.session_id is not None

    @property
    def counting_down(self) -> bool:
        return self._countdown_end.isActive()

    def seconds_left(self) -> int:
        """Whole seconds left on the idle countdown (0 when none runs)."""
        if not self.counting_down:
            return 0
        return max(0, round(self._countdown_deadline - time.monotonic()))

    def start(self) -> str:
        """Begin a session (if none is running) and return its id."""
        if self.session_id is not None:
            return self.session_id
        self.session_id = new_session_id()
        self._started_at = time.monotonic()
        t = self.timeouts
        self._idle.start(_ms(t.idle_timeout_s))
        self._max_warning.start(_ms(max(0.0, t.max_length_s - t.max_length_warning_s)))
        self._max_end.start(_ms(t.max_length_s))
        log.info("session %s started", self.session_id)
        self.started.emit(self.session_id)
        return self.session_id

    def touch(self) -> None:
        """The resident touched the screen or a key: restart the idle delay, stop a countdown."""
        if self.session_id is None:
            return
        self._idle.start(_ms(self.timeouts.idle_timeout_s))
        if self.counting_down:
            self._stop_countdown()
            self.countdownCancelled.emit()

    def still_here(self) -> None:
        """The "I am here" button: same as any touch."""
        self.touch()

    def end(self, reason: EndReason) -> None:
        """End the running session (no-op when none runs)."""
        if self.session_id is None:
            return
        session_id, self.session_id = self.session_id, None
        for timer in (self._idle, self._max_warning, self._max_end):
            timer.stop()
        self._stop_countdown()
        duration = time.monotonic() - self._started_at
        log.info("session %s ended (%s) after %.0f s", session_id, reason.value, duration)
        self.ended.emit(session_id, reason.value, duration)

    def _stop_countdown(self) -> None:
        self._countdown_end.stop()
        self._countdown_tick.stop()

    def _on_idle(self) -> None:
        if self.session_id is None:
            return
        countdown = self.timeouts.countdown_s
        self._countdown_deadline = time.monotonic() + countdown
        self._countdown_end.start(_ms(countdown))
        self._countdown_tick.start()
        log.info("session %s idle: asking whether the resident is still there", self.session_id)
        self.idleCountdownStarted.emit(round(countdown))

    def _on_tick(self) -> None:
        self.countdownTick.emit(self.seconds_left())

    def _on_max_warning(self) -> None:
        self.maxLengthWarning.emit(round(self.timeouts.max_length_warning_s))
