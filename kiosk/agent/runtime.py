"""The agent put together: its link to the fleet, UI link, command processor, enclosure, systemd.

:mod:`kiosk.agent.mqtt` owns the MQTT connection and the outbox; this module plugs the other
parts into its hooks and runs them for the lifetime of the process.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.agent.actions import ActionError, SystemdActions, load_saved_settings, run_systemctl
from kiosk.agent.commands import CommandProcessor, CommandStore
from kiosk.agent.config import AgentSettings
from kiosk.agent.enclosure import (
    EnclosureBackend,
    EnclosurePaths,
    SimulatedEnclosure,
    SysfsEnclosure,
)
from kiosk.agent.health import HealthExtras
from kiosk.agent.journal import JournalBackend, JournalLogHandler, SimulatedJournal, SystemdJournal
from kiosk.agent.messages import CommandOutput, Desired
from kiosk.agent.mqtt.fleet_link import FleetLink
from kiosk.agent.notify import SystemdNotifier, watchdog_interval
from kiosk.agent.uilink import UiLinkServer
from kiosk.agent.uimessages import ContentSwitch
from kiosk.contract.settings import InvalidSettings
from kiosk.contract.wire import AckResult, Reason, Scalar

if TYPE_CHECKING:
    from kiosk.agent.content.service import ContentService

log = logging.getLogger(__name__)

COMMANDS_FILE = "commands.json"


def make_enclosure(settings: AgentSettings) -> EnclosureBackend | None:
    """The enclosure backend the configuration asks for; None when the unit has none."""
    config = settings.enclosure
    if config.backend == "simulated":
        return SimulatedEnclosure(seed=zlib.crc32(settings.terminal_id.encode()))
    if config.backend == "sysfs":
        paths = EnclosurePaths(
            door_gpio=config.door_gpio,
            temperature=config.temperature,
            humidity=config.humidity,
            backlight=config.backlight,
        )
        return SysfsEnclosure(paths, settings.terminal_id)
    return None


def simulated_systemctl(terminal_id: str) -> Callable[[list[str]], None]:
    """A ``systemctl`` that only says what it would do (demo and tests: never reboot the host)."""

    def pretend(arguments: list[str]) -> None:
        log.info("terminal %s (simulated): would run systemctl %s", terminal_id, arguments)

    return pretend


class WatchdogPinger:
    """Feeds the systemd watchdog from the main loop, so a stuck loop gets the agent restarted."""

    def __init__(self, notifier: SystemdNotifier, interval_s: float | None) -> None:
        self._notifier = notifier
        self._interval_s = interval_s
        self._last = 0.0

    def __call__(self) -> None:
        if self._interval_s is None:
            return
        now = time.monotonic()
        if now - self._last >= self._interval_s:
            self._notifier.watchdog()
            self._last = now


@dataclass
class AgentRuntime:
    """Everything the agent runs, built from its settings."""

    settings: AgentSettings
    fleet_link: FleetLink
    notifier: SystemdNotifier
    _content: ContentService | None = field(default=None, init=False)

    def run(self, stop: threading.Event) -> None:
        """Start the UI link and the command processor, run the link to the fleet until ``stop``."""
        settings = self.settings
        with ExitStack() as cleanup:
            state_dir = settings.state_dir
            if state_dir is None:
                # Nothing survives a restart then; say so rather than write somewhere unasked.
                log.warning(
                    "terminal %s: no state_dir: commands and settings are kept in memory only",
                    settings.terminal_id,
                )
                state_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
            ui_link = self._start_ui_link(cleanup)
            enclosure = make_enclosure(settings)
            self.fleet_link.health_extras = lambda: HealthExtras(
                ui=ui_link.ui_state() if ui_link else None,
                enclosure=enclosure.read() if enclosure else None,
            )
            run = (
                run_systemctl
                if settings.actions.backend == "systemd"
                else simulated_systemctl(settings.terminal_id)
            )
            self._content = self._start_content(cleanup, ui_link)
            journal = self._journal(cleanup)
            actions = SystemdActions(
                state_dir,
                ui_link,
                on_settings=self._apply_settings,
                run=run,
                ui_unit=settings.actions.ui_unit,
                refresh_content=self._content.refresh if self._content else None,
                journal=journal,
            )
            self.fleet_link.on_desired = lambda desired: self._on_desired(desired, actions)
            # What the fleet set before a restart still holds.
            self._apply_settings(load_saved_settings(state_dir))
            processor = CommandProcessor(
                actions,
                ack=self._ack,
                store=CommandStore(state_dir / COMMANDS_FILE),
                terminal_id=settings.terminal_id,
                boot_id=self.fleet_link.boot_id,
                ack_output=self._ack_output,
            )
            cleanup.callback(processor.close)
            processor.finish_interrupted()
            self.fleet_link.on_command = processor.on_command
            self.fleet_link.on_loop = WatchdogPinger(self.notifier, watchdog_interval())
            self.notifier.ready(f"terminal {settings.terminal_id}: running")
            try:
                self.fleet_link.run(stop)
            finally:
                self.notifier.stopping()

    def _journal(self, cleanup: ExitStack) -> JournalBackend:
        """The real journal on a terminal; with simulated actions (the demo), this process's
        own log records, kept in memory as the agent unit's journal."""
        if self.settings.actions.backend == "systemd":
            return SystemdJournal()
        simulated = SimulatedJournal()
        handler = JournalLogHandler(simulated)
        root = logging.getLogger()
        root.addHandler(handler)
        cleanup.callback(root.removeHandler, handler)
        return simulated

    def _start_content(
        self, cleanup: ExitStack, ui_link: UiLinkServer | None
    ) -> ContentService | None:
        config = self.settings.content
        if config.dir is None or config.base_url is None or config.trusted_root is None:
            return None
        # Imported here, not at the top: at default settings content updates are off, and the
        # updater's modules (manifest and catalog models, store) would only take memory.
        from kiosk.agent.content.service import ContentService
        from kiosk.agent.content.updater import ContentUpdaterSettings

        base = config.base_url.rstrip("/")
        updater_settings = ContentUpdaterSettings(
            content_dir=config.dir,
            metadata_url=f"{base}/metadata/",
            targets_url=f"{base}/targets/",
            trusted_root=config.trusted_root,
        )

        def session_open() -> bool:
            state = ui_link.ui_state() if ui_link else None
            return bool(state and state.alive and state.session_open)

        def switch_ui(version: str) -> None:
            if ui_link is not None:
                ui_link.send_to_ui(ContentSwitch(version=version))

        service = ContentService(
            updater_settings,
            session_open,
            self._publish_session_event,
            switch_ui,
            self.settings.terminal_id,
        )
        cleanup.callback(service.close)
        return service

    def _on_desired(self, desired: Desired, actions: SystemdActions) -> None:
        """The fleet's retained wishes: a content version, and settings."""
        if self._content is not None:
            self._content.want(desired.content_version)
        elif desired.content_version is not None:
            log.warning(
                "terminal %s: the fleet wants content %s but content updates are not configured",
                self.settings.terminal_id,
                desired.content_version,
            )
        if desired.settings:
            try:
                actions.apply_settings(dict(desired.settings))
            except (InvalidSettings, ActionError) as exc:
                log.error(
                    "terminal %s: desired settings not applied: %s", self.settings.terminal_id, exc
                )

    def _apply_settings(self, values: dict[str, Scalar]) -> None:
        """The settings that concern the agent itself (the UI gets its own through the link)."""
        interval = values.get("health_interval_s")
        if isinstance(interval, int | float) and not isinstance(interval, bool):
            self.fleet_link.set_health_interval(float(interval))

    def _ack_output(self, command_id: str, output: CommandOutput) -> None:
        try:
            self.fleet_link.publish_ack(command_id, AckResult.DONE, None, output)
        except ValueError as exc:
            log.error(
                "terminal %s: output of command %s not sent: %s",
                self.settings.terminal_id,
                command_id,
                exc,
            )
            self._ack(command_id, AckResult.FAILED, Reason.INTERNAL_ERROR)

    def _ack(self, command_id: str, result: AckResult, reason: str | None) -> None:
        try:
            self.fleet_link.publish_ack(command_id, result, reason)
        except ValueError as exc:
            log.error(
                "terminal %s: ack %s of command %s not sent: %s",
                self.settings.terminal_id,
                result,
                command_id,
                exc,
            )

    def _publish_session_event(self, kind: str, data: dict[str, Scalar]) -> None:
        if kind == "session_ended" and self._content is not None:
            # A version staged while the resident was there can now be shown.
            self._content.session_ended()
        try:
            self.fleet_link.publish_event(kind, data)
        except ValueError as exc:
            log.error("terminal %s: UI event %s not sent: %s", self.settings.terminal_id, kind, exc)

    def _start_ui_link(self, cleanup: ExitStack) -> UiLinkServer | None:
        config = self.settings.ui
        if config.socket is None:
            return None
        server = UiLinkServer(
            config.socket,
            on_session_event=self._publish_session_event,
            liveness_timeout_s=config.liveness_timeout_s,
            terminal_id=self.settings.terminal_id,
        )
        try:
            server.start()
        except OSError as exc:
            # The agent's first duty is to report; without the socket it still can.
            log.error(
                "terminal %s: cannot open the UI socket %s (%s); running without the UI link, "
                "the UI is reported as not answering",
                self.settings.terminal_id,
                config.socket,
                exc,
            )
            return None
        cleanup.callback(server.stop)
        return server
