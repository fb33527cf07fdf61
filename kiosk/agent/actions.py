"""What the terminal can do on the fleet's order, and the systemd implementation of it."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol

from kiosk.agent.journal import JournalBackend, JournalUnavailable, SystemdJournal, collect_logs
from kiosk.agent.messages import LogLine, UiState
from kiosk.agent.uimessages import AgentMessage, Settings, WipeResult
from kiosk.contract.settings import validate_settings
from kiosk.contract.wire import SCREENSHOT_MAX_BYTES, Reason, Scalar

log = logging.getLogger(__name__)


class ActionError(Exception):
    """An action could not be carried out; ``str()`` is a short reason for the fleet."""


class ScreenRefused(ActionError):
    """No picture of the screen: a resident is using it (the command is ``refused``)."""


class TerminalActions(Protocol):
    """What the terminal can do on the fleet's order; each call may raise :class:`ActionError`."""

    def reboot(self) -> None: ...

    def restart_ui(self) -> None: ...

    def wipe_session(self, command_id: str) -> bool: ...

    def session_open(self) -> bool: ...

    def take_screenshot(self, command_id: str) -> bytes:
        """A PNG of the attract or home screen; :class:`ScreenRefused` when a resident session
        is open (or the screen is not the attract or home screen)."""
        ...

    def read_logs(self, lines: int) -> list[LogLine]:
        """The last ``lines`` lines of the own units' journal, redacted."""
        ...

    def apply_settings(self, settings: dict[str, Scalar]) -> None: ...

    def refresh_content(self) -> None: ...


# --------------------------------------------------------------------------------------------
# Settings the fleet may set

#: Whole-number settings and their inclusive bounds.


SETTINGS_FILE_NAME: Final = "settings.json"
UI_UNIT: Final = "kiosk-ui.service"
SYSTEMCTL_TIMEOUT_S: Final = 90.0
WIPE_TIMEOUT_S: Final = 20.0
SCREENSHOT_TIMEOUT_S: Final = 15.0


class UiControl(Protocol):
    """The part of :class:`kiosk.agent.uilink.UiLinkServer` the actions use."""

    def ui_state(self) -> UiState: ...

    def request_wipe(self, command_id: str, timeout_s: float) -> WipeResult | None: ...

    def send_to_ui(self, message: AgentMessage) -> bool: ...

    def request_screenshot(
        self, request_id: str, timeout_s: float, max_bytes: int
    ) -> bytes | str | None: ...


def run_systemctl(arguments: list[str]) -> None:
    """Run ``systemctl`` with ``arguments``; raise :class:`ActionError` if it fails."""
    command = ["systemctl", *arguments]
    try:
        subprocess.run(
            command, check=True, capture_output=True, text=True, timeout=SYSTEMCTL_TIMEOUT_S
        )
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit {exc.returncode}"]
        raise ActionError(f"systemctl {' '.join(arguments)} failed: {detail[0][:120]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ActionError(f"systemctl {' '.join(arguments)} timed out") from exc
    except OSError as exc:
        raise ActionError(f"systemctl cannot be run: {exc.strerror or exc}") from exc


def load_saved_settings(state_dir: Path) -> dict[str, Scalar]:
    """The settings last applied by the fleet (empty if none or unreadable)."""
    path = state_dir / SETTINGS_FILE_NAME
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        return validate_settings(raw) if raw else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, AttributeError) as exc:
        log.error("saved settings %s unusable (%s); using the defaults", path, exc)
        return {}


class SystemdActions:
    """:class:`TerminalActions` on the real terminal: systemd, the UI link, the state directory."""

    def __init__(
        self,
        state_dir: Path,
        ui: UiControl | None,
        *,
        on_settings: Callable[[dict[str, Scalar]], None] | None = None,
        run: Callable[[list[str]], None] = run_systemctl,
        ui_unit: str = UI_UNIT,
        wipe_timeout_s: float = WIPE_TIMEOUT_S,
        refresh_content: Callable[[], None] | None = None,
        journal: JournalBackend | None = None,
        screenshot_timeout_s: float = SCREENSHOT_TIMEOUT_S,
    ) -> None:
        self._state_dir = state_dir
        self._journal: JournalBackend = journal if journal is not None else SystemdJournal()
        self._screenshot_timeout_s = screenshot_timeout_s
        self._refresh_content = refresh_content
        self._ui = ui
        self._on_settings = on_settings
        self._run = run
        self._ui_unit = ui_unit
        self._wipe_timeout_s = wipe_timeout_s

    def reboot(self) -> None:
        self._run(["reboot"])

    def restart_ui(self) -> None:
        self._run(["restart", self._ui_unit])

    def wipe_session(self, command_id: str) -> bool:
        if self._ui is None:
            raise ActionError(Reason.UI_NOT_CONNECTED)
        result = self._ui.request_wipe(command_id, self._wipe_timeout_s)
        if result is None:
            raise ActionError(Reason.UI_NO_ANSWER)
        return result.ok

    def session_open(self) -> bool:
        """Whether a live UI reports an open session (a silent UI cannot show one for long)."""
        if self._ui is None:
            return False
        state = self._ui.ui_state()
        return state.alive and state.session_open

    def take_screenshot(self, command_id: str) -> bytes:
        """Ask the UI: it answers only on its attract or home screen with no session open; the
        agent checks the session first too (two locks on the same door)."""
        if self.session_open():
            raise ScreenRefused(Reason.SCREEN_IN_USE)
        if self._ui is None:
            raise ActionError(Reason.UI_NOT_CONNECTED)
        answer = self._ui.request_screenshot(
            command_id, self._screenshot_timeout_s, SCREENSHOT_MAX_BYTES
        )
        if answer is None:
            raise ActionError(Reason.UI_NO_PICTURE)
        if answer in ("session_open", "not_home"):
            raise ScreenRefused(Reason.SCREEN_IN_USE)
        if isinstance(answer, str) or not answer:
            raise ActionError(Reason.UI_NO_PICTURE)
        return answer

    def read_logs(self, lines: int) -> list[LogLine]:
        try:
            kept, left_out = collect_logs(self._journal, lines)
        except JournalUnavailable as exc:
            log.warning("journal not readable for the logs command: %s", exc)
            raise ActionError(Reason.NO_JOURNAL) from exc
        log.info(
            "logs command: %d line(s) sent, %d not from the project's code", len(kept), left_out
        )
        return kept

    def apply_settings(self, settings: dict[str, Scalar]) -> None:
        """Merge ``settings`` into the saved ones, save them atomically, then apply them."""
        merged = {**load_saved_settings(self._state_dir), **validate_settings(settings)}
        path = self._state_dir / SETTINGS_FILE_NAME
        partial = path.with_name(path.name + ".partial")
        try:
            self._state_dir.mkdir(parents=True, exist_ok=True)
            with partial.open("w", encoding="utf-8") as settings_file:
                json.dump(merged, settings_file, indent=2, sort_keys=True)
                settings_file.flush()
                os.fsync(settings_file.fileno())
            os.replace(partial, path)
        except OSError as exc:
            raise ActionError(f"settings not saved: {exc.strerror or exc}") from exc
        if self._ui is not None and not self._ui.send_to_ui(Settings(settings=merged)):
            log.info("settings saved; the kiosk UI is not connected and gets them when it is")
        if self._on_settings is not None:
            self._on_settings(merged)

    def refresh_content(self) -> None:
        if self._refresh_content is None:
            raise ActionError(Reason.NO_CONTENT_UPDATES)
        try:
            self._refresh_content()
        except RuntimeError as exc:
            raise ActionError(str(exc)[:200]) from exc
