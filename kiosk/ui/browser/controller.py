"""What the QML browser asks of Python: sessions, their profiles, lockdown verdicts, the wipe.

The wipe's steps and their order are :mod:`kiosk.ui.browser.wipe`; this module wires Qt's
signals (the clock's end, the views' and the profile's ``destroyed``, the probe's report) to
them and does each step's work.

It stays over 400 lines because it is the one object the QML scene talks to: its properties,
signals and slots (the page's verdicts, the media grant, the retry of a failed load) are that
interface, and a second object would change every handler of ``BrowserView.qml``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from kiosk.contract.catalog import Catalog, Tile
from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.browser.keys import KioskEventFilter
from kiosk.ui.browser.pages import KioskPages
from kiosk.ui.browser.policy import (
    KIOSK_SCHEME,
    Vector,
    is_kiosk_page,
    navigation_verdict,
    new_window_verdict,
    tile_address,
)
from kiosk.ui.browser.probe import PROBE_TIMEOUT_S, OriginProbe
from kiosk.ui.browser.profile import (
    LockdownInterceptor,
    ProfileFactory,
    SessionProfile,
    refusal_url,
)
from kiosk.ui.browser.selfcheck import (
    SelfCheck,
    document_origin,
    is_probe_document,
    self_check,
    web_views_in,
    with_failures,
)
from kiosk.ui.browser.usage import SessionUsage
from kiosk.ui.browser.wipe import Ending, Event, Step, Wipe
from kiosk.ui.qt import (
    Property,
    QGuiApplication,
    QMetaObject,
    QObject,
    QQmlEngine,
    QQuickWebEngineProfile,
    QQuickWindow,
    QTimer,
    Signal,
    Slot,
)
from kiosk.ui.session import EndReason, SessionClock, SessionTimeouts

if TYPE_CHECKING:
    # Imported when a session first needs them: their models are not needed for the home.
    from kiosk.contract.mqtt import HelpUsage, SessionAssist

log = logging.getLogger(__name__)

#: WebEngineLoadingInfo.ErrorDomain values (QML enums reach Python as ints).
_CERTIFICATE_ERROR_DOMAIN: Final = 3
_HTTP_STATUS_CODE_DOMAIN: Final = 7
#: net::ERR_ABORTED: a load that was stopped (by us or by a newer navigation), not a failure.
_ERR_ABORTED: Final = -3
OFFLINE_URL: Final = f"{KIOSK_SCHEME}://offline/"
CERTIFICATE_REFUSED_URL: Final = f"{KIOSK_SCHEME}://refused/?why=certificate"
#: How often the offline page tries the failed address again, by default.
RETRY_INTERVAL_S: Final = 10.0


class BrowserController(QObject):
    """The ``browser`` object of the QML scene."""

    #: A session started: its id and the first tile's id.
    sessionStarted = Signal(str, str)
    #: A session ended and was wiped: its id, the reason, its length in seconds, the ids of
    #: the tiles it used (what the agent may report: never an address).
    sessionEnded = Signal(str, str, float, list)
    #: The self-check of the profile made after a wipe (a :class:`SelfCheck`), once the probe
    #: has reported on every origin the session used (the home screen is usable before: see
    #: ``sessionEnded``).
    selfCheckDone = Signal(object)
    #: The probe's report: counts by kind of storage, summed over the origins probed (no
    #: origin); ``{}`` when it did not report.
    probeDone = Signal(object)
    #: Something a page tried was refused: the vector's name (never an address).
    refused = Signal(str)
    #: QML should load this address in the session's view.
    loadRequested = Signal(str)
    sessionActiveChanged = Signal()
    browsingChanged = Signal()
    profileChanged = Signal()
    idleChanged = Signal()
    secondsLeftChanged = Signal()
    maxLengthWarningChanged = Signal()
    mediaChanged = Signal()

    def __init__(
        self,
        catalog: Catalog,
        translate: Callable[[str], str],
        timeouts: SessionTimeouts | None = None,
        *,
        retry_interval_s: float = RETRY_INTERVAL_S,
        language: str = DEFAULT_LANGUAGE,
        probe_timeout_s: float = PROBE_TIMEOUT_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tiles = {tile.id: tile for tile in catalog.tiles}
        self.clock = SessionClock(timeouts, self)
        self.pages = KioskPages(translate, self, language=language)
        self.pages.helpPageServed.connect(self._on_kiosk_page_served)
        self._window: QQuickWindow | None = None
        self._probe = OriginProbe(probe_timeout_s, self)
        self._probe.finished.connect(self._on_probe_finished)
        self._probe_view: QObject | None = None
        # The checks made in Python on the profile being probed, and what to do once it reports.
        self._probe_pending: tuple[SelfCheck, Callable[[], object]] | None = None
        # The origins of the documents this session loaded: kept in memory for the probe only,
        # handed to it at the wipe and dropped when it reports; never logged nor sent.
        self._session_origins: list[str] = []
        self.interceptor = LockdownInterceptor(
            lambda: self._tile,
            self.report_refusal,
            self,
            is_probe=lambda url: bool(self._probe.running) and is_probe_document(url),
            on_document=self._on_document,
        )
        self.event_filter = KioskEventFilter(self.clock.touch, self.report_refusal, self)
        self._tile: Tile | None = None
        self._tiles_used: list[str] = []
        self._usage = SessionUsage()
        self._browsing = False
        self._view: QObject | None = None
        self._profiles = ProfileFactory(self.pages, self.interceptor, self.report_refusal, self)
        self._profile: SessionProfile | None = None
        self._wipe = Wipe(
            close_session=self._close_session,
            destroy_profile=self._destroy_profile,
            make_profile=self._make_profile,
            probe=self._probe_profile,
        )
        # The checks made on the fresh profile, from MAKING_PROFILE to PROBING.
        self._fresh_check: SelfCheck | None = None
        self._idle = False
        # The devices granted to the page on screen ("camera", "microphone"): shown by the
        # "camera on" banner until its document goes, the resident stops it or the session ends.
        self._media: tuple[str, ...] = ()
        self._seconds_left = 0
        self._countdown_total = 0
        self._max_length_warning = False
        self._retry_url = ""
        self._retry = QTimer(self)
        self._retry.setInterval(max(1, round(retry_interval_s * 1000)))
        self._retry.timeout.connect(self._retry_load)
        self.clock.ended.connect(self._on_clock_ended)
        self.clock.idleCountdownStarted.connect(self._on_countdown)
        self.clock.countdownTick.connect(self._on_tick)
        self.clock.countdownCancelled.connect(self._on_countdown_cancelled)
        self.clock.maxLengthWarning.connect(self._on_max_length_warning)
        # The first session's profile is made once the home screen is on screen
        # (:meth:`prepare_profile`), or when first needed: making one starts Chromium's side of
        # the web engine, which the home screen does not need.
        self._shut_down = False

    def prepare_profile(self) -> None:
        """Make the first session's fresh profile now, if none is made yet (no-op during a
        wipe: the wipe makes the next one once the old one is gone, and after shutdown)."""
        if self._profile is None and not self._wipe.busy and not self._shut_down:
            self._profile = self._new_profile()
            self.profileChanged.emit()

    def _new_profile(self) -> SessionProfile:
        made = self._profiles.create()
        # The prototype's instance() hands the profile to the JavaScript garbage collector;
        # collected while its prototype lives, the prototype's destructor crashes the kiosk
        # (seen as soon as the scene held a few more QML objects). C++ owns it: the prototype
        # deletes it with itself.
        QQmlEngine.setObjectOwnership(made.profile, QQmlEngine.ObjectOwnership.CppOwnership)
        return made

    # ----- QML properties -----------------------------------------------------------------

    def _session_active(self) -> bool:
        return self.clock.active

    def _get_browsing(self) -> bool:
        return self._browsing

    def _get_profile(self) -> QObject | None:
        return self._profile.profile if self._profile is not None else None

    def _get_idle(self) -> bool:
        return self._idle

    def _get_seconds_left(self) -> int:
        return self._seconds_left

    def _get_countdown_total(self) -> int:
        return self._countdown_total

    def _get_max_length_warning(self) -> bool:
        return self._max_length_warning

    def _get_media_active(self) -> bool:
        return bool(self._media)

    def _get_camera_on(self) -> bool:
        return "camera" in self._media

    def _get_probe(self) -> OriginProbe:
        return self._probe

    sessionActive = Property(bool, _session_active, notify=sessionActiveChanged)
    browsing = Property(bool, _get_browsing, notify=browsingChanged)
    profile = Property(QObject, _get_profile, notify=profileChanged)
    idle = Property(bool, _get_idle, notify=idleChanged)
    secondsLeft = Property(int, _get_seconds_left, notify=secondsLeftChanged)
    #: The countdown's length when it started (its ring shows secondsLeft of it).
    countdownTotal = Property(int, _get_countdown_total, notify=secondsLeftChanged)
    maxLengthWarning = Property(bool, _get_max_length_warning, notify=maxLengthWarningChanged)
    #: The self-check's probe (QML shows its document in a hidden view while it runs).
    probe = Property(QObject, _get_probe, constant=True)
    #: A page of the session was granted the camera or the microphone (the banner shows).
    mediaActive = Property(bool, _get_media_active, notify=mediaChanged)
    cameraOn = Property(bool, _get_camera_on, notify=mediaChanged)

    # ----- wiring -------------------------------------------------------------------------

    def install(self, window: QQuickWindow) -> None:
        """Watch ``window``'s input for activity and shortcuts, and its scene for web views."""
        self._window = window
        window.installEventFilter(self.event_filter)

    @property
    def current_tile(self) -> Tile | None:
        return self._tile

    @property
    def current_profile(self) -> QQuickWebEngineProfile | None:
        """The profile the next (or running) session uses; ``None`` only while a wipe
        finishes (made here if the home screen has not made it yet)."""
        self.prepare_profile()
        return self._profile.profile if self._profile is not None else None

    def set_language(self, language: str) -> None:
        """The resident switched language: the kiosk's pages follow (the one shown reloads)."""
        self.pages.set_language(language)
        self.note_language(language)
        self._reload_kiosk_page()

    def note_language(self, language: str) -> None:
        """The interface language in force from now on (counted for the observatory)."""
        self._usage.language(language, active=self.clock.active)

    def _reload_kiosk_page(self) -> None:
        if self._view is not None:
            url = self._view.property("url")
            if is_kiosk_page(url.toString() if hasattr(url, "toString") else str(url)):
                QMetaObject.invokeMethod(self._view, "reload")

    def set_catalog(self, catalog: Catalog) -> None:
        """The tiles (and their allow-lists) of a new content bundle, for the next session."""
        self._tiles = {tile.id: tile for tile in catalog.tiles}

    def set_high_contrast(self, high_contrast: bool) -> None:
        """The resident switched contrast: the kiosk's pages follow (the one shown reloads)."""
        self.pages.set_high_contrast(high_contrast)
        self._usage.high_contrast(high_contrast, active=self.clock.active)
        self._reload_kiosk_page()

    def note_large_text(self, large_text: bool) -> None:
        """The resident switched large text (counted for the observatory: on or not)."""
        self._usage.large_text(large_text, active=self.clock.active)

    def note_read_aloud(self) -> None:
        """Read-aloud spoke in this session (counted for the observatory: used or not)."""
        self._usage.read_aloud(active=self.clock.active)

    @property
    def assist(self) -> SessionAssist:
        """What the session running (or just ended) used of the kiosk's settings."""
        return self._usage.assist

    @property
    def help_usage(self) -> HelpUsage:
        """How the help pages were used in the session running (or just ended)."""
        return self._usage.help_usage

    def report_refusal(self, vector: Vector) -> None:
        """Log and signal a refused attempt (the vector only: no address, no text)."""
        log.info("refused %s in session %s", vector.value, self.clock.session_id or "-")
        self.refused.emit(vector.value)

    # ----- what the resident does ---------------------------------------------------------

    @Slot(str)
    def openTile(self, tile_id: str) -> None:
        """Open a tile's site, starting a session if none runs (same session from Home)."""
        tile = self._tiles.get(tile_id)
        if tile is None or self._wipe.busy:
            log.warning("tile %s is not in the catalog; nothing opened", tile_id)
            return
        self.prepare_profile()  # a resident quicker than the home screen's first frame
        was_active = self.clock.active
        if not was_active:
            # A resident is quicker than the probe: what it finds from now on could be theirs.
            self._probe.interrupt()
        session_id = self.clock.start()
        if not was_active:
            self._usage.start()
        self._tile = tile
        if tile_id not in self._tiles_used:
            self._tiles_used.append(tile_id)
        log.info("tile %s opened in session %s", tile_id, session_id)
        if not was_active:
            self.sessionActiveChanged.emit()
            self.sessionStarted.emit(session_id, tile_id)
        self._set_browsing(True)
        self.load(tile_address(tile))

    def load(self, url: str) -> None:
        """Show ``url`` in the session's view if the lockdown allows it, else the refusal page.

        The only way the kiosk itself puts an address in the view (a tile, a retry): it goes
        through the same verdict as the page's own navigations, so a ``javascript:`` or
        ``view-source:`` address can never be handed to the view.
        """
        verdict = navigation_verdict(url, self._tile)
        if not verdict.allowed and verdict.vector is not None:
            self.report_refusal(verdict.vector)
            url = refusal_url(verdict.vector)
        self.loadRequested.emit(url)

    @Slot()
    def goHome(self) -> None:
        """Back to the tiles; the session (and its pages) go on until it is ended."""
        self.clock.touch()
        self._set_browsing(False)

    @Slot()
    def finishSession(self) -> None:
        """The "Finish and erase my data" button."""
        self.clock.end(EndReason.BUTTON)

    @Slot()
    def stillHere(self) -> None:
        """The "I am here" button of the idle countdown."""
        self.clock.still_here()

    def shutdown(self) -> None:
        """The kiosk is closing (its views are gone): end the session, drop the profile."""
        self.clock.ended.disconnect(self._on_clock_ended)
        self._probe.finished.disconnect(self._on_probe_finished)
        self._probe.interrupt()
        self._session_origins = []
        self.clock.end(EndReason.WIPE_NOW)
        self._shut_down = True
        if self._profile is not None:
            self._profile.owner.deleteLater()
            self._profile = None
        self.deleteLater()

    def wipe_now(self) -> None:
        """End and wipe the running session at once (a command from the agent)."""
        self.clock.end(EndReason.WIPE_NOW)

    # ----- what the page does (called from the QML view's handlers) -----------------------

    @Slot(str, bool, result=bool)
    def allowNavigation(self, url: str, main_frame: bool) -> bool:
        """The view's navigationRequested: refused navigations never start."""
        verdict = navigation_verdict(url, self._tile, main_frame=main_frame)
        if verdict.allowed or verdict.vector is None:
            return True
        self.report_refusal(verdict.vector)
        if main_frame:
            # Queued: starting a navigation from inside a navigation request trips Chromium.
            page = refusal_url(verdict.vector)
            QTimer.singleShot(0, self, lambda: self.loadRequested.emit(page))
        return False

    @Slot(str, result=str)
    def newWindowTarget(self, url: str) -> str:
        """A popup: the address to open in the same view (a refusal page when not allowed)."""
        verdict = new_window_verdict(url, self._tile)
        if verdict.allowed or verdict.vector is None:
            return url
        self.report_refusal(verdict.vector)
        return refusal_url(verdict.vector)

    @Slot(str)
    def refuse(self, vector: str) -> None:
        """The view refused something itself (context menu, file picker, permission...)."""
        self.report_refusal(Vector(vector))

    @Slot(str, str, result=bool)
    def allowMedia(self, origin: str, devices: str) -> bool:
        """A page asks for the camera and/or microphone (``devices``: space-separated).

        Granted only to an origin the current tile declares for these devices; every other
        request is refused like any other permission.
        """
        wanted = tuple(devices.split())
        grant = self._tile.media if self._tile is not None else None
        if not wanted or grant is None or not all(grant.allows(origin, d) for d in wanted):
            self.report_refusal(Vector.PERMISSION)
            return False
        assert self._tile is not None
        log.info(
            "%s granted to tile %s in session %s",
            " and ".join(wanted),
            self._tile.id,
            self.clock.session_id or "-",
        )
        self._set_media(tuple(sorted(set(self._media) | set(wanted))))
        return True

    @Slot()
    def stopMedia(self) -> None:
        """The banner's "Stop": the page that holds the camera goes (its capture ends with it)
        and the tile starts again from its own address."""
        if not self._media:
            return
        self.clock.touch()
        log.info("camera stopped by the resident in session %s", self.clock.session_id or "-")
        self._set_media(())
        if self._tile is not None:
            self.load(tile_address(self._tile))

    @Slot()
    def pageLoadStarted(self) -> None:
        """A new document replaces the page on screen: what the old one captured ends."""
        self._set_media(())

    def _set_media(self, devices: tuple[str, ...]) -> None:
        if devices != self._media:
            self._media = devices
            self.mediaChanged.emit()

    @Slot(str, int, int, result=str)
    def pageForFailedLoad(self, url: str, error_domain: int, error_code: int) -> str:
        """The friendly page replacing a failed load ("" to keep the page as it is)."""
        if is_kiosk_page(url) or error_code == _ERR_ABORTED:
            return ""
        if not navigation_verdict(url, self._tile).allowed:
            return ""  # a refused navigation: its refusal page is already on its way
        if error_domain == _HTTP_STATUS_CODE_DOMAIN:
            return ""  # the site's own error page (404...) is a page of the site
        if error_domain == _CERTIFICATE_ERROR_DOMAIN:
            self.report_refusal(Vector.CERTIFICATE_ERROR)
            return CERTIFICATE_REFUSED_URL
        log.info("a page failed to load in session %s; retrying", self.clock.session_id or "-")
        # Kept in memory only, to retry; never logged nor reported.
        self._retry_url = url
        self._retry.start()
        return OFFLINE_URL

    @Slot(str)
    def pageLoaded(self, url: str) -> None:
        """A load succeeded: stop retrying when it is a page of the site."""
        if not is_kiosk_page(url):
            self._retry.stop()
            self._retry_url = ""
            self._usage.left_help()

    def _on_kiosk_page_served(self, url: str) -> None:
        """A help page was drawn for the session's view: count it (the kind only)."""
        if self.clock.active:
            self._usage.help_page_served(url)

    @Slot(QObject)
    def attachView(self, view: QObject) -> None:
        """QML created the session's view: watch it, so the profile dies only after it."""
        self._view = view
        view.destroyed.connect(self._on_view_destroyed)

    # ----- the self-check ----------------------------------------------------------------

    def _on_document(self, url: str) -> None:
        origin = document_origin(url)
        if origin is not None and self.clock.active and origin not in self._session_origins:
            self._session_origins.append(origin)

    def check_now(self) -> SelfCheck:
        """The checks made in Python on the current profile (without the probe)."""
        self.prepare_profile()
        if self._profile is None:
            return SelfCheck(ok=False, checks_failed=("no-profile",))
        views = (
            web_views_in(self._window)
            if self._window is not None
            else (self._view is not None) + (self._probe_view is not None)
        )
        return self_check(
            self._profile.profile,
            previous_profile_destroyed=self._wipe.step is not Step.DESTROYING_PROFILE,
            web_views_alive=views,
            cookies_in_store=self._profile.cookies.count,
        )

    @Slot()
    def checkCurrentProfile(self) -> None:
        """The whole self-check on the current profile, the session's if one runs; the
        verdict comes as ``selfCheckDone`` (tests hand it a dirty profile, to see it fail)."""
        self._check_profile(self.check_now(), list(self._session_origins))

    def _check_profile(
        self, result: SelfCheck, origins: list[str], then: Callable[[], object] = lambda: None
    ) -> None:
        self._probe.interrupt()  # a check still running for an older profile
        if not origins or self._profile is None:
            self.probeDone.emit({})
            self._report_check(result)
            then()
            return
        self._probe_pending = (result, then)
        self._probe.start(origins)

    @Slot(QObject)
    def attachProbe(self, view: QObject) -> None:
        """QML created the probe's view: a view of the profile like the session's."""
        self._probe_view = view
        view.destroyed.connect(self._on_probe_view_destroyed)

    def _on_probe_finished(self, report: dict[str, int], failures: tuple[str, ...]) -> None:
        self.probeDone.emit(report)
        pending, self._probe_pending = self._probe_pending, None
        if pending is not None:
            result, then = pending
            self._report_check(with_failures(result, failures))
            then()

    def _report_check(self, result: SelfCheck) -> None:
        log.info(
            "self-check %s%s",
            "passed" if result.ok else "FAILED: ",
            ", ".join(result.checks_failed),
        )
        self.selfCheckDone.emit(result)

    def _on_probe_view_destroyed(self) -> None:
        self._probe_view = None
        self._maybe_pages_gone()

    # ----- the wipe's steps (their order: kiosk.ui.browser.wipe) --------------------------

    def _on_clock_ended(self, session_id: str, reason: str, duration: float) -> None:
        # A session ended before the previous wipe's probe reported (seconds later).
        self._probe.interrupt()
        origins, self._session_origins = tuple(self._session_origins), []
        ending = Ending(session_id, reason, duration, tuple(self._tiles_used), origins)
        self._wipe.session_ended(ending)

    def _close_session(self, ending: Ending) -> None:
        self._retry.stop()
        self._retry_url = ""
        self._tile = None
        self._tiles_used = []
        self._set_browsing(False)
        self._set_idle(False)
        self._set_max_length_warning(False)
        self._set_media(())
        # A copied text (an address, a number) would otherwise wait for the next resident.
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.clear()
        # QML unloads the view on this change; its destruction continues the wipe.
        self.sessionActiveChanged.emit()
        self._maybe_pages_gone()

    def _on_view_destroyed(self) -> None:
        self._view = None
        self._maybe_pages_gone()

    def _maybe_pages_gone(self) -> None:
        if self._view is None and self._probe_view is None:
            self._wipe.advance(Event.PAGES_GONE)  # refused unless the wipe waits for them

    def _destroy_profile(self, ending: Ending) -> None:
        old, self._profile = self._profile, None
        self.profileChanged.emit()
        if old is None:
            self._wipe.advance(Event.PROFILE_GONE)
            return
        old.profile.destroyed.connect(self._on_profile_destroyed)
        old.owner.deleteLater()

    def _on_profile_destroyed(self) -> None:
        self._wipe.advance(Event.PROFILE_GONE)

    def _make_profile(self, ending: Ending) -> None:
        self._profile = self._new_profile()
        self.profileChanged.emit()
        self._fresh_check = self.check_now()
        log.info("session %s wiped", ending.session_id)
        # The home screen is usable from here; the probe reports a moment later.
        self.sessionEnded.emit(
            ending.session_id, ending.reason, ending.duration_s, list(ending.tiles_used)
        )
        self._wipe.advance(Event.PROFILE_MADE)

    def _probe_profile(self, ending: Ending) -> None:
        # The new profile, probed on every origin the ended session used.
        result, self._fresh_check = self._fresh_check, None
        assert result is not None
        self._check_profile(
            result, list(ending.origins), lambda: self._wipe.advance(Event.PROBE_REPORTED)
        )

    # ----- state for QML ------------------------------------------------------------------

    def _set_browsing(self, browsing: bool) -> None:
        if browsing != self._browsing:
            self._browsing = browsing
            self.browsingChanged.emit()

    def _set_idle(self, idle: bool) -> None:
        if idle != self._idle:
            self._idle = idle
            self.idleChanged.emit()

    def _set_max_length_warning(self, warning: bool) -> None:
        if warning != self._max_length_warning:
            self._max_length_warning = warning
            self.maxLengthWarningChanged.emit()

    def _on_countdown(self, seconds_left: int) -> None:
        self._countdown_total = seconds_left
        self._on_tick(seconds_left)
        self._set_idle(True)

    def _on_tick(self, seconds_left: int) -> None:
        if seconds_left != self._seconds_left:
            self._seconds_left = seconds_left
            self.secondsLeftChanged.emit()

    def _on_countdown_cancelled(self) -> None:
        self._set_idle(False)

    def _on_max_length_warning(self, seconds_left: int) -> None:
        self._set_max_length_warning(True)

    def _retry_load(self) -> None:
        if self._retry_url and self.clock.active:
            self.load(self._retry_url)
