"""Health reports: valid by the contract, with real disks only."""

from __future__ import annotations

import sys
from typing import NamedTuple

import psutil

from kiosk.agent.health import HealthExtras, collect_health, prime_cpu_percent, select_partitions
from kiosk.agent.messages import Enclosure, UiState  # what the agent's parts hand it
from kiosk.agent.sensors import PsutilSensors, SimulatedSensors, read_clock_state
from kiosk.contract.mqtt import Channel, Health, decode
from tests.agent.same_json import same_json


class Partition(NamedTuple):
    device: str
    mountpoint: str
    fstype: str


def test_health_round_trips_through_the_contract() -> None:
    prime_cpu_percent()
    health = collect_health(7, SimulatedSensors(seed="bdx-test-a"))
    decoded = decode(Channel.HEALTH, health.to_bytes())
    assert same_json(decoded, health)
    assert isinstance(decoded, Health)
    assert decoded.seq == 7
    assert decoded.uptime_s > 0
    assert decoded.memory_total_bytes > 0
    assert set(decoded.temperatures_c) == {"cpu", "board", "enclosure"}
    # Every real file system the kernel lists; a chroot or a container may list none at all
    # (its "/" is not a mount point there), so compare with psutil rather than expect "/".
    listed = select_partitions(psutil.disk_partitions(all=False))
    assert {disk.mount for disk in decoded.disks} <= set(listed)
    assert len(decoded.disks) == len([m for m in listed if _readable(m)])


def _readable(mount: str) -> bool:
    try:
        psutil.disk_usage(mount)
    except OSError:
        return False
    return True


def test_health_with_the_machine_sensors() -> None:
    health = collect_health(1, PsutilSensors())
    assert same_json(decode(Channel.HEALTH, health.to_bytes()), health)


def test_partitions_skip_pseudo_filesystems_and_repeated_devices() -> None:
    partitions = [
        Partition("/dev/sda2", "/var/lib/docker/bind", "ext4"),
        Partition("/dev/sda2", "/", "ext4"),
        Partition("/dev/sda1", "/boot/efi", "vfat"),
        Partition("tmpfs", "/run", "tmpfs"),
        Partition("/dev/loop0", "/snap/core/1", "squashfs"),
        Partition("overlay", "/var/lib/containers/x", "overlay"),
    ]
    assert select_partitions(partitions) == ["/", "/boot/efi"]


def test_network_interfaces_and_clock() -> None:
    health = collect_health(1, SimulatedSensors(seed="bdx-test-a"))
    assert all(interface.name != "lo" for interface in health.net)
    assert all(
        interface.up or interface.bytes_sent + interface.bytes_recv for interface in health.net
    )
    assert health.sent_at.microsecond == 0


def test_clock_state_is_read_only_and_plausible() -> None:
    clock = read_clock_state()
    if not sys.platform.startswith("linux"):
        assert clock is None
        return
    assert clock is not None
    # An offset of more than an hour would mean the struct layout is wrong.
    assert abs(clock.offset_ms) < 3_600_000
    assert isinstance(clock.synced, bool)


def test_extras_are_merged() -> None:
    extras = HealthExtras(ui=UiState(alive=False), enclosure=Enclosure(door_open=True))
    health = collect_health(1, SimulatedSensors(seed="bdx-test-a"), extras, dropped_samples=3)
    assert health.ui == UiState(alive=False)
    assert health.enclosure == Enclosure(door_open=True)
    assert health.dropped_samples == 3


def test_no_clock_state_when_the_clock_source_is_none() -> None:
    """``[sensors] clock = "none"``: health says nothing of the clock (not "unsynchronised")."""
    health = collect_health(1, SimulatedSensors(seed="bdx-test-a"), read_clock=lambda: None)
    assert health.clock_synced is None
    assert health.clock_offset_ms is None
    assert same_json(decode(Channel.HEALTH, health.to_bytes()), health)
