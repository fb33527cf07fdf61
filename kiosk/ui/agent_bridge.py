"""The kiosk UI's side of the agent link, in Qt terms: session events out, orders in.

:class:`AgentBridge` owns an :class:`~kiosk.agentlink.AgentLink` (whose methods queue a line
and return at once, so the UI never waits for the agent). It forwards what the browser
controller reports (session started and ended, with tile ids only, and each wipe's
self-check), sends a heartbeat every few seconds, and carries the agent's orders (wipe now,
new settings) from the link's thread to the GUI thread through queued signals.

Privacy: only session ids, tile ids, durations, end reasons and check names leave the UI; the
local protocol's models refuse anything that looks like an address anyway.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Final

from pydantic import ValidationError

from kiosk.agentlink import AgentLink
from kiosk.contract.local import (
    SCREENSHOT_MAX_PARTS,
    SCREENSHOT_PART_CHARS,
    AgentMessage,
    ContentSwitch,
    ScreenshotPart,
    ScreenshotRefusal,
    ScreenshotRequest,
    SessionEndReason,
    Settings,
    WipeNow,
)
from kiosk.contract.settings import UI_SETTINGS
from kiosk.ui.browser.controller import BrowserController
from kiosk.ui.browser.selfcheck import SelfCheck
from kiosk.ui.qt import (
    QBuffer,
    QByteArray,
    QImage,
    QIODevice,
    QObject,
    QQuickWindow,
    Qt,
    QTimer,
    Signal,
)
from kiosk.ui.session import EndReason
from kiosk.ui.settings import KioskSettings

log = logging.getLogger(__name__)

#: The controller's end reasons, as the local protocol spells them.
END_REASONS: Final[dict[str, SessionEndReason]] = {
    EndReason.BUTTON.value: "button",
    EndReason.IDLE.value: "idle",
    EndReason.MAX_LENGTH.value: "max_length",
    EndReason.WIPE_NOW.value: "command",
}

#: The widths tried for the picture of the screen, largest first, until its PNG fits the bound.
SCREENSHOT_WIDTHS: Final = (1280, 960, 800, 640, 480, 360, 240)

LinkFactory = Callable[[Path, str, Callable[[AgentMessage], None]], AgentLink]


def _default_link(
    path: Path, ui_version: str, on_message: Callable[[AgentMessage], None]
) -> AgentLink:
    return AgentLink(path, ui_version=ui_version, on_message=on_message)


def _png_bytes(image: QImage) -> bytes | None:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 6.12 accepts only a str format at run time; its stub says bytes.
    saved = image.save(buffer, "PNG")  # type: ignore[call-overload]
    buffer.close()
    return bytes(data.data()) if saved else None


class AgentBridge(QObject):
    """Connects a :class:`BrowserController` to the agent's local socket."""

    #: The settings changed (live, from the agent): the new :class:`KioskSettings`.
    settingsChanged = Signal(object)
    #: The backlight should follow this schedule now (``HH:MM-HH:MM=percent,...``).
    brightnessScheduleChanged = Signal(str)
    #: A new content bundle is installed (its version): switch at the next idle moment.
    contentSwitchRequested = Signal(str)
    #: The agent ordered a wipe (its command id); emitted in the GUI thread.
    wipeOrdered = Signal(str)

    # Carry the agent's messages from the link's thread to this object's (the GUI) thread.
    _messageReceived = Signal(object)

    def __init__(
        self,
        browser: BrowserController,
        settings: KioskSettings,
        socket_path: Path,
        *,
        ui_version: str,
        link_factory: LinkFactory = _default_link,
        window: QQuickWindow | None = None,
        is_home: Callable[[], bool] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._browser = browser
        # The kiosk's window, grabbed for the fleet's ``screenshot`` command, and whether it
        # shows its attract or home screen now (no page, no menu over the tiles).
        self._window = window
        self._is_home = is_home
        self._settings = settings
        self._wiping = False
        self._messageReceived.connect(self._on_message, Qt.ConnectionType.QueuedConnection)
        self.link = link_factory(socket_path, ui_version, self._messageReceived.emit)
        self._heartbeat = QTimer(self)
        self._heartbeat.setInterval(max(1, round(settings.heartbeat_interval_s * 1000)))
        self._heartbeat.timeout.connect(self._send_heartbeat)
        browser.sessionStarted.connect(self._on_session_started)
        browser.clock.ended.connect(self._on_clock_ended)
        browser.sessionEnded.connect(self._on_session_ended)
        browser.selfCheckDone.connect(self._on_self_check)

    @property
    def settings(self) -> KioskSettings:
        """The settings in force (the file's, updated by what the agent sent since)."""
        return self._settings

    # ----- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and start the heartbeats; returns at once."""
        self.link.start()
        self._heartbeat.start()

    def stop(self) -> None:
        """Stop the heartbeats and disconnect (the agent then reports the UI as stopped)."""
        self._heartbeat.stop()
        self.link.stop()

    def report_crash(self, component: str, reason: str) -> None:
        """Tell the agent a UI component failed (``reason``: short, no personal data)."""
        self.link.crash(component, reason)

    # ----- UI → agent ---------------------------------------------------------------------

    def _send_heartbeat(self) -> None:
        self.link.heartbeat(session_open=self._browser.clock.active)

    def _on_session_started(self, session_id: str, tile_id: str) -> None:
        self.link.session_started(session_id, tile_id)

    def _on_clock_ended(self, _session_id: str, _reason: str, _duration: float) -> None:
        self._wiping = True

    def _on_session_ended(
        self, session_id: str, reason: str, duration_s: float, tiles_used: list[str]
    ) -> None:
        self.link.session_ended(
            session_id,
            duration_s,
            list(tiles_used),
            END_REASONS.get(reason, "command"),
            self._browser.help_usage,
            self._browser.assist,
        )

    def _on_self_check(self, result: SelfCheck) -> None:
        self._wiping = False
        self.link.wipe_result(result.ok, list(result.checks_failed))

    # ----- agent → UI (GUI thread) --------------------------------------------------------

    def _on_message(self, message: AgentMessage) -> None:
        if isinstance(message, WipeNow):
            self._wipe_now(message.command_id)
        elif isinstance(message, Settings):
            self._apply_settings(message)
        elif isinstance(message, ScreenshotRequest):
            self._send_screenshot(message)
        elif isinstance(message, ContentSwitch):
            log.info("the agent installed content %s; switch requested", message.version)
            self.contentSwitchRequested.emit(message.version)

    def _wipe_now(self, command_id: str) -> None:
        self.wipeOrdered.emit(command_id)
        if self._browser.clock.active:
            log.info("wipe ordered by the agent (command %s): ending the session", command_id)
            self._browser.wipe_now()  # its selfCheckDone answers the agent
            return
        if self._wiping:
            log.info(
                "wipe ordered by the agent (command %s): a wipe is already running", command_id
            )
            return
        if self._browser.current_profile is None:
            return  # a wipe is finishing: its self-check answers
        # No session: nothing to end, but the agent still gets a fresh verdict on the profile.
        log.info("wipe ordered by the agent (command %s): no session open", command_id)
        result = self._browser.check_now()
        self.link.wipe_result(result.ok, list(result.checks_failed))

    def screen_refusal(self) -> ScreenshotRefusal | None:
        """Why no picture of the screen may be taken now, or None on the attract or home screen
        with no resident session open (and no wipe or self-check running)."""
        browser = self._browser
        if browser.clock.active:
            return "session_open"
        if (
            self._wiping
            or browser.browsing
            or browser.current_profile is None
            or bool(browser.property("probe").property("running"))
            or (self._is_home is not None and not self._is_home())
        ):
            return "not_home"
        return None

    def _send_screenshot(self, request: ScreenshotRequest) -> None:
        refusal = self.screen_refusal()
        png = None if refusal is not None or self._window is None else self._grab(request)
        if refusal is not None or png is None:
            refusal = refusal or "failed"
            log.info("picture of the screen refused to the agent (%s)", refusal)
            self.link.send(ScreenshotPart(request_id=request.request_id, refused=refusal))
            return
        data = base64.b64encode(png).decode("ascii")
        parts = [
            data[start : start + SCREENSHOT_PART_CHARS]
            for start in range(0, len(data), SCREENSHOT_PART_CHARS)
        ]
        log.info("picture of the home screen sent to the agent (%d bytes)", len(png))
        for index, part in enumerate(parts):
            self.link.send(
                ScreenshotPart(
                    request_id=request.request_id, index=index, count=len(parts), data=part
                )
            )

    def _grab(self, request: ScreenshotRequest) -> bytes | None:
        """The window's PNG, scaled down until it fits ``max_bytes`` (None if it never does)."""
        assert self._window is not None
        image = self._window.grabWindow()
        if image.isNull():
            return None
        limit = min(request.max_bytes, SCREENSHOT_PART_CHARS * SCREENSHOT_MAX_PARTS * 3 // 4)
        for width in SCREENSHOT_WIDTHS:
            if width > image.width():
                continue
            scaled = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            for candidate in (scaled, scaled.convertToFormat(QImage.Format.Format_Indexed8)):
                png = _png_bytes(candidate)
                if png is not None and len(png) <= limit:
                    return png
        return None

    def _apply_settings(self, message: Settings) -> None:
        changes = {key: value for key, value in message.settings.items() if key in UI_SETTINGS}
        if not changes:
            return
        try:
            settings = self._settings.updated(changes)
        except ValidationError as exc:
            first = exc.errors()[0]
            log.warning(
                "settings from the agent refused (%s: %s); keeping the current ones",
                ".".join(str(part) for part in first["loc"]),
                first["type"],
            )
            return
        previous, self._settings = self._settings, settings
        clock = self._browser.clock
        # Takes effect at the next touch or session: the running idle delay is not cut short.
        clock.timeouts = replace(clock.timeouts, idle_timeout_s=float(settings.idle_timeout_s))
        log.info(
            "settings from the agent applied: idle timeout %d s, brightness %s",
            settings.idle_timeout_s,
            settings.brightness_schedule,
        )
        if settings.brightness_schedule != previous.brightness_schedule:
            self.brightnessScheduleChanged.emit(settings.brightness_schedule)
        self.settingsChanged.emit(settings)
