"""``kiosk``: start the resident's home screen on the terminal (or take a screenshot of it)."""

from __future__ import annotations

import argparse
import ctypes
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.cli import guarded, speak
from kiosk.cli.argparse_app import Parser
from kiosk.contract.catalog import CatalogError, default_bundle_dir, load_catalog
from kiosk.contract.paths import KIOSK_CONFIG
from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeLoadError, HomeScreen
from kiosk.ui.i18n import gettext_for, ui_languages
from kiosk.ui.qt import (
    QEvent,
    QGuiApplication,
    QObject,
    QQuickWindow,
    Qt,
    prepare_virtual_keyboard,
)
from kiosk.ui.session import SessionTimeouts
from kiosk.ui.startsettings import StartSettings, read_start_settings

if TYPE_CHECKING:
    from kiosk.ui.agent_bridge import AgentBridge
    from kiosk.ui.settings import KioskSettings

log = logging.getLogger(__name__)

# The command line is read by technicians before any language is chosen: it speaks French.
_ = gettext_for(DEFAULT_LANGUAGE)

EXIT_OK = 0
EXIT_SCREENSHOT_FAILED = 1
EXIT_BAD_CONTENT = 2
EXIT_BAD_SETTINGS = 2
#: What ``--exit-when-ready`` prints once the home screen is drawn with its tiles (benchmarks).
READY_LINE = "kiosk-ready"


#: References added to ``True``, ``False`` and ``None`` on Python 3.11 (see
#: :func:`make_singletons_immortal`).
_SPARE_REFERENCES = 1 << 40


def make_singletons_immortal() -> None:
    """Work around PySide6 6.12 dropping references to ``True`` and ``None``.

    On Python 3.11 (Debian 12's), ``True``'s count falls by one per ``Signal.emit()`` from
    Python, and ``None``'s by one per call of any Qt method that returns ``void``
    (``setObjectName``, ``processEvents``...). After a few thousand (about 260 resident
    sessions for ``True``) the interpreter aborts with "bool_dealloc: deallocating True" or
    "none_dealloc: deallocating None". Python 3.12+ makes these objects immortal; this does the
    same here by giving them references that are never released.
    """
    if sys.version_info >= (3, 12):
        return
    for value in (True, False, None):
        ctypes.c_ssize_t.from_address(id(value)).value += _SPARE_REFERENCES


def build_parser() -> argparse.ArgumentParser:
    """The command line, with every text in the UI catalog (French by default), laid out and
    refused like the other programs' (:mod:`kiosk.cli`)."""
    speak(DEFAULT_LANGUAGE)
    options = Parser(
        "kiosk",
        _(
            "Shows the terminal's home screen: large tiles of public services "
            "(health, family benefits, taxes, work, identity papers, pensions)."
        ),
        _(
            "Touching a service opens it in a private session that is erased at the end of "
            "each visit. Language, contrast, text size, read-aloud and the on-screen keyboard "
            "are available on every screen."
        ),
        epilog_is_prose=True,
    )
    options.add_argument(
        "--version", action="version", version=f"kiosk {__version__}", help=_("Show the version.")
    )
    options.add_argument(
        "--windowed",
        action="store_true",
        help=_("Open a 1280×800 window instead of filling the screen."),
    )
    options.add_argument(
        "--config",
        type=Path,
        metavar=_("FILE.toml"),
        help=_("Settings file (default: {path}, if it exists).").format(path=KIOSK_CONFIG),
    )
    options.add_argument(
        "--catalog",
        type=Path,
        metavar=_("FOLDER"),
        help=_(
            "Content folder holding catalog.json and its pictograms (default: the built-in one)."
        ),
    )
    options.add_argument(
        "--lang",
        choices=ui_languages(),
        help=_("Language of the screen (default: fr)."),
    )
    options.add_argument(
        "--screenshot",
        type=Path,
        metavar=_("FILE.png"),
        help=_("Save an image of the home screen once it is drawn, then quit."),
    )
    # For the start-up benchmark: print READY_LINE once the tiles are on screen, then quit.
    options.add_argument("--exit-when-ready", action="store_true", help=argparse.SUPPRESS)
    return options


def session_timeouts(settings: KioskSettings | StartSettings) -> SessionTimeouts:
    """The session clock's durations from the settings."""
    return SessionTimeouts(
        idle_timeout_s=float(settings.idle_timeout_s),
        countdown_s=float(settings.countdown_s),
        max_length_s=float(settings.max_session_s),
        max_length_warning_s=float(settings.max_session_warning_s),
    )


def save_first_frame(app: QGuiApplication, window: QQuickWindow, path: Path) -> None:
    """Save ``window`` to ``path`` once its first frame is on screen, then quit the app."""

    def grab_and_quit() -> None:
        window.frameSwapped.disconnect(grab_and_quit)
        code = EXIT_SCREENSHOT_FAILED
        # try/finally: an exception inside a Qt slot is only printed, and the app would
        # otherwise wait forever instead of quitting with an error code.
        try:
            image = window.grabWindow()
            # PySide6 6.12 accepts only a str format at run time; its stub says bytes.
            saved = not image.isNull() and image.save(str(path), "PNG")  # type: ignore[call-overload]
            if saved:
                log.info("screenshot of the home screen saved to %s", path)
                code = EXIT_OK
            else:
                log.error("could not save the screenshot to %s; nothing was written", path)
        finally:
            app.exit(code)

    # Queued: frameSwapped may come from the render thread, and grabbing from inside the
    # render pass is not allowed; the next turn of the event loop is safe.
    window.frameSwapped.connect(grab_and_quit, Qt.ConnectionType.QueuedConnection)


