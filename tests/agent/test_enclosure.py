"""Enclosure sensors: a fake sysfs tree (real files) and the deterministic simulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.agent.enclosure import (
    EnclosureBackend,
    EnclosurePaths,
    SimulatedEnclosure,
    SysfsEnclosure,
)
from kiosk.agent.messages import Enclosure


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="ascii")
    return path


@pytest.fixture
def sysfs(tmp_path: Path) -> EnclosurePaths:
    write(tmp_path / "backlight" / "intel_backlight" / "brightness", "600\n")
    write(tmp_path / "backlight" / "intel_backlight" / "max_brightness", "1200\n")
    return EnclosurePaths(
        door_gpio=write(tmp_path / "gpio17" / "value", "0\n"),
        temperature=write(tmp_path / "hwmon0" / "temp1_input", "23456\n"),
        humidity=write(tmp_path / "hwmon0" / "humidity1_input", "61500\n"),
        backlight_root=tmp_path / "backlight",
    )


def test_sysfs_readings_are_converted(sysfs: EnclosurePaths) -> None:
    backend: EnclosureBackend = SysfsEnclosure(sysfs, "bdx-test-a")
    assert backend.read() == Enclosure(
        door_open=False, temperature_c=23.5, humidity_percent=61.5, backlight_percent=50.0
    )
    assert sysfs.door_gpio is not None
    write(sysfs.door_gpio, "1\n")
    assert backend.read().door_open is True


def test_missing_or_bad_files_give_none_and_are_logged_once(
    tmp_path: Path, sysfs: EnclosurePaths, caplog: pytest.LogCaptureFixture
) -> None:
    assert sysfs.temperature is not None
    assert sysfs.humidity is not None
    sysfs.temperature.unlink()
    write(sysfs.humidity, "wet\n")
    paths = EnclosurePaths(
        door_gpio=sysfs.door_gpio,
        temperature=sysfs.temperature,
        humidity=sysfs.humidity,
        backlight_root=tmp_path / "no-backlight",
    )
    backend = SysfsEnclosure(paths, "bdx-test-a")
    for _ in range(3):
        reading = backend.read()
    assert reading == Enclosure(door_open=False)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 3  # temperature, humidity, backlight: once each
    assert all("bdx-test-a" in warning for warning in warnings)
    # A sensor that comes back is read again, and logged again if it fails later.
    write(sysfs.temperature, "-1500\n")
    assert backend.read().temperature_c == -1.5


def test_an_explicit_backlight_and_a_zero_maximum(tmp_path: Path) -> None:
    device = tmp_path / "panel"
    write(device / "brightness", "7\n")
    write(device / "max_brightness", "0\n")
    assert SysfsEnclosure(EnclosurePaths(backlight=device)).read().backlight_percent is None
    write(device / "max_brightness", "7\n")
    assert SysfsEnclosure(EnclosurePaths(backlight=device)).read().backlight_percent == 100.0


def test_out_of_range_humidity_is_not_reported(tmp_path: Path) -> None:
    humidity = write(tmp_path / "humidity1_input", "250000\n")
    assert SysfsEnclosure(EnclosurePaths(humidity=humidity)).read().humidity_percent is None


def test_the_simulation_is_deterministic_and_plausible() -> None:
    assert SimulatedEnclosure(seed=7).read() == SimulatedEnclosure(seed=7).read()
    assert SimulatedEnclosure(seed=7).read() != SimulatedEnclosure(seed=8).read()
    enclosure = SimulatedEnclosure(seed=7)
    readings = [enclosure.read() for _ in range(200)]
    assert all(r.door_open is False for r in readings)
    temperatures = [r.temperature_c for r in readings if r.temperature_c is not None]
    assert len(set(temperatures)) > 1
    assert all(-10.0 <= t <= 45.0 for t in temperatures)


def test_the_simulated_door_opens_on_demand() -> None:
    enclosure = SimulatedEnclosure(seed=1)
    enclosure.open_door()
    assert enclosure.read().door_open is True
    enclosure.close_door()
    enclosure.set_backlight(30)
    reading = enclosure.read()
    assert reading.door_open is False
    assert reading.backlight_percent == 30
