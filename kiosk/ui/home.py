"""The home screen: the QML engine, its menu of cards, translator and backend, in one window."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

from kiosk.contract.catalog import Catalog, CatalogError, load_catalog
from kiosk.ui.attract import ATTRACT_AFTER_S, Attract
from kiosk.ui.backlight import Backlight, BrightnessSchedule, SimulatedBacklight, SysfsBacklight
from kiosk.ui.browser.controller import RETRY_INTERVAL_S, BrowserController
from kiosk.ui.i18n import gettext_for
from kiosk.ui.menu import CaptureDevices, HomeMenu, capture_devices
from kiosk.ui.preferences import ResidentPreferences
from kiosk.ui.qt import (
    QCoreApplication,
    QMetaObject,
    QObject,
    QQmlApplicationEngine,
    QQuickWindow,
    Qt,
    QTimer,
    QUrl,
    Signal,
    Slot,
)
from kiosk.ui.session import SessionTimeouts
from kiosk.ui.speech import DEFAULT_ENGINE, Speaker
from kiosk.ui.translator import GettextTranslator

if TYPE_CHECKING:
    from kiosk.contract.places import PlacesFile

log = logging.getLogger(__name__)

MAIN_QML: Final = Path(__file__).resolve().parent / "qml" / "Main.qml"
#: The window size of ``--windowed`` (a laptop-friendly stand-in for the 1080p terminal).
WINDOWED_SIZE: Final = (1280, 800)


def guide_of(bundle_dir: Path) -> PlacesFile | None:
    """The bundle's help-places guide; an unreadable one is logged and shown as empty."""
    from kiosk.contract.places import PlacesError, load_places

    try:
        return load_places(bundle_dir)
    except PlacesError as exc:
        log.error("the help-places guide of the bundle is refused, shown empty: %s", exc)
        return None


class HomeLoadError(RuntimeError):
    """The home screen's QML could not be loaded (a packaging or programming error)."""


