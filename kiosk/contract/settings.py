"""The settings the fleet may change on a terminal, declared once with their bounds.

The fleet sends them in a ``set_settings`` command or in the retained ``desired`` message; the
agent checks them here (:func:`validate_settings`), keeps the ones it applies itself and hands
the kiosk UI its own (:data:`UI_SETTINGS`) through the local socket. The UI's settings model
(:mod:`kiosk.ui.settings`) bounds the same keys from :data:`SETTING_BOUNDS` and checks the
brightness schedule with :func:`parse_brightness_schedule`, so a file and the fleet agree.

Only the standard library here: the agent runs without pydantic and the UI starts without it.
Refusals are in English: they go back to the fleet as a command's reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from kiosk.contract.wire import Scalar


class InvalidSettings(ValueError):
    """Settings outside what the terminal accepts; ``str()`` is the reason sent to the fleet."""


IDLE_TIMEOUT_S: Final = "idle_timeout_s"
HEALTH_INTERVAL_S: Final = "health_interval_s"
BRIGHTNESS_SCHEDULE: Final = "brightness_schedule"
#: The whole-second settings and their bounds (lowest, highest), both included.
SETTING_BOUNDS: Final[Mapping[str, tuple[int, int]]] = {
    IDLE_TIMEOUT_S: (30, 1800),
    HEALTH_INTERVAL_S: (10, 3600),
}
#: Every setting the fleet may change.
KNOWN_SETTINGS: Final = (*SETTING_BOUNDS, BRIGHTNESS_SCHEDULE)
#: Those the kiosk UI applies while running (the others are the agent's own).
UI_SETTINGS: Final = (IDLE_TIMEOUT_S, BRIGHTNESS_SCHEDULE)
#: The kiosk's brightness until its settings file or the fleet says otherwise.
DEFAULT_BRIGHTNESS_SCHEDULE: Final = "07:00-22:00=100,22:00-07:00=30"
_PERIOD_RE: Final = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})=(\d{1,3})")
_MINUTES_PER_DAY: Final = 24 * 60
_MAX_PERIODS: Final = 12


@dataclass(frozen=True, slots=True)
class BrightnessPeriod:
    """From ``start_min`` to ``end_min`` (minutes after midnight, may wrap), ``percent``."""

    start_min: int
    end_min: int
    percent: int

    def minutes(self) -> range | list[int]:
        if self.start_min < self.end_min:
            return range(self.start_min, self.end_min)
        return [*range(self.start_min, _MINUTES_PER_DAY), *range(0, self.end_min)]


def parse_brightness_schedule(text: str) -> tuple[BrightnessPeriod, ...]:
    """Parse ``"07:00-22:00=100,22:00-07:00=30"``; raise :class:`InvalidSettings` if malformed."""
    periods: list[BrightnessPeriod] = []
    covered: set[int] = set()
    parts = text.split(",")
    if len(parts) > _MAX_PERIODS:
        raise InvalidSettings(f"brightness_schedule has more than {_MAX_PERIODS} periods")
    for part in parts:
        match = _PERIOD_RE.fullmatch(part.strip())
        if match is None:
            raise InvalidSettings(
                "brightness_schedule must look like 07:00-22:00=100,22:00-07:00=30"
            )
        start_h, start_m, end_h, end_m, percent = (int(group) for group in match.groups())
        if max(start_h, end_h) > 23 or max(start_m, end_m) > 59:
            raise InvalidSettings(f"brightness_schedule: {part.strip()} is not a valid time")
        if percent > 100:
            raise InvalidSettings("brightness_schedule: brightness is a percent (0 to 100)")
        period = BrightnessPeriod(start_h * 60 + start_m, end_h * 60 + end_m, percent)
        if period.start_min == period.end_min:
            raise InvalidSettings(f"brightness_schedule: {part.strip()} is empty")
        minutes = set(period.minutes())
        if covered & minutes:
            raise InvalidSettings(f"brightness_schedule: {part.strip()} overlaps another period")
        covered |= minutes
        periods.append(period)
    return tuple(periods)


def validate_settings(values: Mapping[str, Scalar]) -> dict[str, Scalar]:
    """The checked settings; raise :class:`InvalidSettings` for an unknown key or a bad value."""
    if not values:
        raise InvalidSettings("no settings given")
    checked: dict[str, Scalar] = {}
    for key, value in values.items():
        if key in SETTING_BOUNDS:
            low, high = SETTING_BOUNDS[key]
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidSettings(f"{key} must be a whole number of seconds")
            if not low <= value <= high:
                raise InvalidSettings(f"{key} must be between {low} and {high}")
            checked[key] = value
        elif key == BRIGHTNESS_SCHEDULE:
            if not isinstance(value, str):
                raise InvalidSettings("brightness_schedule must be a text")
            parse_brightness_schedule(value)
            checked[key] = value.replace(" ", "")
        else:
            raise InvalidSettings(
                f"unknown setting {key[:40]!r}; known: {', '.join(KNOWN_SETTINGS)}"
            )
    return checked
