"""Draw the accessibility screenshots of docs/screenshots/ (attract, English, Arabic, contrast).

Run from the repository root: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m
tests.ui.make_a11y_screenshots``. The home screens use the shipped catalog; no site is opened.
"""

from __future__ import annotations

import os
import sys

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.ui.backlight import SimulatedBacklight
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QEvent, QGuiApplication
from tests.ui.make_screenshots import grab, settle, wait_for


def shipped_home() -> tuple[QGuiApplication, HomeScreen]:
    """The home screen of the shipped catalog in French, in its 1280×800 window, drawn."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
    prepare_web_engine()
    app = QGuiApplication(sys.argv[:1])
    bundle = default_bundle_dir()
    home = HomeScreen(
        app,
        load_catalog(bundle),
        bundle,
        "fr",
        backlight=SimulatedBacklight(),
        attract_after_s=3600,
    )
    home.show(windowed=True)
    settle(home)
    return app, home


def main() -> int:
    app, home = shipped_home()
    home.attract.show()
    wait_for(lambda: bool(home.attract.shown))
    settle(home)
    grab(home, "kiosk-attract.png")
    home.attract.dismiss()
    for language, name in (("en", "kiosk-home-en.png"), ("ar", "kiosk-home-ar.png")):
        home.prefs.setLanguage(language)
        settle(home)
        grab(home, name)
    home.prefs.setLanguage("fr")
    home.prefs.toggleHighContrast()
    settle(home)
    grab(home, "kiosk-high-contrast.png")
    home.close()
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return 0


if __name__ == "__main__":
    sys.exit(main())
