"""The street furniture's sensors: door switch, enclosure climate, screen backlight.

:class:`SysfsEnclosure` reads the files the kernel exposes (a GPIO value, hwmon-style readings,
``/sys/class/backlight``); a missing or unreadable file gives None for that reading and is
logged once. :class:`SimulatedEnclosure` is deterministic for tests and the demo.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from kiosk.agent.messages import Enclosure

log = logging.getLogger(__name__)

BACKLIGHT_ROOT: Final = Path("/sys/class/backlight")


class EnclosureBackend(Protocol):
    """Something that reads the enclosure's sensors; cheap, never blocks for long."""

    def read(self) -> Enclosure: ...


@dataclass(frozen=True, slots=True)
class EnclosurePaths:
    """Where each reading lives; None where the unit has no such sensor."""

    # GPIO value file of the door switch: "1" when the door is open.
    door_gpio: Path | None = None
    # hwmon-style: millidegrees Celsius, milli-percent relative humidity.
    temperature: Path | None = None
    humidity: Path | None = None
    # A backlight device directory (with brightness and max_brightness); None: the first one
    # under /sys/class/backlight, if any.
    backlight: Path | None = None
    backlight_root: Path = BACKLIGHT_ROOT


class SysfsEnclosure:
    """Readings from sysfs files; each failure gives None and one log line per file."""

    def __init__(self, paths: EnclosurePaths, terminal_id: str = "-") -> None:
        self._paths = paths
        self._terminal_id = terminal_id
        self._reported: set[Path] = set()

    def read(self) -> Enclosure:
        paths = self._paths
        door = self._read_int(paths.door_gpio)
        temperature = self._read_int(paths.temperature)
        humidity = self._read_int(paths.humidity)
        if humidity is not None and not 0 <= humidity <= 100_000:
            self._report_once(paths.humidity, f"humidity {humidity} out of range")
            humidity = None
        return Enclosure(
            door_open=None if door is None else door != 0,
            temperature_c=None if temperature is None else round(temperature / 1000, 1),
            humidity_percent=None if humidity is None else round(humidity / 1000, 1),
            backlight_percent=self._backlight_percent(),
        )

    def _backlight_percent(self) -> float | None:
        device = self._paths.backlight or self._first_backlight()
        if device is None:
            return None
        brightness = self._read_int(device / "brightness")
        maximum = self._read_int(device / "max_brightness")
        if brightness is None or maximum is None:
            return None
        if maximum <= 0:
            self._report_once(device / "max_brightness", f"max_brightness is {maximum}")
            return None
        return round(min(100.0, max(0.0, 100 * brightness / maximum)), 1)

    def _first_backlight(self) -> Path | None:
        root = self._paths.backlight_root
        try:
            devices = sorted(root.iterdir())
        except OSError as exc:
            self._report_once(root, f"no backlight devices ({exc.strerror or exc})")
            return None
        if not devices:
            self._report_once(root, "no backlight device")
            return None
        return devices[0]

    def _read_int(self, path: Path | None) -> int | None:
        if path is None:
            return None
        try:
            value = int(path.read_text(encoding="ascii").strip())
        except OSError as exc:
            self._report_once(path, f"unreadable ({exc.strerror or exc})")
            return None
        except (UnicodeDecodeError, ValueError):
            self._report_once(path, "not a whole number")
            return None
        self._reported.discard(path)
        return value

    def _report_once(self, path: Path | None, problem: str) -> None:
        if path is None or path in self._reported:
            return
        self._reported.add(path)
        log.warning(
            "terminal %s: enclosure sensor %s %s; reported as absent until it reads again",
            self._terminal_id,
            path,
            problem,
        )


class SimulatedEnclosure:
    """A plausible enclosure: fixed by ``seed``; the door stays closed until told otherwise."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._temperature_c = 18.0 + self._random.uniform(-4.0, 4.0)
        self._humidity_percent = 55.0 + self._random.uniform(-10.0, 10.0)
        self._backlight_percent = 80.0
        self._door_open = False

    def open_door(self) -> None:
        self._door_open = True

    def close_door(self) -> None:
        self._door_open = False

    def set_backlight(self, percent: float) -> None:
        self._backlight_percent = min(100.0, max(0.0, percent))

    def read(self) -> Enclosure:
        # A small bounded random walk: each read differs, the sequence is the same per seed.
        self._temperature_c = min(
            45.0, max(-10.0, self._temperature_c + self._random.gauss(0, 0.2))
        )
        self._humidity_percent = min(
            95.0, max(10.0, self._humidity_percent + self._random.gauss(0, 0.5))
        )
        return Enclosure(
            door_open=self._door_open,
            temperature_c=round(self._temperature_c, 1),
            humidity_percent=round(self._humidity_percent, 1),
            backlight_percent=self._backlight_percent,
        )
