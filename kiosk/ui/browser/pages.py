"""The kiosk's own pages, served under ``kiosk://`` to every session's profile.

Friendly pages (refusal, offline), the pages the kiosk draws from the bundle's data (the
help-places guide, the useful numbers) and the bundle's own files (``kiosk://content/...``).
A custom scheme rather than ``file:`` or ``qrc:``: those stay forbidden to the resident's view,
and these pages carry no address of the resident's browsing (they are the same for everyone).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl

from kiosk.contract.catalog import BUILT_IN_PAGES
from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.browser.numbers import T_NUMBERS, numbers_html
from kiosk.ui.browser.pagestyle import (
    ICON_HELP,
    ICON_OFFLINE,
    ICON_PHONE,
    ICON_REFUSED,
    page_document,
)
from kiosk.ui.browser.policy import CONTENT_HOST, KIOSK_SCHEME
from kiosk.ui.i18n import N_, gettext_for, resident_language
from kiosk.ui.qt import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QUrl,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
    Signal,
)

if TYPE_CHECKING:
    from kiosk.contract.places import PlacesFile

log = logging.getLogger(__name__)


# Texts shown inside the pages' markup (marked here, where the extractor sees them).
T_FIND_HELP = N_("Find help near here")

#: Which refusal page explains which reason (``kiosk://refused/?why=...``).
REFUSAL_REASONS: Final = ("outside", "certificate", "forbidden")
#: The files of a bundle a page may load, by suffix, with their type.
CONTENT_TYPES: Final = {
    ".html": "text/html;charset=utf-8",
    ".css": "text/css;charset=utf-8",
    ".js": "text/javascript;charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def register_kiosk_scheme() -> None:
    """Declare ``kiosk:`` to QtWebEngine; must run before the application object exists."""
    if QWebEngineUrlScheme.schemeByName(QByteArray(KIOSK_SCHEME.encode())).name():
        return
    scheme = QWebEngineUrlScheme(QByteArray(KIOSK_SCHEME.encode()))
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    # Secure (like https, so https pages may show it in a frame) and local to nothing: an
    # opaque origin, so a local page can keep nothing (no cookie, no storage) for the next one.
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.NoAccessAllowed
        | QWebEngineUrlScheme.Flag.ContentSecurityPolicyIgnored
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def direction_of(language: str) -> str:
    """``rtl`` for a right-to-left language (Arabic), else ``ltr``."""
    try:
        return "rtl" if resident_language(language).right_to_left else "ltr"
    except KeyError:
        return "ltr"


@dataclass(frozen=True)
class PageContext:
    """What the kiosk's pages are drawn with: language, contrast, the bundle and the terminal."""

    translate: Callable[[str], str]
    language: str = DEFAULT_LANGUAGE
    high_contrast: bool = False
    bundle_dir: Path | None = None
    places: PlacesFile | None = None
    #: The terminal's own position (latitude, longitude), for "nearest first".
    position: tuple[float, float] | None = None
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def _help_links(_: Callable[[str], str]) -> str:
    return (
        "<p class='help'>"
        f"<a class='button' id='help-guide' href='kiosk://guide/'>{ICON_HELP}"
        f"{html.escape(_(T_FIND_HELP))}</a>"
        f"<a class='button' id='help-numbers' href='kiosk://numbers/'>{ICON_PHONE}"
        f"{html.escape(_(T_NUMBERS))}</a></p>"
    )


def _friendly(
    context: PageContext, title: str, icon: str, lines: list[str], back: str | None
) -> str:
    _ = context.translate
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    # The way back is the page's only script (the Content-Security-Policy allows it there).
    back_html = (
        f"<p><button class='prominent' id='back' onclick='history.back()'>"
        f"{html.escape(back)}</button></p>"
        if back
        else ""
    )
    body = (
        f"<main class='center'><div class='icon' aria-hidden='true'>{icon}</div>"
        f"<h1>{html.escape(title)}</h1>{paragraphs}{back_html}{_help_links(_)}</main>"
    )
    return page_document(
        title,
        body,
        context.language,
        direction_of(context.language),
        high_contrast=context.high_contrast,
        scripts=bool(back),
    )


def page_html(
    host: str, reason: str, _: Callable[[str], str], language: str = DEFAULT_LANGUAGE
) -> str | None:
    """The HTML of a friendly ``kiosk://<host>/`` page through the gettext function ``_``.

    ``language`` gives the page's ``lang`` and its direction (``dir='rtl'`` in Arabic).
    """
    return render_friendly(host, reason, PageContext(_, language))


def render_friendly(host: str, reason: str, context: PageContext) -> str | None:
    """The refusal, offline and blank pages (``None`` for any other host)."""
    _ = context.translate
    if host == "refused":
        if reason == "certificate":
            lines = [
                _("This site could not prove its identity, so the terminal does not open it."),
                _("Your data is safe. You can go back or choose another service."),
            ]
        elif reason == "forbidden":
            lines = [
                _("This kind of link cannot be opened on the terminal."),
                _("You can go back to the previous page or choose another service."),
            ]
        else:
            lines = [
                _("This page is outside the service you chose."),
                _("For your safety, the terminal only opens the pages of this service."),
            ]
        title = _("This page is not available here")
        return _friendly(context, title, ICON_REFUSED, lines, _("Go back"))
    if host == "offline":
        lines = [
            _("The connection is interrupted for the moment."),
            _("The terminal tries again by itself. Please wait a little."),
        ]
        return _friendly(context, _("No connection"), ICON_OFFLINE, lines, None)
    if host == "blank":
        return "<!doctype html><html><head><meta charset='utf-8'><title></title></head></html>"
    return None


