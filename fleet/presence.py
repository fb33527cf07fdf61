"""Presence without false alarms: what state a terminal is in, and when that is worth an alert.

Pure functions over a terminal's latest row and its recent state changes; the alert engine calls
them at each pass of the ingest process's keeper.

States:

- ``online``: its birth was the last word, and nothing below is wrong;
- ``degraded``: online, but its latest health report shows a problem (:func:`health_problems`):
  the UI does not answer, a disk is nearly full, a temperature (any sensor or the enclosure) is
  out of range, or its clock is not synchronised;
- ``offline``: it said goodbye (clean stop); ``lost``: the broker sent its last will;
- ``unknown``: never heard a status from it.

An ``offline`` or ``lost`` terminal counts as *down* (worth an alert) only once it has stayed so
for the grace period: an agent that reconnects within it (a network hiccup, a broker restart)
raises nothing. A terminal whose state changed more than ``flapping_changes`` times within the
window is *flapping*: one alert summarising the count replaces one alert per change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from fleet.core.config import FleetSettings
from fleet.models import Terminal

PresenceState = Literal["unknown", "online", "degraded", "offline", "lost"]
PRESENCE_STATES: Final = ("online", "degraded", "offline", "lost", "unknown")
DOWN_STATES: Final = frozenset({"offline", "lost"})

HealthProblem = Literal["ui_not_alive", "disk_full", "temperature", "clock_unsynced", "clock_wrong"]


@dataclass(frozen=True, slots=True)
class PresenceLimits:
    """The thresholds presence and alerts judge by (from the settings)."""

    down_grace_s: float = 120.0
    flapping_changes: int = 4
    flapping_window_s: float = 900.0
    disk_full_percent: float = 90.0
    temperature_max_c: float = 70.0
    temperature_min_c: float = -10.0

    @classmethod
    def from_settings(cls, settings: FleetSettings) -> PresenceLimits:
        return cls(
            down_grace_s=settings.down_grace_s,
            flapping_changes=settings.flapping_changes,
            flapping_window_s=settings.flapping_window_s,
            disk_full_percent=settings.disk_full_percent,
            temperature_max_c=settings.temperature_max_c,
            temperature_min_c=settings.temperature_min_c,
        )


def temperature_out_of_range(terminal: Terminal, limits: PresenceLimits) -> float | None:
    """The first reading (enclosure, then the hottest sensor) out of range, else ``None``."""
    for reading in (terminal.enclosure_temperature_c, terminal.temperature_c):
        if reading is not None and not (
            limits.temperature_min_c <= reading <= limits.temperature_max_c
        ):
            return reading
    return None


def disk_nearly_full(terminal: Terminal, limits: PresenceLimits) -> bool:
    return terminal.disk_percent is not None and terminal.disk_percent > limits.disk_full_percent


def health_problems(terminal: Terminal, limits: PresenceLimits) -> list[HealthProblem]:
    """What the latest health report says is wrong (an unreported figure is not a problem)."""
    problems: list[HealthProblem] = []
    if terminal.ui_alive is False:
        problems.append("ui_not_alive")
    if disk_nearly_full(terminal, limits):
        problems.append("disk_full")
    if temperature_out_of_range(terminal, limits) is not None:
        problems.append("temperature")
    if terminal.clock_synced is False:
        problems.append("clock_unsynced")
    if terminal.clock_error_s is not None:
        # Its reports carried times the fleet does not believe (filed at the fleet's time).
        problems.append("clock_wrong")
    return problems


def presence_of(terminal: Terminal, limits: PresenceLimits) -> PresenceState:
    """The terminal's presence, ``degraded`` when online with a health problem."""
    state = terminal.state
    if state == "online":
        return "degraded" if health_problems(terminal, limits) else "online"
    if state in ("offline", "lost"):
        return "offline" if state == "offline" else "lost"
    return "unknown"


def down_for(terminal: Terminal, now: datetime) -> timedelta | None:
    """How long the terminal has been offline or lost, ``None`` when it is not."""
    if terminal.state not in DOWN_STATES:
        return None
    return max(now - terminal.state_since, timedelta(0))


def is_down_past_grace(terminal: Terminal, now: datetime, limits: PresenceLimits) -> bool:
    """Down for at least the grace period: now worth telling someone."""
    down = down_for(terminal, now)
    return down is not None and down.total_seconds() >= limits.down_grace_s


def changes_within_window(
    change_times: Sequence[datetime], now: datetime, limits: PresenceLimits
) -> int:
    """How many of the state changes happened within the flapping window before ``now``."""
    since = now - timedelta(seconds=limits.flapping_window_s)
    return sum(1 for at in change_times if since < at <= now)


def is_flapping(change_count: int, limits: PresenceLimits) -> bool:
    return change_count > limits.flapping_changes
