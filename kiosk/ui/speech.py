"""Read aloud: the page's selection or main text, spoken in the resident's language.

Speech goes through QtTextToSpeech: the ``speechd`` engine (speech-dispatcher) on the terminal,
the ``mock`` engine in tests. What is read is a resident's page: it is never logged.
"""

from __future__ import annotations

import logging
from typing import Final

from kiosk.ui.qt import Property, QLocale, QLoggingCategory, QObject, QTextToSpeech, Signal, Slot

log = logging.getLogger(__name__)

DEFAULT_ENGINE: Final = "speechd"
#: Enough for a page's opening paragraphs; a whole portal would keep speaking for an hour.
MAX_CHARACTERS: Final = 4000
#: The script the view runs: what the resident selected, else the page's main text.
PAGE_TEXT_SCRIPT: Final = (
    "(function () {"
    " const selected = String(window.getSelection ? window.getSelection() : '').trim();"
    " if (selected) return selected;"
    " const main = document.querySelector('main, article, body');"
    " return main ? main.innerText : '';"
    "})()"
)


def speakable(text: str, limit: int = MAX_CHARACTERS) -> str:
    """``text`` with its whitespace folded, cut at a word boundary within ``limit`` characters."""
    folded = " ".join(text.split())
    if len(folded) <= limit:
        return folded
    cut = folded[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit // 2 else cut


class Speaker(QObject):
    """The ``speech`` object of the QML scene; its engine is made on first use."""

    speakingChanged = Signal()

    def __init__(self, engine: str = DEFAULT_ENGINE, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine_name = engine
        self._tts: QTextToSpeech | None = None
        self._language = "fr"
        self._speaking = False

    @property
    def engine(self) -> QTextToSpeech:
        """The QtTextToSpeech engine (made now if it does not exist yet)."""
        if self._tts is None:
            # Qt Multimedia probes PipeWire, which the terminal does not use (speech-dispatcher
            # plays through PulseAudio); its warning would only fill the journal.
            QLoggingCategory.setFilterRules("qt.multimedia.symbolsresolver.warning=false")
            self._tts = QTextToSpeech(self._engine_name, self)
            self._tts.stateChanged.connect(self._on_state)
            if self._tts.state() == QTextToSpeech.State.Error:
                log.error(
                    "speech engine %s unavailable (%s); read aloud will stay silent",
                    self._engine_name,
                    self._tts.errorString(),
                )
            self._apply_language()
        return self._tts

    def _get_speaking(self) -> bool:
        return self._speaking

    def _get_page_text_script(self) -> str:
        return PAGE_TEXT_SCRIPT

    speaking = Property(bool, _get_speaking, notify=speakingChanged)
    pageTextScript = Property(str, _get_page_text_script, constant=True)

    def set_language(self, code: str) -> None:
        """Speak ``code`` from now on (the resident's display language)."""
        self._language = code
        if self._tts is not None:
            self.stop()
            self._apply_language()

    def language(self) -> str:
        return self._language

    def _apply_language(self) -> None:
        assert self._tts is not None
        wanted = QLocale(self._language)
        voices = [
            loc for loc in self._tts.availableLocales() if loc.language() == wanted.language()
        ]
        if voices:
            self._tts.setLocale(voices[0])
        else:
            log.warning("no %s voice in speech engine %s", self._language, self._engine_name)

    @Slot(str)
    def say(self, text: str) -> None:
        """Speak ``text`` (trimmed), interrupting what was being said."""
        spoken = speakable(text)
        engine = self.engine
        engine.stop()
        if spoken:
            log.info("reading aloud %d characters in %s", len(spoken), self._language)
            engine.say(spoken)

    @Slot()
    def stop(self) -> None:
        """Stop speaking (the resident's stop button, or the end of the session)."""
        if self._tts is not None:
            self._tts.stop()

    def _on_state(self, state: QTextToSpeech.State) -> None:
        speaking = state == QTextToSpeech.State.Speaking
        if speaking != self._speaking:
            self._speaking = speaking
            self.speakingChanged.emit()
