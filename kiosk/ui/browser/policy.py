"""The browsing lockdown as plain decisions: what a resident's page may load, open or press.

No Qt here: the request interceptor, the QML view's handlers and the key filter call these
functions, and the unit tests call them directly. Each refusal names a *vector* (a short,
stable word) so that logs and tests can say what was refused without saying where.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from kiosk.contract.catalog import BUILT_IN_PAGES, Tile

#: The scheme of the kiosk's own pages (refusal, offline): never ``file:`` nor ``qrc:``.
KIOSK_SCHEME: Final = "kiosk"
#: The host of the bundle's own pages: ``kiosk://content/pages/aide.html``.
CONTENT_HOST: Final = "content"
#: The kiosk pages a view may show, by host (``kiosk://refused/``...): its own friendly pages,
#: the bundle's pages, and the pages it draws from the bundle's data (see ``BUILT_IN_PAGES``).
KIOSK_PAGES: Final = frozenset({"refused", "offline", "blank", CONTENT_HOST} | BUILT_IN_PAGES)


class Vector(StrEnum):
    """A way out of the lockdown; the value is what logs and signals carry."""

    OUTSIDE_ALLOW_LIST = "outside-allow-list"
    FORBIDDEN_SCHEME = "forbidden-scheme"
    EXTERNAL_PROTOCOL = "external-protocol"
    POPUP = "popup"
    DOWNLOAD = "download"
    FILE_PICKER = "file-picker"
    PRINT = "print"
    CONTEXT_MENU = "context-menu"
    PERMISSION = "permission"
    HTTP_AUTH = "http-auth"
    CLIENT_CERTIFICATE = "client-certificate"
    CERTIFICATE_ERROR = "certificate-error"
    FULLSCREEN = "fullscreen"
    SHORTCUT = "shortcut"
    PROTOCOL_HANDLER = "protocol-handler"
    DRAG_OUT = "drag-out"
    #: A local page (the kiosk's or the bundle's) asking for anything but the kiosk's files.
    LOCAL_PAGE_REQUEST = "local-page-request"


#: Schemes a resident's page may never navigate to, even inside an allow-listed site.
FORBIDDEN_SCHEMES: Final = frozenset(
    {
        "file",
        "data",
        "javascript",
        "view-source",
        "chrome",
        "chrome-extension",
        "chrome-untrusted",
        "devtools",
        "qrc",
        "about",
        "blob",
        "filesystem",
        "ftp",
        "http",
        "ws",
    }
)
#: Chromium's built-in PDF viewer (an internal extension): it shows a PDF inline, read-only.
PDF_VIEWER: Final = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"
#: The static scripts and styles the PDF viewer is built from (never a navigation).
BROWSER_RESOURCES: Final = "chrome://resources/"
#: Frame contents Chromium creates itself inside an allowed page: empty frames.
EMPTY_SUBFRAMES: Final = ("about:blank", "about:srcdoc")
#: Schemes handed by browsers to other applications (mail, phone, Android intents...).
EXTERNAL_SCHEMES: Final = frozenset(
    {"mailto", "tel", "sms", "intent", "geo", "callto", "market", "fax", "webcal"}
)
#: Sub-resource schemes a page may use (an image from a CDN, a websocket); never navigations.
SUBRESOURCE_SCHEMES: Final = frozenset({"https", "wss", KIOSK_SCHEME})


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request goes through; when refused, which vector it was."""

    allowed: bool
    vector: Vector | None = None

    @classmethod
    def allow(cls) -> Verdict:
        return cls(True)

    @classmethod
    def refuse(cls, vector: Vector) -> Verdict:
        return cls(False, vector)


def scheme_of(url: str) -> str:
    """The lower-case scheme of ``url`` (``""`` when there is none)."""
    return urlsplit(url.strip()).scheme.lower()


def is_kiosk_page(url: str) -> bool:
    """Whether ``url`` is one of the kiosk's own pages (``kiosk://refused/``...)."""
    parts = urlsplit(url)
    return parts.scheme.lower() == KIOSK_SCHEME and (parts.hostname or "") in KIOSK_PAGES


def page_url(page: str) -> str:
    """The address of a tile's local page: a built-in page, or a file of the bundle."""
    if page in BUILT_IN_PAGES:
        return f"{KIOSK_SCHEME}://{page}/"
    return f"{KIOSK_SCHEME}://{CONTENT_HOST}/{page}"


def tile_address(tile: Tile) -> str:
    """Where a tile opens: its site, or its local page."""
    return str(tile.url) if tile.url is not None else page_url(tile.page or "")


def help_page_kind(url: str) -> str | None:
    """Which help page ``url`` is, for the observatory's counts (never which place or number).

    ``guide`` (the list of places), ``place`` (one place's page), ``number`` (a number shown
    full screen), or ``None`` for any other page.
    """
    parts = urlsplit(url)
    if parts.scheme != KIOSK_SCHEME:
        return None
    if parts.hostname == "guide":
        return "place" if parts.path.strip("/") == "place" else "guide"
    if parts.hostname == "numbers" and "show=" in parts.query:
        return "number"
    return None


