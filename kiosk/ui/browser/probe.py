"""The self-check's probe, run origin after origin in the new profile (QML's hidden view).

QML shows :data:`~kiosk.ui.browser.selfcheck.PROBE_HTML` with ``loadHtml(html, origin)`` for
each ``origin`` in turn and hands over the view's title; this object keeps the turn, the
timeout and the counts, and says ``finished`` once: every origin reported, one did not, or the
probe was interrupted.
"""

from __future__ import annotations

from typing import Final

from kiosk.ui.browser.selfcheck import (
    PROBE_HTML,
    PROBE_INTERRUPTED,
    add_reports,
    parse_probe_title,
    probe_failures,
)
from kiosk.ui.qt import Property, QObject, QTimer, Signal, Slot

#: How long the probe may take on one origin before that origin counts as not reported.
PROBE_TIMEOUT_S: Final = 10.0


class OriginProbe(QObject):
    """The ``browser.probe`` object of the QML scene."""

    #: The counts summed over the origins (``{}`` if interrupted) and the failed checks.
    finished = Signal(object, tuple)
    runningChanged = Signal()
    originChanged = Signal()

    def __init__(self, timeout_s: float = PROBE_TIMEOUT_S, parent: QObject | None = None):
        super().__init__(parent)
        # The ended session's origins: in memory only, until the probe reports.
        self._origins: list[str] = []
        self._origin = ""
        self._running = False
        self._failures: list[str] = []
        self._report: dict[str, int] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, round(timeout_s * 1000)))
        self._timer.timeout.connect(self._on_timeout)

    def _get_running(self) -> bool:
        return self._running

    def _get_origin(self) -> str:
        return self._origin

    def _get_html(self) -> str:
        return PROBE_HTML

    #: The probe is running (QML shows its document in a hidden view of the profile).
    running = Property(bool, _get_running, notify=runningChanged)
    #: The origin the probe document is given now (QML loads it with ``loadHtml``).
    origin = Property(str, _get_origin, notify=originChanged)
    html = Property(str, _get_html, constant=True)

    def start(self, origins: list[str]) -> None:
        """Probe ``origins`` (at least one) in turn."""
        self._origins = list(origins)
        self._failures, self._report = [], {}
        self._running = True
        self._next()
        self.runningChanged.emit()

    def interrupt(self) -> None:
        """Stop here: what is found from now on could be the next resident's."""
        if self._running:
            self._finish(interrupted=True)

    @Slot(str)
    def title(self, title: str) -> None:
        """The probe view's title changed: one origin's report, once its script has run."""
        parsed = parse_probe_title(title)
        if parsed is None or not self._running:
            return
        origin, report = parsed
        if origin != self._origin:
            return  # the previous origin's document, still on its way out
        self._report = add_reports(self._report, report)
        self._failures.extend(probe_failures(report))
        if self._origins:
            self._next()
        else:
            self._finish()

    @Slot()
    def failed(self) -> None:
        """The probe document did not load."""
        self._on_timeout()

    def _next(self) -> None:
        self._origin = self._origins.pop(0) if self._origins else ""
        self._timer.start()
        self.originChanged.emit()

    def _on_timeout(self) -> None:
        if self._running:
            self._failures.extend(probe_failures(None))
            self._finish()

    def _finish(self, *, interrupted: bool = False) -> None:
        self._timer.stop()
        failures = (*self._failures, *((PROBE_INTERRUPTED,) if interrupted else ()))
        report = {} if interrupted else self._report
        self._origins, self._failures, self._report, self._origin = [], [], {}, ""
        self._running = False
        self.runningChanged.emit()
        self.finished.emit(report, failures)
