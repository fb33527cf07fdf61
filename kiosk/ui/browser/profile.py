"""One fresh off-the-record web profile per session, its request filter, and the wipe self-check."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from kiosk.catalog import Tile
from kiosk.ui.browser.pages import KioskPages
from kiosk.ui.browser.policy import (
    KIOSK_SCHEME,
    PROBE_SCHEME,
    Vector,
    download_verdict,
    is_kiosk_page,
    navigation_verdict,
    subresource_verdict,
)
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
    ) -> None:
        super().__init__(parent)
        self._current_tile = current_tile
        self._on_refused = on_refused
        self._is_probe = is_probe

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl().toString()
        main_frame = _NAVIGATIONS.get(info.resourceType())
        if main_frame and self._is_probe(url):
            return  # the self-check's probe page, while it runs (between sessions)
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
    """A session's profile and the prototype object that owns it (deleting one deletes both)."""

    owner: QObject
    profile: QQuickWebEngineProfile


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
        profile.installUrlSchemeHandler(QByteArray(PROBE_SCHEME.encode()), self._pages)
        profile.setUrlRequestInterceptor(self._interceptor)
        profile.downloadRequested.connect(self._refuse_download)
        return SessionProfile(owner, profile)

    def _refuse_download(self, download: QWebEngineDownloadRequest) -> None:
        # An inline PDF never becomes a download (the PDF viewer shows it), so every download
        # request is refused: nothing a resident fetches reaches the terminal's disk.
        verdict = download_verdict(download.mimeType(), shown_inline=False)
        if not verdict.allowed and verdict.vector is not None:
            download.cancel()
            self._on_refused(verdict.vector)


@dataclass(frozen=True, slots=True)
class SelfCheck:
    """The verdict on a fresh session after a wipe, for the agent to forward to the fleet."""

    ok: bool
    checks_failed: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks_failed": list(self.checks_failed)}


def self_check(
    profile: QQuickWebEngineProfile, *, previous_profile_destroyed: bool, live_views: int
) -> SelfCheck:
    """Check that ``profile`` starts empty and that the previous session left nothing alive."""
    checks = {
        "previous-profile-destroyed": previous_profile_destroyed,
        "previous-pages-destroyed": live_views == 0,
        "off-the-record": profile.isOffTheRecord() and not profile.storageName(),
        "no-persistent-cookies": profile.persistentCookiesPolicy()
        == QQuickWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies,
        "memory-http-cache": profile.httpCacheType()
        == QQuickWebEngineProfile.HttpCacheType.MemoryHttpCache,
        "no-permission-grants": not profile.listAllPermissions(),
    }
    failed = tuple(name for name, passed in checks.items() if not passed)
    return SelfCheck(ok=not failed, checks_failed=failed)


#: The probe page loaded in each new profile after a wipe (the kiosk's own, empty page).
PROBE_URL: Final = f"{PROBE_SCHEME}://probe/"
#: What the probe page announces in its title, followed by its report as JSON.
PROBE_PREFIX: Final = "kiosk-probe:"
#: Run in the probe page once loaded: counts what a page of its origin finds in the profile
#: (-1 where the API is not offered there), then announces it in the title.
PROBE_SCRIPT: Final = """
(async () => {
  const count = async (read) => { try { return await read(); } catch (e) { return -1; } };
  const found = {
    cookies: await count(() => document.cookie ? document.cookie.split(';').length : 0),
    localStorage: await count(() => localStorage.length),
    sessionStorage: await count(() => sessionStorage.length),
    indexedDB: await count(async () => (await indexedDB.databases()).length),
    cacheStorage: await count(async () => (await caches.keys()).length),
    serviceWorkers: await count(
        async () => (await navigator.serviceWorker.getRegistrations()).length),
  };
  document.title = 'PREFIX' + JSON.stringify(found);
})();
""".replace("PREFIX", PROBE_PREFIX)
#: What the probe counts; any count above zero fails the self-check as ``probe-<name>``.
PROBE_CHECKS: Final = (
    "cookies",
    "localStorage",
    "sessionStorage",
    "indexedDB",
    "cacheStorage",
    "serviceWorkers",
)


def probe_failures(report: dict[str, object] | None) -> tuple[str, ...]:
    """The self-check failures of a probe report (``None``: the probe did not report)."""
    if report is None:
        return ("probe-did-not-report",)
    failed: list[str] = []
    for name in PROBE_CHECKS:
        value = report.get(name)
        # A missing or odd count is a failure too; -1 (API not offered there) is not.
        if not isinstance(value, int) or isinstance(value, bool) or value > 0:
            failed.append(f"probe-{name}")
    return tuple(failed)


def parse_probe_title(title: str) -> dict[str, object] | None:
    """The report in a probe page's title (``None`` when it is not one, or not readable)."""
    if not title.startswith(PROBE_PREFIX):
        return None
    try:
        report = json.loads(title.removeprefix(PROBE_PREFIX))
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def with_failures(result: SelfCheck, failures: tuple[str, ...]) -> SelfCheck:
    """``result`` with more failed checks."""
    failed = result.checks_failed + tuple(f for f in failures if f not in result.checks_failed)
    return SelfCheck(ok=not failed, checks_failed=failed)
