"""Persistent counters and the boot id."""

from __future__ import annotations

import uuid
from pathlib import Path

from kiosk.agent.state import PersistentCounter, read_boot_id


def test_counter_goes_on_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "health.seq"
    counter = PersistentCounter(path)
    assert [counter.next() for _ in range(3)] == [1, 2, 3]
    assert path.read_text().strip() == "3"
    assert PersistentCounter(path).next() == 4
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_counter_in_memory_only() -> None:
    counter = PersistentCounter(None)
    assert counter.next() == 1
    assert counter.value == 1


def test_corrupt_counter_starts_again(tmp_path: Path) -> None:
    path = tmp_path / "health.seq"
    path.write_text("not a number")
    assert PersistentCounter(path).next() == 1


def test_boot_id(tmp_path: Path) -> None:
    fake = tmp_path / "boot_id"
    fake.write_text("d6baeaba-f17a-4e71-b1bd-21fab4bf6742\n")
    assert read_boot_id(fake) == "d6baeaba-f17a-4e71-b1bd-21fab4bf6742"
    random_id = read_boot_id(tmp_path / "missing")
    assert uuid.UUID(random_id)
