"""Persistent counters and the boot id."""

from __future__ import annotations

import uuid
from pathlib import Path

from kiosk.agent.state import SLOT_BYTES, PersistentCounter, read_boot_id


def test_counter_goes_on_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "health.seq"
    counter = PersistentCounter(path)
    assert [counter.next() for _ in range(3)] == [1, 2, 3]
    assert PersistentCounter(path).next() == 4
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_counter_of_an_earlier_version_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "message.seq"
    path.write_text("41\n")  # the format before the two slots
    counter = PersistentCounter(path)
    assert counter.next() == 42
    assert PersistentCounter(path).next() == 43


def test_a_torn_write_spoils_one_slot_and_the_value_before_survives(tmp_path: Path) -> None:
    path = tmp_path / "message.seq"
    counter = PersistentCounter(path)
    for _ in range(5):
        counter.next()
    counter.close()
    data = bytearray(path.read_bytes())
    # 5 went to slot 1; tear it (a power cut in the middle of the write of 5).
    data[SLOT_BYTES + 3 : SLOT_BYTES + 9] = b"\x00garb"
    path.write_bytes(bytes(data))
    assert PersistentCounter(path).next() == 5  # 4 survived; 5 was never handed out then


def test_counter_goes_on_on_a_full_disk(tmp_path: Path) -> None:
    """The slots are written in place: no block to allocate once the file exists."""
    path = tmp_path / "message.seq"
    counter = PersistentCounter(path)
    counter.next()
    size = path.stat().st_size
    for _ in range(100):
        counter.next()
    assert path.stat().st_size == size
    counter.close()
    assert PersistentCounter(path).next() == 102


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
