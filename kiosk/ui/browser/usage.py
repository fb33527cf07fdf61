"""What a session used of the kiosk's settings and help pages, for the observatory.

Kinds and yes-or-no only (the language chosen, contrast or large text on, read-aloud used, the
kinds of help page seen): never an address, nothing typed. The session's choice is what is in
force when it starts (chosen on the home screen before the first tile) and what it switches on
while it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.ui.browser.policy import help_page_kind

if TYPE_CHECKING:
    # Imported when a session first needs them: their models are not needed for the home.
    from kiosk.contract.mqtt import HelpUsage, SessionAssist


class SessionUsage:
    """The running (or just ended) session's use of the settings and of the help pages."""

    def __init__(self) -> None:
        # The settings in force, for the next session's start.
        self._language_now: str | None = None
        self._high_contrast_now = False
        self._large_text_now = False
        self._assist: SessionAssist | None = None
        self._help_usage: HelpUsage | None = None
        self._last_help_page = ""
        self._last_help_kind: str | None = None

    def start(self) -> None:
        """A session starts: nothing used yet but the settings in force."""
        from kiosk.contract.mqtt import HelpUsage, SessionAssist

        self._help_usage = HelpUsage()
        self._assist = SessionAssist(
            language=self._language_now,
            high_contrast=self._high_contrast_now,
            large_text=self._large_text_now,
        )
        self.left_help()

    @property
    def assist(self) -> SessionAssist:
        """What the session used of the kiosk's settings."""
        if self._assist is None:
            from kiosk.contract.mqtt import SessionAssist

            self._assist = SessionAssist()
        return self._assist

    @property
    def help_usage(self) -> HelpUsage:
        """How the session used the help pages."""
        if self._help_usage is None:
            from kiosk.contract.mqtt import HelpUsage

            self._help_usage = HelpUsage()
        return self._help_usage

    def language(self, language: str, *, active: bool) -> None:
        self._language_now = language
        if active:
            self._assist = self.assist.model_copy(update={"language": language})

    def high_contrast(self, high_contrast: bool, *, active: bool) -> None:
        self._high_contrast_now = high_contrast
        if high_contrast and active:
            self._assist = self.assist.model_copy(update={"high_contrast": True})

    def large_text(self, large_text: bool, *, active: bool) -> None:
        self._large_text_now = large_text
        if large_text and active:
            self._assist = self.assist.model_copy(update={"large_text": True})

    def read_aloud(self, *, active: bool) -> None:
        if active and not self.assist.read_aloud:
            self._assist = self.assist.model_copy(update={"read_aloud": True})

    def help_page_served(self, url: str) -> None:
        """A help page was drawn for the session's view: counted (its kind only)."""
        # A reload (a language or contrast switch) asks for the same page again: counted once.
        if url != self._last_help_page:
            kind = help_page_kind(url)
            self._help_usage = self.help_usage.counted(kind, self._last_help_kind)
            self._last_help_page, self._last_help_kind = url, kind

    def left_help(self) -> None:
        """A page of a site replaced the help page (the next one is a new visit)."""
        self._last_help_page, self._last_help_kind = "", None
