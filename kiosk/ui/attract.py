"""The attract screen: shown when nobody has touched the terminal for a while outside a session.

It also drives the backlight: dimmed by the schedule while the attract screen waits, full as
soon as someone touches the screen.
"""

from __future__ import annotations

import logging
from typing import Final

from kiosk.ui.backlight import BrightnessSchedule
from kiosk.ui.qt import Property, QEvent, QObject, QTimer, Signal, Slot

log = logging.getLogger(__name__)

#: Quiet time on the home screen (no session) before the attract screen comes back.
ATTRACT_AFTER_S: Final = 60.0
#: How long each language's greeting stays.
CYCLE_INTERVAL_MS: Final = 4000
_BRIGHTNESS_CHECK_MS: Final = 60_000
_INPUT_EVENTS: Final = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)


class Attract(QObject):
    """The ``attract`` object of the QML scene."""

    shownChanged = Signal()

    def __init__(
        self,
        brightness: BrightnessSchedule,
        attract_after_s: float = ATTRACT_AFTER_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._brightness = brightness
        self._shown = False
        self._session_active = False
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(max(1, round(attract_after_s * 1000)))
        self._quiet.timeout.connect(self.show)
        self._minute = QTimer(self)
        self._minute.setInterval(_BRIGHTNESS_CHECK_MS)
        self._minute.timeout.connect(self._brightness.apply)
        self._minute.start()
        self._quiet.start()
        self._brightness.set_in_use(True)

    def _get_shown(self) -> bool:
        return self._shown

    def _get_cycle_interval_ms(self) -> int:
        return CYCLE_INTERVAL_MS

    shown = Property(bool, _get_shown, notify=shownChanged)
    cycleIntervalMs = Property(int, _get_cycle_interval_ms, constant=True)

    @property
    def brightness(self) -> BrightnessSchedule:
        return self._brightness

    @Slot()
    def show(self) -> None:
        """Show the attract screen (nobody is using the terminal) and dim as scheduled."""
        if self._session_active or self._shown:
            return
        self._shown = True
        self.shownChanged.emit()
        self._brightness.set_in_use(False)

    @Slot()
    def dismiss(self) -> None:
        """Someone touched the screen: full brightness, the tiles, and a fresh quiet delay."""
        self._brightness.set_in_use(True)
        if self._shown:
            self._shown = False
            self.shownChanged.emit()
        if not self._session_active:
            self._quiet.start()

    def session_started(self) -> None:
        self._session_active = True
        self._quiet.stop()
        self.dismiss()

    def session_ended(self) -> None:
        self._session_active = False
        self._quiet.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Any touch counts as presence; the event goes on to the scene untouched.
        if event.type() in _INPUT_EVENTS and not self._shown:
            self._brightness.set_in_use(True)
            if not self._session_active:
                self._quiet.start()
        return False
