"""What a session used of the settings and help pages, on its own (no Qt)."""

from __future__ import annotations

from kiosk.contract.mqtt import HelpUsage, SessionAssist
from kiosk.ui.browser.usage import SessionUsage


def test_a_session_starts_with_the_settings_in_force_and_adds_what_it_switches_on() -> None:
    usage = SessionUsage()
    usage.language("ar", active=False)
    usage.high_contrast(True, active=False)
    usage.start()
    assert usage.assist == SessionAssist(language="ar", high_contrast=True)
    usage.high_contrast(False, active=True)  # switched off: the session still used it
    usage.large_text(True, active=True)
    usage.read_aloud(active=True)
    usage.language("en", active=True)
    assert usage.assist == SessionAssist(
        language="en", high_contrast=True, large_text=True, read_aloud=True
    )
    usage.start()  # the next session: contrast is off by now
    assert usage.assist == SessionAssist(language="en", large_text=True)


def test_a_help_page_reloaded_counts_once_and_moving_inside_the_guide_does_not_count() -> None:
    usage = SessionUsage()
    usage.start()
    for url in ("kiosk://guide/", "kiosk://guide/", "kiosk://guide/place?id=1"):
        usage.help_page_served(url)
    usage.left_help()
    usage.help_page_served("kiosk://guide/")
    assert usage.help_usage == HelpUsage(guide_opened=2, places_shown=1)
    usage.start()
    assert usage.help_usage == HelpUsage()
