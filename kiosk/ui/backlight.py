"""The screen's brightness: a backlight interface, its sysfs and simulated backends, a schedule.

The schedule is the ``brightness_schedule`` setting ("07:00-22:00=100,22:00-07:00=30"), parsed
by the contract's parser (:mod:`kiosk.contract.settings`), the one the agent checks the fleet's
changes with, so the two can never disagree. It dims the terminal while
nobody uses it; a resident always gets full brightness.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from kiosk.contract.settings import (
    DEFAULT_BRIGHTNESS_SCHEDULE,
    BrightnessPeriod,
    parse_brightness_schedule,
)

log = logging.getLogger(__name__)

SYSFS_BACKLIGHTS: Final = Path("/sys/class/backlight")
FULL: Final = 100


class Backlight(Protocol):
    """A screen whose brightness can be set, in percent."""

    def set_percent(self, percent: int) -> None: ...


class SimulatedBacklight:
    """A backlight in memory (development machines, tests): remembers what it was told."""

    def __init__(self) -> None:
        self.percent: int | None = None
        self.history: list[int] = []

    def set_percent(self, percent: int) -> None:
        self.percent = percent
        self.history.append(percent)


class SysfsBacklight:
    """``/sys/class/backlight/<device>/brightness``, scaled to ``max_brightness``."""

    def __init__(self, device: Path) -> None:
        self.device = device
        self._maximum = int((device / "max_brightness").read_text().strip())
        self._last: int | None = None

    @classmethod
    def first(cls, root: Path = SYSFS_BACKLIGHTS) -> SysfsBacklight | None:
        """The first backlight device under ``root``, or None when the screen has none."""
        devices = sorted(root.glob("*/max_brightness")) if root.is_dir() else []
        return cls(devices[0].parent) if devices else None

    def set_percent(self, percent: int) -> None:
        # Never fully dark: a black screen in the street looks broken (or switched off).
        value = max(1, round(self._maximum * min(FULL, max(0, percent)) / FULL))
        if value == self._last:
            return
        try:
            (self.device / "brightness").write_text(f"{value}\n")
        except OSError as exc:
            log.warning("cannot set the backlight %s to %d %%: %s", self.device, percent, exc)
            return
        self._last = value


def percent_at(periods: Sequence[BrightnessPeriod], moment: datetime) -> int:
    """The scheduled brightness at ``moment`` (full where no period covers it)."""
    minute = moment.hour * 60 + moment.minute
    for period in periods:
        if minute in period.minutes():
            return period.percent
    return FULL


class BrightnessSchedule:
    """Applies the schedule to a backlight: scheduled level when idle, full when in use."""

    def __init__(
        self,
        backlight: Backlight,
        schedule: str = DEFAULT_BRIGHTNESS_SCHEDULE,
        now: Callable[[], datetime] = datetime.now,
    ) -> None:
        self._backlight = backlight
        self.now = now
        self._periods = parse_brightness_schedule(schedule)
        self._in_use = False

    def set_schedule(self, schedule: str) -> None:
        """Replace the schedule (raises ``InvalidSettings`` and keeps the old one if malformed)."""
        self._periods = parse_brightness_schedule(schedule)
        self.apply()

    def set_in_use(self, in_use: bool) -> None:
        self._in_use = in_use
        self.apply()

    def apply(self) -> None:
        """Set the backlight for now (called on changes and once a minute)."""
        percent = FULL if self._in_use else percent_at(self._periods, self.now())
        self._backlight.set_percent(percent)
