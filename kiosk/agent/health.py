"""Health of this terminal: one sample from psutil and the sensors, and when to publish it.

Samples are taken often and published rarely: :func:`publish_reason` publishes at once what
moved beyond its deadband (:data:`DEADBANDS`), otherwise at most every ``interval_s`` if
anything moved beyond its noise floor (:data:`NOISE_FLOORS`), and at least every
``max_silence_s``. docs/agent.md has the table.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

import psutil

from kiosk.agent.messages import Disk, Enclosure, Health, NetInterface, UiState
from kiosk.agent.sensors import ClockState, SensorBackend, read_clock_state
from kiosk.contract.wire import utc_now

log = logging.getLogger(__name__)

#: File systems that are not storage we could run out of.
PSEUDO_FILESYSTEMS: Final = frozenset(
    {"tmpfs", "devtmpfs", "squashfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2",
     "devpts", "debugfs", "tracefs", "securityfs", "pstore", "bpf", "autofs", "mqueue",
     "hugetlbfs", "configfs", "fusectl", "nsfs", "ramfs", "efivarfs", "iso9660"}
)  # fmt: skip
# The contract's limits: more would make the whole report invalid.
MAX_DISKS: Final = 16
MAX_TEMPERATURES: Final = 32
MAX_LABEL_CHARS: Final = 200
MAX_INTERFACES: Final = 16
#: Interfaces that say nothing about the terminal's link.
IGNORED_INTERFACES: Final = frozenset({"lo"})


@dataclass(frozen=True, slots=True)
class HealthExtras:
    """What other parts of the agent add to each sample: the UI's and the enclosure's state."""

    ui: UiState | None = None
    enclosure: Enclosure | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How much each value must move to count: percentage points, °C, milliseconds."""

    cpu_percent: float
    memory_percent: float
    disk_percent: float
    temperature_c: float
    load_1m: float
    clock_offset_ms: float
    humidity_percent: float
    backlight_percent: float


#: Beyond these a sample is published at once.
DEADBANDS: Final = Thresholds(
    cpu_percent=15.0,
    memory_percent=5.0,
    disk_percent=2.0,
    temperature_c=3.0,
    load_1m=2.0,
    clock_offset_ms=500.0,
    humidity_percent=10.0,
    backlight_percent=20.0,
)
#: Below these a change is noise: a sample that moved only this little waits for max_silence_s.
NOISE_FLOORS: Final = Thresholds(
    cpu_percent=3.0,
    memory_percent=1.0,
    disk_percent=0.5,
    temperature_c=1.0,
    load_1m=0.25,
    clock_offset_ms=50.0,
    humidity_percent=2.0,
    backlight_percent=5.0,
)


class PublishReason(StrEnum):
    FIRST = "first"
    DEADBAND = "deadband"
    INTERVAL = "interval"
    SILENCE = "silence"


class Partition(Protocol):
    """What we use of a ``psutil.disk_partitions()`` entry."""

    @property
    def device(self) -> str: ...
    @property
    def mountpoint(self) -> str: ...
    @property
    def fstype(self) -> str: ...


def prime_cpu_percent() -> None:
    """Start psutil's CPU measurement, so that the first report measures since now, not zero."""
    psutil.cpu_percent(interval=None)


def collect_health(
    seq: int,
    sensors: SensorBackend,
    extras: HealthExtras | None = None,
    dropped_samples: int = 0,
    read_clock: Callable[[], ClockState | None] = read_clock_state,
) -> Health:
    """A :class:`Health` report numbered ``seq``; never blocks (CPU is measured since last call)."""
    memory = psutil.virtual_memory()
    clock = read_clock()
    extras = extras or HealthExtras()
    # Rounded: the wire pays for every digit, and the deadbands are far coarser.
    return Health(
        seq=seq,
        # Whole seconds: seq already tells samples apart, and the digits cost on every sample.
        sent_at=utc_now().replace(microsecond=0),
        uptime_s=round(max(0.0, time.time() - psutil.boot_time())),
        cpu_percent=round(_percent(psutil.cpu_percent(interval=None)), 1),
        load_1m=_load_1m(),
        memory_percent=round(_percent(memory.percent), 1),
        memory_total_bytes=memory.total,
        disks=_disks(),
        temperatures_c=_temperatures(sensors),
        net=_interfaces(),
        clock_offset_ms=None if clock is None else round(clock.offset_ms, 1),
        clock_synced=None if clock is None else clock.synced,
        ui=extras.ui,
        enclosure=extras.enclosure,
        dropped_samples=dropped_samples,
    )


def publish_reason(
    last: Health | None,
    current: Health,
    since_last_s: float,
    interval_s: float,
    max_silence_s: float,
) -> PublishReason | None:
    """Why ``current`` must be published now, given the last published sample; None: not now."""
    if last is None:
        return PublishReason.FIRST
    if _moved(last, current, DEADBANDS):
        return PublishReason.DEADBAND
    if since_last_s >= max_silence_s:
        return PublishReason.SILENCE
    if since_last_s >= interval_s and (
        _moved(last, current, NOISE_FLOORS)
        or current.dropped_samples != last.dropped_samples
        or _ui_counters(current) != _ui_counters(last)
    ):
        return PublishReason.INTERVAL
    return None


