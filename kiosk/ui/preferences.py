"""What a resident may change for their own visit: language, high contrast, large text.

All three go back to their defaults when the session ends (French, normal colours, normal
text): the next resident must not inherit a stranger's choices, nor guess that Arabic was on.
"""

from __future__ import annotations

import logging
import os
from typing import Final

from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.i18n import RESIDENT_LANGUAGES, resident_language
from kiosk.ui.qt import VIRTUAL_KEYBOARD_IM_MODULE, Property, QObject, Signal, Slot
from kiosk.ui.theme import HIGH_CONTRAST, NORMAL

log = logging.getLogger(__name__)

#: How much larger the large-text mode draws the UI's text and the web page.
LARGE_TEXT_SCALE: Final = 1.4
_LATIN_FONT: Final = "Noto Sans"
#: Noto Sans has no Arabic glyphs; its Arabic sister matches its shapes and weights.
_ARABIC_FONT: Final = "Noto Sans Arabic"


class ResidentPreferences(QObject):
    """The ``prefs`` object of the QML scene."""

    #: The display language changed: its code.
    languageChanged = Signal(str)
    highContrastChanged = Signal()
    largeTextChanged = Signal()

    def __init__(self, language: str = DEFAULT_LANGUAGE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._default_language = resident_language(language).code
        self._language = self._default_language
        self._high_contrast = False
        self._large_text = False

    # ----- QML properties -----------------------------------------------------------------

    def _get_language(self) -> str:
        return self._language

    def _get_language_name(self) -> str:
        return resident_language(self._language).name

    def _get_right_to_left(self) -> bool:
        return resident_language(self._language).right_to_left

    def _get_font_family(self) -> str:
        return _ARABIC_FONT if self._get_right_to_left() else _LATIN_FONT

    def _get_languages(self) -> list[dict[str, str]]:
        return [{"code": lang.code, "name": lang.name} for lang in RESIDENT_LANGUAGES]

    def _get_greetings(self) -> list[dict[str, object]]:
        return [
            {
                "code": lang.code,
                "greeting": lang.greeting,
                "invitation": lang.invitation,
                "rightToLeft": lang.right_to_left,
                "fontFamily": _ARABIC_FONT if lang.right_to_left else _LATIN_FONT,
            }
            for lang in RESIDENT_LANGUAGES
        ]

    def _get_virtual_keyboard(self) -> bool:
        return os.environ.get("QT_IM_MODULE") == VIRTUAL_KEYBOARD_IM_MODULE

    def _get_high_contrast(self) -> bool:
        return self._high_contrast

    def _get_large_text(self) -> bool:
        return self._large_text

    def _get_text_scale(self) -> float:
        return LARGE_TEXT_SCALE if self._large_text else 1.0

    def _get_theme(self) -> dict[str, str]:
        return (HIGH_CONTRAST if self._high_contrast else NORMAL).as_qml()

    language = Property(str, _get_language, notify=languageChanged)
    languageName = Property(str, _get_language_name, notify=languageChanged)
    rightToLeft = Property(bool, _get_right_to_left, notify=languageChanged)
    fontFamily = Property(str, _get_font_family, notify=languageChanged)
    languages = Property(list, _get_languages, constant=True)
    greetings = Property(list, _get_greetings, constant=True)
    #: Whether Qt runs with Qt Virtual Keyboard (see ``kiosk.ui.qt.prepare_virtual_keyboard``).
    virtualKeyboard = Property(bool, _get_virtual_keyboard, constant=True)
    highContrast = Property(bool, _get_high_contrast, notify=highContrastChanged)
    largeText = Property(bool, _get_large_text, notify=largeTextChanged)
    textScale = Property(float, _get_text_scale, notify=largeTextChanged)
    theme = Property(dict, _get_theme, notify=highContrastChanged)

    # ----- what the resident does ---------------------------------------------------------

    @Slot(str)
    def setLanguage(self, code: str) -> None:
        """Show the UI in ``code`` from now on (ignored if the kiosk does not offer it)."""
        try:
            language = resident_language(code).code
        except KeyError:
            log.warning("language %s is not offered; the screen stays in %s", code, self._language)
            return
        if language != self._language:
            self._language = language
            log.info("display language switched to %s", language)
            self.languageChanged.emit(language)

    @Slot()
    def toggleHighContrast(self) -> None:
        self._high_contrast = not self._high_contrast
        self.highContrastChanged.emit()

    @Slot()
    def toggleLargeText(self) -> None:
        self._large_text = not self._large_text
        self.largeTextChanged.emit()

    def reset(self) -> None:
        """Back to the defaults (the end of a session)."""
        self.setLanguage(self._default_language)
        if self._high_contrast:
            self.toggleHighContrast()
        if self._large_text:
            self.toggleLargeText()
