"""The alert rules: pure functions from what is known of one terminal to what is wrong with it.

Each rule says, for its kind, *active* (an alert should be open), *clear* (an open alert should
resolve) or nothing at all when the facts do not tell: health figures of a terminal that is not
online are its last words, not its present, so an open disk alert neither resolves nor opens
while the terminal is away (the ``down`` rule speaks for it then).

What is wrong is told as *details*: the facts of the kind as plain JSON values (``{"state":
"lost", "since": "..."}``, ``{"used": 95.0, "limit": 90.0}``), never as a sentence, so that pages
and notifications put them in the reader's language (:func:`fleet.alerts.labels.alert_details`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from fleet.core.config import FleetSettings
from fleet.models import Terminal
from fleet.presence import (
    PresenceLimits,
    changes_within_window,
    disk_nearly_full,
    down_for,
    is_down_past_grace,
    is_flapping,
    temperature_out_of_range,
)
from fleet.states import TerminalState

ALERT_KINDS: Final = (
    "down",
    "flapping",
    "disk_full",
    "temperature",
    "ui_not_responding",
    "ui_crash_loop",
    "wipe_failed",
    "door_open",
    "content_failed",
)
#: Event kinds the rules read.
UI_CRASH_EVENT: Final = "ui_crash"
WIPE_DONE_EVENT: Final = "wipe_done"
CONTENT_FAILED_EVENT: Final = "content_failed"
CONTENT_APPLIED_EVENT: Final = "content_applied"


@dataclass(frozen=True, slots=True)
class AlertLimits:
    presence: PresenceLimits = field(default_factory=PresenceLimits)
    ui_crash_count: int = 3
    ui_crash_window_s: float = 600.0

    @classmethod
    def from_settings(cls, settings: FleetSettings) -> AlertLimits:
        return cls(
            presence=PresenceLimits.from_settings(settings),
            ui_crash_count=settings.ui_crash_count,
            ui_crash_window_s=settings.ui_crash_window_s,
        )


@dataclass(frozen=True, slots=True)
class LatestEvent:
    kind: str
    at: datetime
    ok: bool | None = None


@dataclass(frozen=True, slots=True)
class TerminalFacts:
    """Everything the rules need about one terminal at one moment."""

    terminal: Terminal
    #: When its presence changed, recently (at least the flapping window).
    state_changes: tuple[datetime, ...] = ()
    #: When its UI reported a crash, recently (at least the crash window).
    ui_crashes: tuple[datetime, ...] = ()
    last_wipe: LatestEvent | None = None
    #: The latest of its ``content_failed`` / ``content_applied`` events.
    last_content: LatestEvent | None = None
    in_maintenance: bool = False
    #: Kinds of its alerts that are not resolved yet.
    unresolved: frozenset[str] = frozenset()


#: The facts of one alert: JSON values only (stored in ``alerts.details``).
Details = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Findings:
    """``active``: kind -> details of what is wrong; ``clear``: kinds that are fine now."""

    active: Mapping[str, Details]
    clear: frozenset[str]


def evaluate(facts: TerminalFacts, now: datetime, limits: AlertLimits) -> Findings:
    """Judge one terminal by every rule."""
    active: dict[str, Details] = {}
    clear: set[str] = set()

    def judge(kind: str, details: Details | None, decided: bool = True) -> None:
        if not decided:
            return
        if details is None:
            clear.add(kind)
        else:
            active[kind] = details

    terminal = facts.terminal
    if terminal.state == TerminalState.UNKNOWN:
        return Findings(active, frozenset())
    flapping = _flapping(facts, now, limits)
    judge("flapping", flapping)
    judge("down", _down(facts, now, limits, flapping is not None))
    online = terminal.state == TerminalState.ONLINE
    judge(
        "disk_full", _disk(terminal, limits), decided=online and terminal.disk_percent is not None
    )
    judge(
        "temperature", _temperature(terminal, limits), decided=online and _has_temperature(terminal)
    )
    judge("ui_not_responding", _ui(terminal), decided=online and terminal.ui_alive is not None)
    judge("ui_crash_loop", _crash_loop(facts, now, limits))
    judge("wipe_failed", _wipe(facts))
    judge(
        "door_open",
        _door(facts),
        decided=facts.in_maintenance or (online and terminal.door_open is not None),
    )
    judge("content_failed", _content(facts))
    return Findings(active, frozenset(clear))


def _flapping(facts: TerminalFacts, now: datetime, limits: AlertLimits) -> Details | None:
    presence = limits.presence
    count = changes_within_window(facts.state_changes, now, presence)
    # Hysteresis: once flapping, it stays so until a whole window passes without a change,
    # so that the flapping alert does not itself flap.
    still = "flapping" in facts.unresolved and count > 0
    if not (is_flapping(count, presence) or still):
        return None
    minutes = round(presence.flapping_window_s / 60)
    return {"changes": count, "window_min": minutes, "state": facts.terminal.state}


def _down(
    facts: TerminalFacts, now: datetime, limits: AlertLimits, flapping: bool
) -> Details | None:
    terminal = facts.terminal
    if not is_down_past_grace(terminal, now, limits.presence):
        return None
    # A flapping terminal has its one summarising alert; a down alert already open stays.
    if flapping and "down" not in facts.unresolved:
        return None
    # Its duration is told where it is shown, from ``since``: one duration, always current.
    since = now - (down_for(terminal, now) or timedelta(0))
    return {"state": terminal.state, "since": since.isoformat()}


def _disk(terminal: Terminal, limits: AlertLimits) -> Details | None:
    if not disk_nearly_full(terminal, limits.presence):
        return None
    return {"used": terminal.disk_percent, "limit": limits.presence.disk_full_percent}


def _has_temperature(terminal: Terminal) -> bool:
    return terminal.enclosure_temperature_c is not None or terminal.temperature_c is not None


def _temperature(terminal: Terminal, limits: AlertLimits) -> Details | None:
    reading = temperature_out_of_range(terminal, limits.presence)
    if reading is None:
        return None
    presence = limits.presence
    return {
        "reading": reading,
        "min": presence.temperature_min_c,
        "max": presence.temperature_max_c,
    }


def _ui(terminal: Terminal) -> Details | None:
    return {} if terminal.ui_alive is False else None


def _crash_loop(facts: TerminalFacts, now: datetime, limits: AlertLimits) -> Details | None:
    since = now - timedelta(seconds=limits.ui_crash_window_s)
    count = sum(1 for at in facts.ui_crashes if since < at <= now)
    if count < limits.ui_crash_count:
        return None
    return {"crashes": count, "window_min": round(limits.ui_crash_window_s / 60)}


def _wipe(facts: TerminalFacts) -> Details | None:
    """The newer of the last ``wipe_done`` event and the health report's last wipe check."""
    terminal = facts.terminal
    event = facts.last_wipe
    health_ok = terminal.last_wipe_ok
    ok: bool | None
    if event is None or event.ok is None:
        ok = health_ok
    elif health_ok is None or terminal.health_at is None or event.at >= terminal.health_at:
        ok = event.ok
    else:
        ok = health_ok
    return {} if ok is False else None


def _door(facts: TerminalFacts) -> Details | None:
    if facts.in_maintenance or facts.terminal.door_open is not True:
        return None
    return {}


def _content(facts: TerminalFacts) -> Details | None:
    last = facts.last_content
    if last is None or last.kind != CONTENT_FAILED_EVENT:
        return None
    return {"at": last.at.isoformat()}
