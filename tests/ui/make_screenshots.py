"""Draw the browsing screenshots of docs/screenshots/ against the stand-in site.

Run from the repository root: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m
tests.ui.make_screenshots`` (writes kiosk-browsing.png, kiosk-refused.png, kiosk-idle.png,
kiosk-camera.png, the home screen in French and Arabic, large text and high contrast, on
both screens: kiosk-home-{fr,ar}-{1920,1280}-{large,contrast}.png, then the help pages:
kiosk-{guide,place,numbers,number}-{fr,ar}[-large-contrast].png and kiosk-offline-ar.png).
``--help-pages`` draws only the help pages, ``--home`` only the home screens.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QEvent, QEventLoop, QGuiApplication, QObject, QTimer
from kiosk.ui.session import SessionTimeouts
from tests.ui.standin import (
    ALLOWED_HOST,
    BAD_CERT_HOST,
    OUTSIDE_HOST,
    VISIO_HOST,
    make_certificate,
    route_web_engine_to_standin,
    running_standin,
    write_standin_bundle,
)

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def wait_for(condition: Callable[[], bool], timeout_ms: int = 15_000) -> None:
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    poll.start(30)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(timeout_ms)
    loop.exec()
    if not condition():
        raise SystemExit(f"timed out waiting for the screen ({deadline.isActive()})")


def settle(home: HomeScreen, frames: int = 3) -> None:
    """Let a few frames be drawn (the page's paint reaches the window a frame later)."""
    count = [0]

    def frame() -> None:
        count[0] += 1

    home.window.frameSwapped.connect(frame)
    # A still scene draws no frame: ask for one at each poll.
    wait_for(lambda: count[0] >= frames or home.window.update() or False)
    home.window.frameSwapped.disconnect(frame)


def view_of(home: HomeScreen) -> QObject | None:
    browser_view = home.window.findChild(QObject, "browserView")
    view = browser_view.property("webView") if browser_view is not None else None
    return view if isinstance(view, QObject) else None


def grab(home: HomeScreen, name: str) -> None:
    image = home.window.grabWindow()
    if not image.save(str(OUT / name), "PNG"):  # type: ignore[call-overload]
        raise SystemExit(f"could not write {name}")
    print(f"wrote {OUT / name}")


#: The help pages drawn in each language and look: tile or address, then the file's stem.
HELP_PAGES = (
    ("kiosk://guide/", "guide"),
    ("kiosk://guide/place?id=bdx-sesame", "place"),
    ("kiosk://numbers/", "numbers"),
    ("kiosk://numbers/?show=114", "number"),
)


def grab_help_pages(app: QGuiApplication) -> None:
    """The guide, a place, the numbers and one number, in FR and AR, plain and large+contrast.

    Drawn on the shipped bundle (its cited sample place) from a terminal placed at Bordeaux's
    town hall (44.8378, -0.5792; a position for the picture, not a fact about any terminal).
    """
    bundle = default_bundle_dir()
    for language in ("fr", "ar"):
        for variant in ("", "-large-contrast"):
            home = HomeScreen(
                app, load_catalog(bundle), bundle, language, position=(44.8378, -0.5792)
            )
            if variant:
                home.prefs.toggleLargeText()
                home.prefs.toggleHighContrast()
            home.show(windowed=True)
            home.browser.openTile("aide-pres-d-ici")
            wait_for(lambda h=home: view_of(h) is not None)
            view = view_of(home)
            assert view is not None
            for address, stem in HELP_PAGES:
                home.browser.load(address)
                wait_for(
                    lambda v=view, a=address: (
                        v.property("url").toString() == a and not v.property("loading")
                    )
                )
                settle(home, frames=4)
                grab(home, f"kiosk-{stem}-{language}{variant}.png")
            if language == "ar" and not variant:
                home.browser.load("kiosk://offline/")
                wait_for(
                    lambda v=view: (
                        str(v.property("title")) == "لا يوجد اتصال"
                        or ("offline" in v.property("url").toString() and not v.property("loading"))
                    )
                )
                settle(home, frames=4)
                grab(home, "kiosk-offline-ar.png")
            wipe_and_close(app, home)


def main() -> int:
    only = {"--help-pages": grab_help_pages, "--home": draw_home_screens}
    for flag, draw in only.items():
        if flag in sys.argv:
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            prepare_web_engine()
            draw(QGuiApplication(sys.argv[:1]))
            return 0
    work = Path(tempfile.mkdtemp(prefix="kiosk-shots-"))
    trusted = make_certificate(work, "standin", [ALLOWED_HOST, OUTSIDE_HOST, VISIO_HOST])
    untrusted = make_certificate(work, "bad", [BAD_CERT_HOST])
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    route_web_engine_to_standin(trusted)
    prepare_web_engine()
    app = QGuiApplication(sys.argv[:1])
    with running_standin(trusted, untrusted) as standin:
        write_standin_bundle(work, standin.url("/"), "shots")
        timeouts = SessionTimeouts(idle_timeout_s=600, countdown_s=30)
        home = HomeScreen(app, load_catalog(work), work, "fr", timeouts)
        home.show(windowed=True)
        home.browser.openTile("standin")
        wait_for(lambda: (v := view_of(home)) is not None and v.property("title") == "standin-home")
        settle(home)
        grab(home, "kiosk-browsing.png")
        view = view_of(home)
        assert view is not None
        home.browser.load(standin.url("/target", host=OUTSIDE_HOST))
        wait_for(lambda: str(view.property("title")).startswith("Cette page"))
        settle(home)
        grab(home, "kiosk-refused.png")
        home.browser.clock._on_idle()  # show the countdown now rather than in ten minutes
        wait_for(lambda: bool(home.browser.idle))
        settle(home)
        grab(home, "kiosk-idle.png")
        wipe_and_close(app, home)
        draw_camera_banner(
            app, work, standin.url("/visio?auto=1", host=VISIO_HOST), standin.url("", VISIO_HOST)
        )
    draw_home_screens(app)
    grab_help_pages(app)
    shutil.rmtree(work)
    return 0


def draw_home_screens(app: QGuiApplication) -> None:
    """The shipped catalog's home screen, French and Arabic, large text then high contrast,
    on the terminal's 1920×1080 and on 1280×800 (its second page too, when it has one)."""
    home = HomeScreen(app, load_catalog(default_bundle_dir()), default_bundle_dir(), "fr")
    home.show(windowed=True)
    for width, height in ((1920, 1080), (1280, 800)):
        home.window.resize(width, height)
        for language in ("fr", "ar"):
            home.prefs.setLanguage(language)
            for mode, large, contrast in (("large", True, False), ("contrast", False, True)):
                if home.prefs.largeText != large:
                    home.prefs.toggleLargeText()
                if home.prefs.highContrast != contrast:
                    home.prefs.toggleHighContrast()
                # The cards are laid out again once every binding settled, then their pictograms
                # drawn at their new size: a few frames more than a still screen needs.
                settle(home, frames=8)
                grab(home, f"kiosk-home-{language}-{width}-{mode}.png")
    home.close()
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def draw_camera_banner(app: QGuiApplication, work: Path, visio_url: str, origin: str) -> None:
    """A video call granted the camera (Chromium's fake one): the banner and its Stop."""
    tile = {
        "id": "visio",
        "label": {"fr": "Appel vidéo"},
        "url": visio_url,
        "allow": [VISIO_HOST],
        "media": {"devices": ["camera", "microphone"], "origins": [origin]},
    }
    bundle = work / "visio"
    bundle.mkdir()
    write_standin_bundle(bundle, visio_url.replace(VISIO_HOST, ALLOWED_HOST), "visio", (tile,))
    home = HomeScreen(app, load_catalog(bundle), bundle, "fr")
    home.show(windowed=True)
    home.browser.openTile("visio")
    wait_for(lambda: bool(home.browser.mediaActive))
    settle(home, frames=6)
    grab(home, "kiosk-camera.png")
    wipe_and_close(app, home)


def wipe_and_close(app: QGuiApplication, home: HomeScreen) -> None:
    """End the session shown (its view goes first), then close the window for good."""
    home.browser.wipe_now()
    wait_for(lambda: view_of(home) is None)
    home.close()
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


if __name__ == "__main__":
    sys.exit(main())
