"""Where sensor readings come from: the real hardware (psutil) or a deterministic simulation.

Readings are one :class:`SensorReadings` value so that door, humidity or backlight sensors can be
added later as new optional fields without changing the backends that do not have them.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import math
import random
import sys
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


# ------------------------------------------------------------------------------------------------
# The kernel clock's discipline, read-only


@dataclass(frozen=True, slots=True)
class ClockState:
    """How far the kernel thinks its clock is from true time, and whether NTP keeps it so."""

    offset_ms: float
    synced: bool


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h> (Linux); ctypes adds the same padding as the C compiler.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("reserved", ctypes.c_int * 11),
    ]


_TIME_ERROR: Final = 5
_STA_UNSYNC: Final = 0x0040
_STA_NANO: Final = 0x2000


def read_clock_state() -> ClockState | None:
    """The kernel's clock offset and sync state via ``adjtimex`` (``modes=0``: read only).

    None where there is no ``adjtimex`` (not Linux) or the call fails.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        adjtimex = ctypes.CDLL(None, use_errno=True).adjtimex
    except (OSError, AttributeError):
        return None
    timex = _Timex()  # all zero, so modes=0: nothing is changed
    state = adjtimex(ctypes.byref(timex))
    if state < 0:
        log.debug("adjtimex failed (errno %d); clock state left out", ctypes.get_errno())
        return None
    unit_ms = 1e-6 if timex.status & _STA_NANO else 1e-3
    synced = state != _TIME_ERROR and not timex.status & _STA_UNSYNC
    return ClockState(offset_ms=round(timex.offset * unit_ms, 3), synced=synced)
