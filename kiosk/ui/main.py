"""``kiosk``: start the resident's home screen on the terminal (or take a screenshot of it)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from kiosk import __version__
from kiosk.catalog import CatalogError, default_bundle_dir, load_catalog
from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.browser import prepare_web_engine
from kiosk.ui.home import HomeLoadError, HomeScreen
from kiosk.ui.i18n import gettext_for, ui_languages
from kiosk.ui.qt import QEvent, QGuiApplication, QQuickWindow, Qt

log = logging.getLogger(__name__)

# The command line is read by technicians before any language is chosen: it speaks French.
_ = gettext_for(DEFAULT_LANGUAGE)

EXIT_OK = 0
EXIT_SCREENSHOT_FAILED = 1
EXIT_BAD_CONTENT = 2


class _FrenchHelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with its "usage:" heading translated."""

    def add_usage(
        self,
        usage: str | None,
        actions: Iterable[argparse.Action],
        groups: Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        super().add_usage(usage, actions, groups, prefix or _("Usage: "))


def build_parser() -> argparse.ArgumentParser:
    """The command line, with every text in the UI catalog (French by default)."""
    parser = argparse.ArgumentParser(
        prog="kiosk",
        description=_(
            "Shows the terminal's home screen: large tiles of public services "
            "(health, family benefits, taxes, work, identity papers, pensions)."
        ),
        epilog=_(
            "Touching a service opens it in a private session that is erased at the end of "
            "each visit. The accessibility tools come in a later version."
        ),
        formatter_class=_FrenchHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group(_("Options"))
    options.add_argument("-h", "--help", action="help", help=_("Show this help and exit."))
    options.add_argument(
        "--version", action="version", version=f"kiosk {__version__}", help=_("Show the version.")
    )
    options.add_argument(
        "--windowed",
        action="store_true",
        help=_("Open a 1280×800 window instead of filling the screen."),
    )
    options.add_argument(
        "--catalog",
        type=Path,
        default=default_bundle_dir(),
        metavar=_("FOLDER"),
        help=_(
            "Content folder holding catalog.json and its pictograms (default: the built-in one)."
        ),
    )
    options.add_argument(
        "--lang",
        choices=ui_languages(),
        default=DEFAULT_LANGUAGE,
        help=_("Language of the screen (default: fr)."),
    )
    options.add_argument(
        "--screenshot",
        type=Path,
        metavar=_("FILE.png"),
        help=_("Save an image of the home screen once it is drawn, then quit."),
    )
    return parser


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the home screen until the window closes; return the process exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        catalog = load_catalog(args.catalog)
    except CatalogError as exc:
        log.error("content bundle refused, the kiosk cannot start: %s", exc)
        return EXIT_BAD_CONTENT
    prepare_web_engine()
    # Qt gets only the program name: every option above belongs to the kiosk.
    app = QGuiApplication(sys.argv[:1])
    app.setApplicationName("kiosk")
    app.setApplicationVersion(__version__)
    try:
        home = HomeScreen(app, catalog, args.catalog, args.lang)
    except HomeLoadError as exc:
        log.error("%s", exc)
        return EXIT_BAD_CONTENT
    if args.screenshot is not None:
        save_first_frame(app, home.window, args.screenshot)
    home.show(windowed=args.windowed)
    code = app.exec()
    home.close()
    # The loop has stopped: run the deletions close() queued (the window and its view, then
    # the web profile, then the browser object) before Python tears the objects down.
    for _ in range(3):
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return code


if __name__ == "__main__":
    sys.exit(main())