def _moved(last: Health, current: Health, limits: Thresholds) -> bool:
    """True if a value moved by ``limits`` or more, or a state flipped (always news)."""

    def beyond(old: float | None, new: float | None, limit: float) -> bool:
        if old is None or new is None:
            return (old is None) != (new is None)
        return abs(new - old) >= limit

    if _states(last) != _states(current):
        return True
    if beyond(last.cpu_percent, current.cpu_percent, limits.cpu_percent):
        return True
    if beyond(last.memory_percent, current.memory_percent, limits.memory_percent):
        return True
    if beyond(last.load_1m, current.load_1m, limits.load_1m):
        return True
    if beyond(last.clock_offset_ms, current.clock_offset_ms, limits.clock_offset_ms):
        return True
    old_disks = {d.mount: d.used_percent for d in last.disks}
    new_disks = {d.mount: d.used_percent for d in current.disks}
    if old_disks.keys() != new_disks.keys() or any(
        beyond(old_disks[m], new_disks[m], limits.disk_percent) for m in new_disks
    ):
        return True
    old_temps, new_temps = _all_temperatures(last), _all_temperatures(current)
    if old_temps.keys() != new_temps.keys() or any(
        beyond(old_temps[k], new_temps[k], limits.temperature_c) for k in new_temps
    ):
        return True
    old_box, new_box = last.enclosure or Enclosure(), current.enclosure or Enclosure()
    return beyond(
        old_box.humidity_percent, new_box.humidity_percent, limits.humidity_percent
    ) or beyond(old_box.backlight_percent, new_box.backlight_percent, limits.backlight_percent)


def _states(health: Health) -> tuple[object, ...]:
    """The on/off facts whose every change is news: links, clock sync, UI alive, wipe, door."""
    ui = health.ui
    return (
        tuple(sorted((i.name, i.up) for i in health.net)),
        health.clock_synced,
        None if ui is None else (ui.alive, ui.last_wipe_ok, ui.last_wipe_at),
        None if health.enclosure is None else health.enclosure.door_open,
    )


def _ui_counters(health: Health) -> tuple[object, ...]:
    ui = health.ui
    return () if ui is None else (ui.session_open, ui.sessions_total)


def _all_temperatures(health: Health) -> dict[str, float]:
    temperatures = dict(health.temperatures_c)
    if health.enclosure is not None and health.enclosure.temperature_c is not None:
        temperatures["enclosure.probe"] = health.enclosure.temperature_c
    return temperatures


def select_partitions(partitions: Iterable[Partition]) -> list[str]:
    """Mount points worth reporting: real file systems, each device once (bind mounts repeat)."""
    chosen: dict[str, str] = {}
    for partition in partitions:
        if partition.fstype in PSEUDO_FILESYSTEMS or not partition.device:
            continue
        if len(partition.mountpoint) > MAX_LABEL_CHARS:
            continue
        known = chosen.get(partition.device)
        # Of the mounts of one device, the shortest path is the one people know ("/", "/var").
        if known is None or len(partition.mountpoint) < len(known):
            chosen[partition.device] = partition.mountpoint
    return sorted(chosen.values())[:MAX_DISKS]


def _disks() -> list[Disk]:
    disks = []
    for mount in select_partitions(psutil.disk_partitions(all=False)):
        try:
            usage = psutil.disk_usage(mount)
        except OSError as exc:
            log.debug("disk %s left out of health: %s", mount, exc)
            continue
        disks.append(
            Disk(mount=mount, total_bytes=usage.total, used_percent=round(usage.percent, 1))
        )
    return disks


def _load_1m() -> float | None:
    try:
        load = float(psutil.getloadavg()[0])
    except (OSError, AttributeError):
        return None
    return round(max(0.0, load), 2)


def _interfaces() -> list[NetInterface]:
    """Each network interface but loopback: up or down, and its byte counters."""
    try:
        stats = psutil.net_if_stats()
        counters = psutil.net_io_counters(pernic=True)
    except OSError as exc:
        log.debug("network interfaces left out of health: %s", exc)
        return []
    interfaces = []
    for name in sorted(stats):
        if name in IGNORED_INTERFACES or len(name) > MAX_LABEL_CHARS:
            continue
        io = counters.get(name)
        # An interface that is down and never carried a byte (ifb, dummy, an unplugged spare)
        # says nothing but costs bytes in every report; one that goes down later still shows.
        if not stats[name].isup and (io is None or io.bytes_sent + io.bytes_recv == 0):
            continue
        interfaces.append(
            NetInterface(
                name=name,
                up=bool(stats[name].isup),
                bytes_sent=io.bytes_sent if io else 0,
                bytes_recv=io.bytes_recv if io else 0,
            )
        )
    return interfaces[:MAX_INTERFACES]


def _temperatures(sensors: SensorBackend) -> dict[str, float]:
    readings = sensors.read().temperatures_c
    valid = {
        label[:MAX_LABEL_CHARS]: value
        for label, value in sorted(readings.items())
        if math.isfinite(value)
    }
    return dict(list(valid.items())[:MAX_TEMPERATURES])


def _percent(value: float) -> float:
    # psutil may round slightly outside 0..100 on some kernels; the contract refuses that.
    return min(100.0, max(0.0, value))