class HomeBackend(QObject):
    """What QML may ask of Python on the home screen."""

    #: A tile was touched; carries the tile id only, never an address (privacy rule).
    tileActivated = Signal(str)

    def __init__(self, browser: BrowserController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._browser = browser

    @Slot(str)
    def openTile(self, tile_id: str) -> None:
        """Open the touched tile's site in the session's view (starting a session if needed)."""
        log.info("tile %s touched", tile_id)
        self.tileActivated.emit(tile_id)
        self._browser.openTile(tile_id)


class HomeScreen:
    """The home window for one catalog in one language."""

    def __init__(
        self,
        app: QCoreApplication,
        catalog: Catalog,
        bundle_dir: Path,
        language: str,
        timeouts: SessionTimeouts | None = None,
        *,
        retry_interval_s: float = RETRY_INTERVAL_S,
        speech_engine: str = DEFAULT_ENGINE,
        backlight: Backlight | None = None,
        attract_after_s: float = ATTRACT_AFTER_S,
        devices: Callable[[], CaptureDevices] = capture_devices,
        position: tuple[float, float] | None = None,
    ) -> None:
        self._app = app
        self._pending_content: tuple[Catalog, Path] | None = None
        self._language = language
        self.translator = GettextTranslator(language)
        # Installed before loading so the first frame already shows translated text.
        app.installTranslator(self.translator)
        self.menu = HomeMenu(catalog, bundle_dir, language, devices)
        self.browser = BrowserController(
            catalog,
            gettext_for(language),
            timeouts,
            retry_interval_s=retry_interval_s,
            language=language,
        )
        # The guide is read once the home is on screen (or when a session starts before).
        self._bundle_dir = bundle_dir
        self._started = False
        self._after_start: list[Callable[[], None]] = []
        self.browser.pages.set_content(bundle_dir, None)
        self.browser.pages.set_position(position)
        self.backend = HomeBackend(self.browser)
        self.prefs = ResidentPreferences(language)
        self.speech = Speaker(speech_engine)
        self.speech.set_language(language)
        self.backlight: Backlight = backlight or SysfsBacklight.first() or SimulatedBacklight()
        self.attract = Attract(BrightnessSchedule(self.backlight), attract_after_s)
        self.engine = QQmlApplicationEngine()
        self.engine.setInitialProperties(
            {
                "menu": self.menu,
                "backend": self.backend,
                "browser": self.browser,
                "prefs": self.prefs,
                "speech": self.speech,
                "attract": self.attract,
            }
        )
        self.engine.load(QUrl.fromLocalFile(str(MAIN_QML)))
        roots = self.engine.rootObjects()
        if not roots or not isinstance(roots[0], QQuickWindow):
            self.close()
            raise HomeLoadError(f"{MAIN_QML} did not produce a window (see the QML errors above)")
        self.window: QQuickWindow = roots[0]
        self.browser.install(self.window)
        self.window.installEventFilter(self.attract)
        self.browser.sessionStarted.connect(lambda _session, _tile: self.attract.session_started())
        self.prefs.languageChanged.connect(self._switch_language)
        self.prefs.highContrastChanged.connect(
            lambda: self.browser.set_high_contrast(bool(self.prefs.property("highContrast")))
        )
        # What a session used of these settings, counted (on or off only) for the observatory.
        self.browser.note_language(self.prefs.property("language"))
        self.prefs.largeTextChanged.connect(
            lambda: self.browser.note_large_text(bool(self.prefs.property("largeText")))
        )
        self.speech.speakingChanged.connect(
            lambda: self.browser.note_read_aloud() if self.speech.property("speaking") else None
        )
        # The next resident starts in French, normal colours and text, in silence.
        self.browser.sessionEnded.connect(self._on_session_ended)
        self.browser.sessionStarted.connect(lambda _session, _tile: self.finish_start())
        self._home_grid = self.window.findChild(QObject, "homeGrid")

    def _on_frame(self) -> None:
        """A frame was shown: once it shows the home's cards, finish the start."""
        if self._home_grid is not None and not self._home_grid.property("laidOut"):
            return
        self.window.frameSwapped.disconnect(self._on_frame)
        self.finish_start()

    def finish_start(self) -> None:
        """What the first frame does not need, done once it is on screen (or when a session
        starts first): the help-places guide, what :meth:`after_start` was given (the agent's link),
        the on-screen keyboard and the first session's web profile."""
        if self._started:
            return
        self._started = True
        self.browser.pages.set_content(self._bundle_dir, guide_of(self._bundle_dir))
        for callback in self._after_start:
            callback()
        self._after_start.clear()
        # At the next turn of the event loop: after what this frame already queued (the
        # start's "ready"), since making the keyboard takes the GUI thread for a moment.
        # (The window as the timer's context: a home closed meanwhile gets no call.)
        QTimer.singleShot(0, self.window, self._load_keyboard)
        self.browser.prepare_profile()

    def _load_keyboard(self) -> None:
        QMetaObject.invokeMethod(self.window, "loadKeyboard")

    def after_start(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the home is on screen (at once if it already is)."""
        if self._started:
            callback()
        else:
            self._after_start.append(callback)

    def _switch_language(self, language: str) -> None:
        """Swap the translator, then redraw every ``qsTr()`` and relabel the tiles."""
        self._language = language
        old, self.translator = self.translator, GettextTranslator(language)
        self._app.installTranslator(self.translator)
        self._app.removeTranslator(old)
        self.engine.retranslate()
        self.menu.set_language(language)
        self.speech.set_language(language)
        self.browser.set_language(language)

    def _on_session_ended(
        self, _session_id: str, _reason: str, _seconds: float, _tiles: object
    ) -> None:
        self.speech.stop()
        self.prefs.reset()
        self.menu.reset()
        self.attract.session_ended()
        if self._pending_content is not None:
            pending, self._pending_content = self._pending_content, None
            self._show_content(*pending)

    def switch_content(self, bundle_dir: Path) -> bool:
        """Show the content bundle in ``bundle_dir`` from now on, without restarting.

        A bundle that does not load is refused (the current one stays, and the agent's own
        health check rolls the update back). During a resident's session the switch waits for
        the session's end, so nobody sees their tiles change under their finger.
        """
        try:
            catalog = load_catalog(bundle_dir)
        except CatalogError as exc:
            log.error("content bundle refused, the current one stays: %s", exc)
            return False
        if self.browser.sessionActive:
            self._pending_content = (catalog, bundle_dir)
            log.info("content %s will be shown when the session ends", catalog.version)
        else:
            self._show_content(catalog, bundle_dir)
        return True

    def _show_content(self, catalog: Catalog, bundle_dir: Path) -> None:
        self._bundle_dir = bundle_dir
        self.menu.set_catalog(catalog, bundle_dir, self._language)
        self.browser.set_catalog(catalog)
        self.browser.pages.set_content(bundle_dir, guide_of(bundle_dir))
        log.info("content %s shown", catalog.version)

    def showing_home(self) -> bool:
        """The window shows the attract or home screen: shown, no page open, no session."""
        return (
            self.window.isVisible() and not self.browser.browsing and not self.browser.sessionActive
        )

    def show(self, *, windowed: bool) -> None:
        """Show full screen (the terminal) or in a 1280×800 window (development, screenshots)."""
        self.window.setProperty("closable", windowed)
        if not self._started:
            # Queued: frameSwapped may come from the render thread.
            self.window.frameSwapped.connect(self._on_frame, Qt.ConnectionType.QueuedConnection)
        if windowed:
            self.window.resize(*WINDOWED_SIZE)
            self.window.show()
        else:
            self.window.showFullScreen()

    def close(self) -> None:
        """Hide the window, destroy the engine (and with it the view), then the web profile."""
        roots = self.engine.rootObjects()
        if roots and isinstance(roots[0], QQuickWindow):
            roots[0].hide()
        # Pages first, profile after: the profile goes only once the engine (and view) are gone.
        self.engine.destroyed.connect(self.browser.shutdown)
        self.engine.deleteLater()
        self._app.removeTranslator(self.translator)
