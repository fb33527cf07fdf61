"""One fresh off-the-record web profile per session, and its request filter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.contract.catalog import Tile
from kiosk.ui.browser.pages import KioskPages
from kiosk.ui.browser.policy import (
    KIOSK_SCHEME,
    Vector,
    download_verdict,
    is_kiosk_page,
    navigation_verdict,
    subresource_verdict,
)
from kiosk.ui.browser.selfcheck import CookieLedger
from kiosk.ui.qt import (
    QByteArray,
    QMetaObject,
    QObject,
    QQmlComponent,
    QQmlEngine,
    QQuickWebEngineProfile,
    QUrl,
    QWebEngineDownloadRequest,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)

log = logging.getLogger(__name__)

_NAVIGATIONS = {
    QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMainFrame: True,
    QWebEngineUrlRequestInfo.ResourceType.ResourceTypeSubFrame: False,
}


_FAVICON: Final = QWebEngineUrlRequestInfo.ResourceType.ResourceTypeFavicon


def refusal_url(vector: Vector) -> str:
    """The kiosk page that explains a refused navigation."""
    why = (
        "forbidden" if vector in (Vector.FORBIDDEN_SCHEME, Vector.EXTERNAL_PROTOCOL) else "outside"
    )
    return f"{KIOSK_SCHEME}://refused/?why={why}"


class LockdownInterceptor(QWebEngineUrlRequestInterceptor):
    """Every request of every session goes through :mod:`policy` (server redirects included)."""

    def __init__(
        self,
        current_tile: Callable[[], Tile | None],
        on_refused: Callable[[Vector], None],
        parent: QObject | None = None,
        *,
        is_probe: Callable[[str], bool] = lambda _url: False,
        on_document: Callable[[str], None] = lambda _url: None,
    ) -> None:
        super().__init__(parent)
        self._current_tile = current_tile
        self._on_refused = on_refused
        self._is_probe = is_probe
        self._on_document = on_document

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl().toString()
        main_frame = _NAVIGATIONS.get(info.resourceType())
        if main_frame and self._is_probe(url):
            return  # the self-check's probe document (between sessions)
        if main_frame is None:
            local = is_kiosk_page(info.firstPartyUrl().toString())
            verdict = subresource_verdict(url, from_local_page=local)
            if local and not verdict.allowed and info.resourceType() == _FAVICON:
                # Chromium's own second try at the previous site's icon, now that a local page
                # has replaced it: not the page's doing, so blocked without a refusal reported.
                info.block(True)
                return
        else:
            verdict = navigation_verdict(url, self._current_tile(), main_frame=main_frame)
        if verdict.allowed or verdict.vector is None:
            if main_frame is not None:
                self._on_document(url)  # a document of the session: the self-check probes it
            return
        self._on_refused(verdict.vector)
        if main_frame is None:
            info.block(True)
        else:
            # The friendly page takes the refused page's place, in a frame as in the window.
            info.redirect(QUrl(refusal_url(verdict.vector)))


PROFILE_QML: Final = Path(__file__).resolve().parent.parent / "qml" / "SessionProfile.qml"

#: Injected into every page and frame of a session, in its own JavaScript world (the page can
#: neither see nor undo it) and before the page's own scripts: nothing the resident touches can
#: be dragged out of the page (a link, an image, selected text). Registered first on the
#: window's capture phase, it cancels every ``dragstart`` before any listener of the page runs.
LOCKDOWN_SCRIPT: Final = """
window.addEventListener('dragstart', (event) => { event.preventDefault(); }, true);
"""


class ProfileError(RuntimeError):
    """A session profile could not be made (a packaging or programming error)."""


@dataclass(frozen=True, slots=True)
class SessionProfile:
    """A session's profile, the prototype object that owns it (deleting one deletes both), and
    the count of the cookies in its store."""

    owner: QObject
    profile: QQuickWebEngineProfile
    cookies: CookieLedger


class ProfileFactory(QObject):
    """Makes each session's fresh off-the-record profile, locked down and with the kiosk pages."""

    def __init__(
        self,
        pages: KioskPages,
        interceptor: LockdownInterceptor,
        on_refused: Callable[[Vector], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pages = pages
        self._interceptor = interceptor
        self._on_refused = on_refused
        self._engine = QQmlEngine(self)
        self._component = QQmlComponent(self._engine, QUrl.fromLocalFile(str(PROFILE_QML)))

    def create(self) -> SessionProfile:
        owner = self._component.create()
        profile = owner.property("profile") if owner is not None else None
        if owner is None or not isinstance(profile, QQuickWebEngineProfile):
            errors = "; ".join(error.toString() for error in self._component.errors())
            raise ProfileError(f"{PROFILE_QML} made no profile: {errors}")
        owner.setParent(self)
        owner.setProperty("lockdownScript", LOCKDOWN_SCRIPT)
        QMetaObject.invokeMethod(owner, "installLockdownScript")
        profile.setSpellCheckEnabled(False)
        profile.setPushServiceEnabled(False)
        profile.installUrlSchemeHandler(QByteArray(KIOSK_SCHEME.encode()), self._pages)
        profile.setUrlRequestInterceptor(self._interceptor)
        profile.downloadRequested.connect(self._refuse_download)
        # Before any page: every cookie the session's pages get is counted (owned by the
        # prototype, it goes with the profile).
        cookies = CookieLedger(profile.cookieStore(), owner)
        return SessionProfile(owner, profile, cookies)

    def _refuse_download(self, download: QWebEngineDownloadRequest) -> None:
        # An inline PDF never becomes a download (the PDF viewer shows it), so every download
        # request is refused: nothing a resident fetches reaches the terminal's disk.
        verdict = download_verdict(download.mimeType(), shown_inline=False)
        if not verdict.allowed and verdict.vector is not None:
            download.cancel()
            self._on_refused(verdict.vector)
