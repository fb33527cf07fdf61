"""One health report of this terminal, from psutil and the sensor backend."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from typing import Final, Protocol

import psutil

from kiosk.agent.sensors import SensorBackend
from kiosk.contract import Disk, Health, utc_now

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


def collect_health(seq: int, sensors: SensorBackend) -> Health:
    """A :class:`Health` report numbered ``seq``; never blocks (CPU is measured since last call)."""
    memory = psutil.virtual_memory()
    return Health(
        seq=seq,
        sent_at=utc_now(),
        uptime_s=max(0.0, time.time() - psutil.boot_time()),
        cpu_percent=_percent(psutil.cpu_percent(interval=None)),
        load_1m=_load_1m(),
        memory_percent=_percent(memory.percent),
        memory_total_bytes=memory.total,
        disks=_disks(),
        temperatures_c=_temperatures(sensors),
    )


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
        disks.append(Disk(mount=mount, total_bytes=usage.total, used_percent=usage.percent))
    return disks


def _load_1m() -> float | None:
    try:
        load = float(psutil.getloadavg()[0])
    except (OSError, AttributeError):
        return None
    return max(0.0, load)


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
