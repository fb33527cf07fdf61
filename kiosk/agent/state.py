"""What the agent keeps between runs (sequence counters) and the identity of this boot."""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
import zlib
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

BOOT_ID_PATH: Final = Path("/proc/sys/kernel/random/boot_id")


def read_boot_id(path: Path = BOOT_ID_PATH) -> str:
    """The kernel's id of this boot (lets the fleet tell a reboot from a reconnect), else random."""
    try:
        boot_id = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        log.info("no kernel boot id (%s); using a random one for this run", exc)
        boot_id = ""
    return boot_id or str(uuid.uuid4())


#: The counter file: two slots of this many bytes, each ``<value> <crc32>``, written in turn.
SLOT_BYTES: Final = 32
_SLOT_RE: Final = re.compile(rb"^(\d{20}) ([0-9a-f]{8}) *\n$")


def _slot(value: int) -> bytes:
    digits = f"{value:020d}"
    line = f"{digits} {zlib.crc32(digits.encode()):08x}"
    return (line.ljust(SLOT_BYTES - 1) + "\n").encode("ascii")


def _read_slot(data: bytes) -> int | None:
    found = _SLOT_RE.match(data)
    if found is None or int(found[2], 16) != zlib.crc32(found[1]):
        return None
    return int(found[1])


class PersistentCounter:
    """A counter that only goes up and, given a file, goes on from where the last run stopped.

    Every value is on disk before it is handed out, so it never goes back across a restart or a
    power cut, even on a full disk: the file holds two fixed slots, written in turn in place
    (no new block to allocate, unlike a temporary file and a rename), each with a checksum,
    so that a write torn by a power cut spoils one slot and the other still holds the value
    before it (which was handed out; the torn one was not).
    """

    def __init__(self, path: Path | None, at_least: int = 0) -> None:
        """Load the last value from ``path``; raise ``OSError`` if its directory cannot be made.

        ``at_least``: where to go on from when the file says less (a counter that replaces
        another one must not go back below it).
        """
        self._path = path
        self._lock = threading.Lock()
        self._descriptor: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._value = max(self._load(), at_least)
        if path is not None:
            self._descriptor = self._open_slots(path)

    @property
    def value(self) -> int:
        """The last value handed out (0 before the first)."""
        return self._value

    def next(self) -> int:
        """The next value, written to disk before it is handed out."""
        with self._lock:
            self._value += 1
            self._save()
            return self._value

    def close(self) -> None:
        with self._lock:
            if self._descriptor is not None:
                os.close(self._descriptor)
                self._descriptor = None

    def _load(self) -> int:
        if self._path is None:
            return 0
        try:
            data = self._path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            log.error("counter file %s unreadable (%s); counting again from 0", self._path, exc)
            return 0
        slots = [_read_slot(data[i : i + SLOT_BYTES]) for i in (0, SLOT_BYTES)]
        values = [value for value in slots if value is not None]
        if values:
            return max(values)
        try:
            # The format of earlier versions: the number alone.
            return max(0, int(data.decode("ascii").strip()))
        except (UnicodeDecodeError, ValueError):
            log.error(
                "counter file %s holds %r, not a number; counting from 0", self._path, data[:40]
            )
            return 0

    def _open_slots(self, path: Path) -> int | None:
        """The file's descriptor, made in the slot format first if it is not (a temporary file
        and a rename, the only write that needs free space)."""
        try:
            if path.exists() and path.stat().st_size == 2 * SLOT_BYTES:
                data = path.read_bytes()
                if any(_read_slot(data[i : i + SLOT_BYTES]) is not None for i in (0, SLOT_BYTES)):
                    return os.open(path, os.O_RDWR | os.O_CLOEXEC)
            partial = path.with_name(path.name + ".partial")
            with partial.open("wb") as counter_file:
                counter_file.write(_slot(self._value) * 2)
                counter_file.flush()
                os.fsync(counter_file.fileno())
            os.replace(partial, path)
            return os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError as exc:
            log.error(
                "cannot prepare counter file %s (%s); counting in memory, it may restart lower",
                path,
                exc,
            )
            return None

    def _save(self) -> None:
        if self._path is None:
            return
        if self._descriptor is None:
            self._descriptor = self._open_slots(self._path)
            if self._descriptor is None:
                return
        try:
            os.pwrite(self._descriptor, _slot(self._value), (self._value % 2) * SLOT_BYTES)
            os.fsync(self._descriptor)
        except OSError as exc:
            # Keep counting in memory: losing persistence is better than losing health reports.
            log.error("cannot save counter to %s (%s); it may restart lower", self._path, exc)
