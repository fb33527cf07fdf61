"""Content updates as the agent runs them: what the fleet wants, one update at a time.

The retained ``desired`` state names the content version the fleet wants; a ``refresh_content``
command asks for it again now. Updates run on one worker thread (they block on the network);
each step is reported to the fleet as a ``content_update`` event, and once a version is applied
the kiosk UI is told to switch to it. A version staged while a resident was using the terminal
is applied when the UI reports the session over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from kiosk.agent.content.render_check import full_health_check
from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings, UpdateResult
from kiosk.contract.wire import ContentUpdateState, Scalar

log = logging.getLogger(__name__)

EVENT_KIND = "content_update"


class ContentError(RuntimeError):
    """A refresh that could not bring the wanted version; ``str()`` is the reason."""


class ContentService:
    """Drives a :class:`ContentUpdater` from the fleet's wishes and the UI's sessions."""

    def __init__(
        self,
        settings: ContentUpdaterSettings,
        session_open: Callable[[], bool],
        publish_event: Callable[[str, dict[str, Scalar]], None],
        switch_ui: Callable[[str], None],
        terminal_id: str,
    ) -> None:
        self._publish_event = publish_event
        self._switch_ui = switch_ui
        self._terminal_id = terminal_id
        self._lock = threading.Lock()
        self._wanted: str | None = None
        self._staged: str | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="content")
        self._updater = ContentUpdater(
            settings, session_open, health_check=full_health_check(), on_state=self._on_state
        )

    @property
    def updater(self) -> ContentUpdater:
        return self._updater

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)

    def want(self, version: str | None) -> None:
        """The fleet's desired version (retained ``desired``); update in the background."""
        if version is None:
            return
        with self._lock:
            self._wanted = version
        if version != self._updater.current_version():
            self._worker.submit(self._update, version)

    def refresh(self) -> None:
        """The ``refresh_content`` command: bring the wanted version now, or say why not."""
        with self._lock:
            wanted = self._wanted
        if wanted is None:
            raise ContentError("the fleet has not said which content version it wants")
        result = self._worker.submit(self._update, wanted).result()
        if result.state == ContentUpdateState.STAGED:
            return  # applied when the resident's session ends; the events say so
        if result.state != ContentUpdateState.APPLIED:
            raise ContentError(result.reason or f"content update {result.state.value}")

    def session_ended(self) -> Future[UpdateResult | None]:
        """A resident's session is over: apply what was staged meanwhile, if anything."""
        return self._worker.submit(self._apply_staged)

    def _update(self, version: str) -> UpdateResult:
        return self._updater.update_to(version)

    def _apply_staged(self) -> UpdateResult | None:
        with self._lock:
            staged, self._staged = self._staged, None
        if staged is None:
            return None
        return self._updater.apply_staged(staged)

    def _on_state(self, result: UpdateResult) -> None:
        with self._lock:
            if result.state == ContentUpdateState.STAGED:
                self._staged = result.version
            elif result.state == ContentUpdateState.APPLIED and self._staged == result.version:
                self._staged = None
        try:
            self._publish_event(EVENT_KIND, dict(result.event_data()))
        except ValueError as exc:
            log.error("terminal %s: content event not sent: %s", self._terminal_id, exc)
        if result.state == ContentUpdateState.APPLIED:
            log.info("terminal %s: content %s applied", self._terminal_id, result.version)
            self._switch_ui(result.version)