def navigation_verdict(url: str, tile: Tile | None, *, main_frame: bool = True) -> Verdict:
    """May a main-frame or sub-frame navigation to ``url`` happen in ``tile``'s session?"""
    scheme = scheme_of(url)
    if is_kiosk_page(url) or url.startswith(PDF_VIEWER):
        return Verdict.allow()
    if not main_frame and url.startswith(EMPTY_SUBFRAMES):
        return Verdict.allow()
    if scheme in EXTERNAL_SCHEMES:
        return Verdict.refuse(Vector.EXTERNAL_PROTOCOL)
    if scheme != "https":
        # file:, data:, javascript:, view-source:, chrome:, devtools:, qrc:, plain http...
        return Verdict.refuse(Vector.FORBIDDEN_SCHEME)
    if tile is None or not tile.allows(url):
        return Verdict.refuse(Vector.OUTSIDE_ALLOW_LIST)
    return Verdict.allow()


def subresource_verdict(url: str, *, from_local_page: bool = False) -> Verdict:
    """May a page fetch ``url`` as an image, script, style, XHR...? Encrypted schemes only.

    A local page (``from_local_page``: its first party is a ``kiosk:`` page) may load the
    kiosk's own files only: nothing it does sends a request off the terminal.
    """
    scheme = scheme_of(url)
    if from_local_page and scheme != KIOSK_SCHEME:
        return Verdict.refuse(Vector.LOCAL_PAGE_REQUEST)
    if scheme in SUBRESOURCE_SCHEMES or url.startswith((PDF_VIEWER, BROWSER_RESOURCES)):
        return Verdict.allow()
    if scheme in EXTERNAL_SCHEMES:
        return Verdict.refuse(Vector.EXTERNAL_PROTOCOL)
    return Verdict.refuse(Vector.FORBIDDEN_SCHEME)


def new_window_verdict(url: str, tile: Tile | None) -> Verdict:
    """A popup or ``target=_blank`` link: opened in the same view when allowed, else refused."""
    verdict = navigation_verdict(url, tile)
    if verdict.allowed:
        return verdict
    if verdict.vector is Vector.OUTSIDE_ALLOW_LIST:
        return Verdict.refuse(Vector.POPUP)
    return verdict


def download_verdict(mime_type: str, *, shown_inline: bool) -> Verdict:
    """Downloads never reach the terminal's disk; a PDF is only ever shown in the viewer."""
    if shown_inline and mime_type == "application/pdf":
        return Verdict.allow()
    return Verdict.refuse(Vector.DOWNLOAD)


#: Key chords a web page may still receive: typing help that moves nothing out of the page.
EDITING_CHORDS: Final = frozenset(
    {
        "Ctrl+A",
        "Ctrl+C",
        "Ctrl+V",
        "Ctrl+X",
        "Ctrl+Z",
        "Ctrl+Y",
        "Ctrl+Shift+Z",
        "Ctrl+Left",
        "Ctrl+Right",
        "Ctrl+Backspace",
        "Ctrl+Del",
        "Ctrl+Home",
        "Ctrl+End",
        "Ctrl+Shift+Left",
        "Ctrl+Shift+Right",
        "Ctrl+Shift+Home",
        "Ctrl+Shift+End",
    }
)
#: Keys that are shortcuts by themselves (reload, fullscreen, devtools, help, browser keys...).
SHORTCUT_KEYS: Final = frozenset(
    {f"F{n}" for n in range(1, 36)}
    | {
        "Back",
        "Forward",
        "Refresh",
        "Reload",
        "Stop",
        "Search",
        "Favorites",
        "HomePage",
        "OpenUrl",
        "Print",
        "Menu",
        "Launch Mail",
        "Media Play",
        "Media Stop",
    }
)


def shortcut_allowed(chord: str) -> bool:
    """May the page see the key chord ``chord`` (Qt's portable text, e.g. ``"Ctrl+Shift+I"``)?

    Every chord with Ctrl, Alt or Meta is a browser or window shortcut (Ctrl+L/T/N/W/P/S/U/O,
    Alt+Left, Alt+F4, Ctrl+Shift+I...) except the editing ones above; function keys (F5, F11,
    F12...) and browser keys are shortcuts by themselves. Plain typing, arrows, Tab, Enter and
    Escape pass.
    """
    if chord in EDITING_CHORDS:
        return True
    parts = chord.split("+") if chord != "+" else ["+"]
    modifiers, key = parts[:-1], parts[-1]
    if key == "" and chord.endswith("++"):
        key = "+"
        modifiers = chord[:-2].split("+") if len(chord) > 2 else []
    if any(modifier in {"Ctrl", "Alt", "Meta"} for modifier in modifiers):
        return False
    return key not in SHORTCUT_KEYS
