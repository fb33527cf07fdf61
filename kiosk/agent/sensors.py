"""Where sensor readings come from: the real hardware (psutil) or a deterministic simulation.

Readings are one :class:`SensorReadings` value so that door, humidity or backlight sensors can be
added later as new optional fields without changing the backends that do not have them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

import psutil

log = logging.getLogger(__name__)

#: Labels the fleet can rely on for the simulated unit: (label, typical °C, spread at start).
_SIMULATED_PROBES: Final = (("cpu", 48.0, 6.0), ("board", 38.0, 4.0), ("enclosure", 22.0, 5.0))


@dataclass(frozen=True, slots=True)
class SensorReadings:
    """One reading of every sensor a backend has; absent sensors stay empty."""

    # Sensor label -> degrees Celsius.
    temperatures_c: dict[str, float] = field(default_factory=dict)


class SensorBackend(Protocol):
    """Something that reads the terminal's sensors; must be cheap and never block for long."""

    @property
    def name(self) -> str: ...

    def read(self) -> SensorReadings: ...


class PsutilSensors:
    """The machine's own sensors as the kernel exposes them (hwmon, ACPI thermal zones)."""

    name = "psutil"

    def read(self) -> SensorReadings:
        # psutil has no sensors_temperatures on some platforms (Windows, some BSDs).
        read_temperatures = getattr(psutil, "sensors_temperatures", None)
        if read_temperatures is None:
            return SensorReadings()
        try:
            chips = read_temperatures()
        except OSError as exc:
            log.warning("temperature sensors unreadable (%s); health goes without them", exc)
            return SensorReadings()
        temperatures: dict[str, float] = {}
        for chip, entries in chips.items():
            for index, entry in enumerate(entries):
                if entry.current is None or not math.isfinite(entry.current):
                    continue
                label = f"{chip}/{entry.label or index}"
                temperatures.setdefault(label, round(float(entry.current), 1))
        return SensorReadings(temperatures_c=temperatures)


class SimulatedSensors:
    """Plausible readings for demos and tests: fixed by ``seed``, drifting slowly with time."""

    name = "simulated"

    def __init__(self, seed: str, clock: Callable[[], float] = time.time) -> None:
        # A stable digest, not hash(): str hashes change between Python runs.
        digest = hashlib.sha256(seed.encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        self._clock = clock
        self._probes = [
            (label, typical + rng.uniform(-spread, spread), rng.uniform(0, 2 * math.pi))
            for label, typical, spread in _SIMULATED_PROBES
        ]
        # Each unit breathes with its own period, so a simulated fleet does not move in step.
        self._period_s = rng.uniform(300.0, 900.0)

    def read(self) -> SensorReadings:
        now = self._clock()
        temperatures = {
            label: round(base + 1.5 * math.sin(2 * math.pi * now / self._period_s + phase), 1)
            for label, base, phase in self._probes
        }
        return SensorReadings(temperatures_c=temperatures)