def report_crashes_to(bridge: AgentBridge) -> None:
    """Tell the agent about an uncaught exception (its type only), then print it as usual."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        bridge.report_crash("ui", kind.__name__)
        previous(kind, error, trace)

    sys.excepthook = hook


def exit_when_ready(app: QGuiApplication, window: QQuickWindow) -> None:
    """Print :data:`READY_LINE` and quit once a frame shows the home's cards laid out."""
    grid = window.findChild(QObject, "homeGrid")

    def check() -> None:
        if grid is None or not grid.property("laidOut"):
            return  # the cards are not laid out yet: wait for the next frame
        window.frameSwapped.disconnect(check)
        print(READY_LINE, flush=True)
        app.exit(EXIT_OK)

    window.frameSwapped.connect(check, Qt.ConnectionType.QueuedConnection)


def checked_settings(path: Path | None, start: StartSettings | None = None) -> KioskSettings | None:
    """Every setting, checked by the model (the values ``start`` was read from, if given);
    None after printing why they are refused."""
    from kiosk.ui.settings import KioskSettings, SettingsError, load_settings, settings_from_mapping

    try:
        if start is None:
            return load_settings(path)
        if start.source is None:
            return KioskSettings()
        return settings_from_mapping(start.values, start.source)
    except SettingsError as exc:
        print(_("kiosk: {error}").format(error=exc), file=sys.stderr)
        return None


def start_bridge(
    home: HomeScreen, settings: KioskSettings, socket: Path, configured_dir: Path
) -> AgentBridge:
    """Connect the home screen to the agent's local socket, and start reporting."""
    from kiosk.ui.agent_bridge import AgentBridge

    bridge = AgentBridge(
        home.browser,
        settings,
        socket,
        ui_version=__version__,
        window=home.window,
        is_home=home.showing_home,
    )
    # The fleet's brightness schedule (through the agent) drives the attract screen's dimming.
    bridge.brightnessScheduleChanged.connect(home.attract.brightness.set_schedule)
    # The agent has applied a content update: <content dir>/current now points at it.
    bridge.contentSwitchRequested.connect(
        lambda _version: home.switch_content(configured_dir.resolve())
    )
    bridge.start()
    report_crashes_to(bridge)
    return bridge


@guarded("kiosk")
def main(argv: Sequence[str] | None = None) -> int:
    """Run the home screen until the window closes; return the process exit code."""
    args = build_parser().parse_args(argv)
    make_singletons_immortal()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # The settings the first frame needs, read without pydantic when the file is a usual one;
    # else (or to word a refusal) the model decides now.
    start = read_start_settings(args.config)
    settings: KioskSettings | None = None
    if start is None:
        settings = checked_settings(args.config)
        if settings is None:
            return EXIT_BAD_SETTINGS
        start = StartSettings(
            values={},
            source=None,
            idle_timeout_s=settings.idle_timeout_s,
            countdown_s=settings.countdown_s,
            max_session_s=settings.max_session_s,
            max_session_warning_s=settings.max_session_warning_s,
            default_language=settings.default_language,
            catalog_dir=settings.catalog_dir,
            position=settings.position,
        )
    # On a terminal this is <content dir>/current, a link the agent switches atomically: resolve
    # it once per load so that every file comes from the same version. Before the first
    # content update there is no link yet, and the bundle shipped with the kiosk is shown.
    configured_dir: Path = args.catalog or start.catalog_dir
    catalog_dir = configured_dir.resolve() if configured_dir.exists() else default_bundle_dir()
    if catalog_dir == default_bundle_dir() and configured_dir != catalog_dir:
        log.warning("no content at the configured place yet; showing the built-in content")
    language: str = args.lang or start.default_language
    try:
        catalog = load_catalog(catalog_dir)
    except CatalogError as exc:
        log.error("content bundle refused, the kiosk cannot start: %s", exc)
        return EXIT_BAD_CONTENT
    prepare_web_engine()
    prepare_virtual_keyboard()
    # Qt gets only the program name: every option above belongs to the kiosk.
    app = QGuiApplication(sys.argv[:1])
    app.setApplicationName("kiosk")
    app.setApplicationVersion(__version__)
    try:
        home = HomeScreen(
            app,
            catalog,
            catalog_dir,
            language,
            session_timeouts(start),
            position=start.position,
        )
    except HomeLoadError as exc:
        log.error("%s", exc)
        return EXIT_BAD_CONTENT
    bridges: list[AgentBridge] = []

    def connect_agent() -> None:
        """Once the home is shown: every setting checked, the backlight, the agent's link."""
        full = settings or checked_settings(args.config, start)
        if full is None:
            app.exit(EXIT_BAD_SETTINGS)
            return
        home.attract.brightness.set_schedule(full.brightness_schedule)
        if full.agent_socket is not None and args.screenshot is None:
            bridges.append(start_bridge(home, full, full.agent_socket, configured_dir))

    home.after_start(connect_agent)
    if args.screenshot is not None:
        save_first_frame(app, home.window, args.screenshot)
    elif args.exit_when_ready:
        exit_when_ready(app, home.window)
    home.show(windowed=args.windowed)
    code = app.exec()
    for bridge in bridges:
        bridge.stop()
    home.close()
    # The loop has stopped: run the deletions close() queued (the window and its view, then
    # the web profile, then the browser object) before Python tears the objects down.
    for _pass in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code


if __name__ == "__main__":
    sys.exit(main())
