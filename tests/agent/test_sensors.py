"""Sensor backends: the simulation is deterministic and plausible; psutil never fails."""

from __future__ import annotations

from kiosk.agent.sensors import PsutilSensors, SensorBackend, SimulatedSensors


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_simulated_sensors_are_deterministic() -> None:
    clock = Clock(1_000_000.0)
    first = SimulatedSensors("bdx-test-a", clock).read()
    again = SimulatedSensors("bdx-test-a", clock).read()
    other = SimulatedSensors("bdx-test-b", clock).read()
    assert first == again
    assert first != other


def test_simulated_sensors_drift_a_little() -> None:
    clock = Clock(1_000_000.0)
    sensors = SimulatedSensors("bdx-test-a", clock)
    readings = []
    for step in range(20):
        clock.now = 1_000_000.0 + step * 60
        readings.append(sensors.read().temperatures_c)
    assert len({tuple(r.values()) for r in readings}) > 1
    for label in ("cpu", "board", "enclosure"):
        values = [r[label] for r in readings]
        assert max(values) - min(values) <= 3.0
        assert all(-10.0 < value < 90.0 for value in values)


def test_psutil_sensors_give_floats() -> None:
    backend: SensorBackend = PsutilSensors()
    assert backend.name == "psutil"
    for label, value in backend.read().temperatures_c.items():
        assert label
        assert isinstance(value, float)
