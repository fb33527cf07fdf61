"""What the agent keeps between runs (sequence counters) and the identity of this boot."""

from __future__ import annotations

import logging
import os
import threading
import uuid
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


class PersistentCounter:
    """A counter that only goes up and, given a file, goes on from where the last run stopped."""

    def __init__(self, path: Path | None, at_least: int = 0) -> None:
        """Load the last value from ``path``; raise ``OSError`` if its directory cannot be made.

        ``at_least``: where to go on from when the file says less (a counter that replaces
        another one must not go back below it).
        """
        self._path = path
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._value = max(self._load(), at_least)

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

    def _load(self) -> int:
        if self._path is None:
            return 0
        try:
            text = self._path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        except (OSError, UnicodeDecodeError) as exc:
            log.error("counter file %s unreadable (%s); counting again from 0", self._path, exc)
            return 0
        try:
            return max(0, int(text))
        except ValueError:
            log.error("counter file %s holds %r, not a number; counting from 0", self._path, text)
            return 0

    def _save(self) -> None:
        if self._path is None:
            return
        # Temporary file + rename: a power cut leaves the old value or the new one, never half.
        partial = self._path.with_name(self._path.name + ".partial")
        try:
            with partial.open("w", encoding="ascii") as counter_file:
                counter_file.write(f"{self._value}\n")
                counter_file.flush()
                os.fsync(counter_file.fileno())
            os.replace(partial, self._path)
        except OSError as exc:
            # Keep counting in memory: losing persistence is better than losing health reports.
            log.error("cannot save counter to %s (%s); it may restart lower", self._path, exc)