def render_page(host: str, path: str, query: dict[str, str], context: PageContext) -> str | None:
    """The HTML of a page the kiosk draws itself (``None``: no such page)."""
    friendly = render_friendly(host, query.get("why", ""), context)
    if friendly is not None:
        return friendly
    direction = direction_of(context.language)
    if host == "numbers":
        return numbers_html(
            context.translate,
            context.language,
            direction,
            high_contrast=context.high_contrast,
            show=query.get("show", ""),
        )
    if host == "guide":
        # Imported with the first guide page drawn (QR codes, opening hours): not at start-up.
        from kiosk.ui.browser.guide import GuideRenderer
        from kiosk.ui.browser.nearby import Filters

        renderer = GuideRenderer(
            context.translate, context.language, direction, high_contrast=context.high_contrast
        )
        filters = Filters.from_query(query)
        if path.strip("/") == "place":
            return renderer.place_page(
                context.places, query.get("id", ""), filters, context.position, context.now()
            )
        if path.strip("/"):
            return None
        return renderer.list_page(context.places, filters, context.position, context.now())
    return None


def bundle_file(bundle_dir: Path | None, path: str) -> tuple[bytes, str] | None:
    """A file of the bundle a local page may load (``None``: absent, odd name or odd type)."""
    # The agent's rule for a bundle's paths (its module holds the manifest's models: imported
    # with the first bundle file a page loads, not at start-up).
    from kiosk.contract.manifest import path_problem

    relative = path.lstrip("/")
    content_type = CONTENT_TYPES.get(Path(relative).suffix.lower())
    if bundle_dir is None or content_type is None or path_problem(relative):
        return None
    candidate = bundle_dir / relative
    try:
        if candidate.is_symlink() or not candidate.resolve().is_relative_to(bundle_dir.resolve()):
            return None
        return candidate.read_bytes(), content_type
    except OSError:
        return None


class KioskPages(QWebEngineUrlSchemeHandler):
    """Answers every ``kiosk://`` address: friendly pages, the guide, the numbers, bundle files.

    The pages follow the resident's language and contrast (:meth:`set_language`,
    :meth:`set_high_contrast`) and the content bundle shown (:meth:`set_content`).
    """

    #: A help page (the guide, a place, a number) was drawn: its address, for the counts.
    helpPageServed = Signal(str)

    def __init__(
        self,
        translate: Callable[[str], str],
        parent: QObject | None = None,
        *,
        language: str = DEFAULT_LANGUAGE,
    ) -> None:
        super().__init__(parent)
        self.context = PageContext(translate, language)

    @property
    def language(self) -> str:
        return self.context.language

    def set_translate(self, translate: Callable[[str], str], language: str) -> None:
        """Serve the pages through ``translate`` (the gettext of ``language``) from now on."""
        self.context = replace(self.context, translate=translate, language=language)

    def set_language(self, language: str) -> None:
        """Serve the pages in ``language`` from now on (the next page loaded shows it)."""
        self.set_translate(gettext_for(language), language)

    def set_high_contrast(self, high_contrast: bool) -> None:
        self.context = replace(self.context, high_contrast=high_contrast)

    def set_content(self, bundle_dir: Path, places: PlacesFile | None) -> None:
        """The bundle whose pages and guide are served from now on."""
        self.context = replace(self.context, bundle_dir=bundle_dir, places=places)

    def set_position(self, position: tuple[float, float] | None) -> None:
        """The terminal's position (latitude, longitude), for "nearest first"."""
        self.context = replace(self.context, position=position)

    def set_clock(self, now: Callable[[], datetime]) -> None:
        """The clock "open now" is computed with (tests and screenshots fix it)."""
        self.context = replace(self.context, now=now)

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url: QUrl = job.requestUrl()
        host = url.host()
        query = {
            key: value
            for key, value in parse_qsl(url.query(QUrl.ComponentFormattingOption.FullyDecoded))
        }
        if host == CONTENT_HOST:
            found = bundle_file(self.context.bundle_dir, url.path())
            if found is None:
                job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
                return
            data, content_type = found
            self._reply(job, data, content_type)
            return
        try:
            text = render_page(host, url.path(), query, self.context)
        except (ValueError, KeyError) as exc:
            # A page that cannot be drawn says so in the log (never the resident's address).
            log.error("the kiosk page %s could not be drawn: %s", host, exc)
            text = None
        if text is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        self._reply(job, text.encode("utf-8"), "text/html;charset=utf-8")
        if host in BUILT_IN_PAGES:
            self.helpPageServed.emit(url.toString())

    def _reply(self, job: QWebEngineUrlRequestJob, data: bytes, content_type: str) -> None:
        buffer = QBuffer(job)
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(QByteArray(content_type.encode()), buffer)
