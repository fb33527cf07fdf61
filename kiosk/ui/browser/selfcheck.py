"""The wipe's self-check: what can really be checked about a session's profile, across origins.

A page only ever sees its own origin's storage, so a probe page on an origin of its own
proves nothing about the sites a resident used. What is checked instead:

- **in Python**, on the profile object: the previous profile and every web view of the scene
  destroyed, off the record with no storage name and nothing of it on disk, in-memory HTTP
  cache, no persistent cookies, no permission recorded (for every origin), and no cookie in
  its store for any host (a :class:`CookieLedger` counts them from the profile's birth:
  ``QWebEngineCookieStore.loadAllCookies()`` reports nothing with PySide6 6.12);
- **in the profile itself**, for every origin whose documents the session loaded: a probe
  document is given that origin without any request leaving the terminal
  (``WebEngineView.loadHtml(html, origin)``) and counts what a page of that origin finds:
  cookies readable by script, localStorage, IndexedDB databases and Cache Storage.

Dropped because it proves nothing: sessionStorage (it belongs to a tab, and the probe's tab
is new: the views' destruction is what counts) and service workers (a document made by
``loadHtml`` may not list them; session N+1's own pages are tested for them instead).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from kiosk.ui.qt import QObject, QQuickWebEngineProfile, QQuickWindow, QWebEngineCookieStore


@dataclass(frozen=True, slots=True)
class SelfCheck:
    """The verdict on a fresh session after a wipe, for the agent to forward to the fleet."""

    ok: bool
    checks_failed: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks_failed": list(self.checks_failed)}


class CookieLedger(QObject):
    """How many cookies one profile's store holds, for every host: added minus removed.

    Connected when the profile is made, before any page: every cookie a page or a server sets
    passes through ``cookieAdded``, whatever its host, ``HttpOnly`` ones included. Nothing of a
    cookie is kept, only the count. A negative count means cookies were removed that were
    never seen added (a store that did not start empty): a failure too.
    """

    def __init__(self, store: QWebEngineCookieStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._count = 0
        store.cookieAdded.connect(self._on_added)
        store.cookieRemoved.connect(self._on_removed)

    @property
    def count(self) -> int:
        return self._count

    def _on_added(self, _cookie: object) -> None:
        self._count += 1

    def _on_removed(self, _cookie: object) -> None:
        self._count -= 1


def web_views_in(window: QQuickWindow) -> int:
    """How many ``WebEngineView`` items the window's scene holds (their pages are alive)."""
    count = 0
    pending = [window.contentItem()]
    while pending:
        item = pending.pop()
        # A view declared with functions of its own has a QML-derived class: inherits().
        if item.inherits("QQuickWebEngineView"):
            count += 1  # its own children are Chromium's, which PySide cannot wrap
        else:
            pending.extend(item.childItems())
    return count


def _on_disk(path: str) -> bool:
    return bool(path) and Path(path).exists()


def self_check(
    profile: QQuickWebEngineProfile,
    *,
    previous_profile_destroyed: bool,
    web_views_alive: int,
    cookies_in_store: int,
) -> SelfCheck:
    """The checks made in Python on ``profile``, the session's next (or current) profile."""
    checks = {
        "previous-profile-destroyed": previous_profile_destroyed,
        "previous-pages-destroyed": web_views_alive == 0,
        "off-the-record": profile.isOffTheRecord() and not profile.storageName(),
        # An off-the-record profile names a storage path but never creates it.
        "nothing-on-disk": not _on_disk(profile.persistentStoragePath())
        and not _on_disk(profile.cachePath()),
        "no-persistent-cookies": profile.persistentCookiesPolicy()
        == QQuickWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies,
        "memory-http-cache": profile.httpCacheType()
        == QQuickWebEngineProfile.HttpCacheType.MemoryHttpCache,
        "no-permission-grants": not profile.listAllPermissions(),
        "no-cookie-in-store": cookies_in_store == 0,
    }
    failed = tuple(name for name, passed in checks.items() if not passed)
    return SelfCheck(ok=not failed, checks_failed=failed)


