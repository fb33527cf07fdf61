"""The window's event filter: neutralises browser and window shortcuts, reports any activity."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from kiosk.ui.browser.policy import Vector, shortcut_allowed
from kiosk.ui.qt import QEvent, QKeyEvent, QKeySequence, QMouseEvent, QObject, Qt

_MODIFIER_KEYS: Final = frozenset(
    {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta}
)
_KEY_EVENTS: Final = frozenset(
    {QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride}
)
_ACTIVITY_EVENTS: Final = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)
#: Mouse buttons that browsers map to history navigation.
_HISTORY_BUTTONS: Final = frozenset({Qt.MouseButton.BackButton, Qt.MouseButton.ForwardButton})


def chord_text(event: QKeyEvent) -> str:
    """The key chord of ``event`` in Qt's portable text (``"Ctrl+L"``, ``"F12"``)."""
    return QKeySequence(event.keyCombination()).toString(QKeySequence.SequenceFormat.PortableText)


class KioskEventFilter(QObject):
    """Installed on the kiosk window, so it sees every key before the page or QML does.

    (Not on the application: a Python filter there would also be handed objects that are
    half destroyed, which crashes the binding.)
    """

    def __init__(
        self,
        on_activity: Callable[[], None],
        on_refused: Callable[[Vector], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_activity = on_activity
        self._on_refused = on_refused

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in _ACTIVITY_EVENTS:
            self._on_activity()
        if kind in _KEY_EVENTS and isinstance(event, QKeyEvent):
            if Qt.Key(event.key()) in _MODIFIER_KEYS or shortcut_allowed(chord_text(event)):
                return False
            if kind == QEvent.Type.KeyPress:
                self._on_refused(Vector.SHORTCUT)
            event.accept()
            return True
        return bool(
            kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease)
            and isinstance(event, QMouseEvent)
            and event.button() in _HISTORY_BUTTONS
        )
