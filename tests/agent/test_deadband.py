"""When a health sample is published: deadbands, interval, maximum silence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kiosk.agent.health import PublishReason, publish_reason
from kiosk.contract.mqtt import Disk, Enclosure, Health, NetInterface, UiState

INTERVAL_S = 60.0
SILENCE_S = 900.0


def _health(**changes: Any) -> Health:
    values: dict[str, Any] = {
        "seq": 1,
        "sent_at": datetime(2026, 1, 1, tzinfo=UTC),
        "uptime_s": 100.0,
        "cpu_percent": 20.0,
        "load_1m": 0.5,
        "memory_percent": 40.0,
        "memory_total_bytes": 4 << 30,
        "disks": [Disk(mount="/", total_bytes=1 << 35, used_percent=50.0)],
        "temperatures_c": {"cpu": 50.0},
        "net": [NetInterface(name="wwan0", up=True, bytes_sent=1, bytes_recv=1)],
        "clock_offset_ms": 1.0,
        "clock_synced": True,
        "ui": UiState(alive=True),
        "enclosure": Enclosure(door_open=False),
    }
    values.update(changes)
    return Health(**values)


def _reason(last: Health | None, current: Health, since_s: float) -> PublishReason | None:
    return publish_reason(last, current, since_s, INTERVAL_S, SILENCE_S)


def test_first_sample_is_published() -> None:
    assert _reason(None, _health(), 0) is PublishReason.FIRST


@pytest.mark.parametrize(
    "changes",
    [
        {"cpu_percent": 35.0},
        {"cpu_percent": 5.0},
        {"memory_percent": 45.0},
        {"disks": [Disk(mount="/", total_bytes=1 << 35, used_percent=52.0)]},
        {"disks": []},
        {"temperatures_c": {"cpu": 53.0}},
        {"temperatures_c": {"cpu": 50.0, "gpu": 40.0}},
        {"net": [NetInterface(name="wwan0", up=False, bytes_sent=1, bytes_recv=1)]},
        {"clock_synced": False},
        {"ui": UiState(alive=False)},
        {"ui": UiState(alive=True, last_wipe_ok=False)},
        {"enclosure": Enclosure(door_open=True)},
        {"enclosure": Enclosure(door_open=False, temperature_c=70.0)},
    ],
)
def test_beyond_a_deadband_goes_at_once(changes: dict[str, Any]) -> None:
    assert _reason(_health(), _health(**changes), 1.0) is PublishReason.DEADBAND


@pytest.mark.parametrize(
    "changes",
    [
        {"cpu_percent": 34.0},
        {"memory_percent": 44.0},
        {"disks": [Disk(mount="/", total_bytes=1 << 35, used_percent=51.5)]},
        {"temperatures_c": {"cpu": 52.0}},
        {"ui": UiState(alive=True, sessions_total=3)},
        {"dropped_samples": 4},
    ],
)
def test_within_deadband_waits_for_the_interval(changes: dict[str, Any]) -> None:
    last, current = _health(), _health(**changes)
    assert _reason(last, current, INTERVAL_S - 1) is None
    assert _reason(last, current, INTERVAL_S) is PublishReason.INTERVAL


def test_noise_is_not_a_change() -> None:
    # Counters, uptime and tiny moves do not make a sample worth sending.
    current = _health(
        uptime_s=5000.0,
        cpu_percent=21.0,
        temperatures_c={"cpu": 50.5},
        net=[NetInterface(name="wwan0", up=True, bytes_sent=9999, bytes_recv=9999)],
    )
    assert _reason(_health(), current, INTERVAL_S * 5) is None
    assert _reason(_health(), current, SILENCE_S) is PublishReason.SILENCE


def test_silence_is_broken_even_without_change() -> None:
    assert _reason(_health(), _health(), SILENCE_S - 1) is None
    assert _reason(_health(), _health(), SILENCE_S) is PublishReason.SILENCE