def with_failures(result: SelfCheck, failures: Iterable[str]) -> SelfCheck:
    """``result`` with more failed checks."""
    failed = result.checks_failed + tuple(f for f in failures if f not in result.checks_failed)
    return SelfCheck(ok=not failed, checks_failed=failed)


def document_origin(url: str) -> str | None:
    """The origin (``https://host[:port]``) of a document the session loaded, or ``None``.

    Only ``https`` documents can hold what the probe looks for (the kiosk's own pages and
    Chromium's viewer hold nothing of a resident's).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port not in (None, 443) else ""
    return f"https://{parts.hostname.lower()}{port}"


#: What the probe document announces in its title, before its origin and its report (JSON).
PROBE_PREFIX: Final = "kiosk-probe "
#: The probe document, given each origin in turn by ``loadHtml``: no address to fetch, no
#: icon, nothing written; it counts what a page of its origin finds, -1 where an API refuses.
PROBE_HTML: Final = (
    "<!doctype html><html><head><meta charset='utf-8'><title></title></head><body><script>"
    """
(async () => {
  const count = async (read) => { try { return await read(); } catch (e) { return -1; } };
  const found = {
    cookies: await count(() => document.cookie ? document.cookie.split(';').length : 0),
    localStorage: await count(() => localStorage.length),
    indexedDB: await count(async () => (await indexedDB.databases()).length),
    cacheStorage: await count(async () => (await caches.keys()).length),
  };
  document.title = 'PREFIX' + location.origin + ' ' + JSON.stringify(found);
})();
""".replace("PREFIX", PROBE_PREFIX)
    + "</script></body></html>"
)
#: What the probe counts, and the name of the failed check when a count is above zero.
PROBE_CHECKS: Final = {
    "cookies": "probe-cookies",
    "localStorage": "probe-local-storage",
    "indexedDB": "probe-indexeddb",
    "cacheStorage": "probe-cache-storage",
}
PROBE_DID_NOT_REPORT: Final = "probe-did-not-report"
PROBE_INTERRUPTED: Final = "probe-interrupted"


def is_probe_document(url: str) -> bool:
    """Whether ``url`` is the probe document as the request filter sees it (a ``data:`` URL)."""
    head, comma, body = url.partition(",")
    return head.lower().startswith("data:text/html") and bool(comma) and unquote(body) == PROBE_HTML


def parse_probe_title(title: str) -> tuple[str, dict[str, object]] | None:
    """The origin and report in a probe document's title (``None``: not one, or unreadable)."""
    if not title.startswith(PROBE_PREFIX):
        return None
    origin, _space, text = title.removeprefix(PROBE_PREFIX).partition(" ")
    try:
        report = json.loads(text)
    except ValueError:
        return None
    return (origin, report) if isinstance(report, dict) else None


def probe_failures(report: dict[str, object] | None) -> tuple[str, ...]:
    """The failed checks of one origin's report (``None``: the probe did not report)."""
    if report is None:
        return (PROBE_DID_NOT_REPORT,)
    failed: list[str] = []
    for kind, check in PROBE_CHECKS.items():
        value = report.get(kind)
        # A missing or odd count is a failure too; -1 (the API refused) is not.
        if not isinstance(value, int) or isinstance(value, bool) or value > 0:
            failed.append(check)
    return tuple(failed)


def add_reports(total: dict[str, int], report: dict[str, object]) -> dict[str, int]:
    """``total`` plus one origin's counts (what ``probeDone`` carries: counts, no origin)."""
    summed = dict(total)
    for kind in PROBE_CHECKS:
        value = report.get(kind)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            summed[kind] = summed.get(kind, 0) + value
        else:
            summed.setdefault(kind, 0)
    return summed
