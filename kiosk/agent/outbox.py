"""Store-and-forward: every health sample, event and command ack waits here until the broker has it.

Messages are kept in a bounded SQLite database (WAL) in the agent's state directory, so that a
flaky 4G link, an agent restart or a power cut loses nothing. A message leaves the queue only
when the broker acknowledges it (PUBACK, QoS 1); until then it is sent again after every
reconnection, and the fleet de-duplicates by (terminal, seq, sent_at).

``synchronous=FULL``: with WAL, NORMAL survives a crash of the agent but may lose the last
transactions on a power cut, which street furniture gets. FULL costs one fsync per message
(a few thousand a day at default settings), which neither the CPU nor the flash notice.

When the directory cannot be used (full, read-only, missing) the queue carries on in memory,
says so once (:meth:`Outbox.take_degraded_notice`), and moves back to disk, in order, as soon as
the directory can be written again. A message keeps its identity (:attr:`Entry.key`, from its
bytes, which hold its own ``seq``) through these moves, so that it is sent once: the drain
skips what it already sent, and an acknowledgement removes the message wherever it now is.

Over 400 lines because the store, its bounds and its drain are one guarantee (nothing lost,
oldest health dropped first): the SQL and the rules that choose what to drop belong together.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Final

from kiosk.contract.wire import Channel

log = logging.getLogger(__name__)

DATABASE_NAME: Final = "outbox.sqlite3"
#: How often a degraded queue tries its directory again.
RECOVERY_RETRY_S: Final = 5.0

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    payload BLOB NOT NULL,
    created_at REAL NOT NULL
)
"""


class Kind(StrEnum):
    """What a queued message is; decides what goes first when the queue is full."""

    HEALTH = "health"
    EVENT = "event"
    ACK = "ack"


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    """Bounds of the queue: rows, bytes of payload, and age."""

    max_rows: int = 20_000
    max_bytes: int = 16 * 1024 * 1024
    max_age_s: float = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Entry:
    """One queued message; ``on_disk`` and ``id`` say where it is now, :attr:`key` what it is."""

    on_disk: bool
    id: int
    kind: Kind
    channel: Channel
    payload: bytes
    created_at: float

    @property
    def key(self) -> bytes:
        """The message's identity, the same on disk and in memory (its bytes hold its seq)."""
        return message_key(self.payload)


def message_key(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


class _DiskStore:
    """The queue's SQLite table. Every method may raise ``sqlite3.Error``."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / DATABASE_NAME
        # Used from paho's thread (acks) and the agent's threads, always under Outbox._lock.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            self._db.execute("CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, id)")
        except sqlite3.Error:
            self._db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def totals(self) -> tuple[int, int]:
        rows, size = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox"
        ).fetchone()
        return int(rows), int(size)

    def insert(self, kind: Kind, channel: Channel, payload: bytes, created_at: float) -> None:
        self._db.execute(
            "INSERT INTO outbox (kind, channel, payload, created_at) VALUES (?, ?, ?, ?)",
            (kind.value, channel.value, payload, created_at),
        )

    def insert_many(self, entries: list[Entry]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO outbox (kind, channel, payload, created_at) VALUES (?, ?, ?, ?)",
                [(e.kind.value, e.channel.value, e.payload, e.created_at) for e in entries],
            )

    def head(self, limit: int) -> list[Entry]:
        rows = self._db.execute(
            "SELECT id, kind, channel, payload, created_at FROM outbox ORDER BY id LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            Entry(True, row_id, Kind(kind), Channel(channel), bytes(payload), created_at)
            for row_id, kind, channel, payload, created_at in rows
        ]

    def oldest(self, kinds: tuple[Kind, ...], limit: int) -> list[tuple[int, int, Kind]]:
        marks = ",".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT id, LENGTH(payload), kind FROM outbox WHERE kind IN ({marks}) "
            "ORDER BY id LIMIT ?",
            (*[k.value for k in kinds], limit),
        ).fetchall()
        return [(int(i), int(size), Kind(kind)) for i, size, kind in rows]

    def expired(self, before: float) -> list[tuple[int, int, Kind]]:
        rows = self._db.execute(
            "SELECT id, LENGTH(payload), kind FROM outbox WHERE created_at < ? ORDER BY id",
            (before,),
        ).fetchall()
        return [(int(i), int(size), Kind(kind)) for i, size, kind in rows]

    def delete_all(self) -> None:
        self._db.execute("DELETE FROM outbox")

    def delete_one(self, entry_id: int) -> bool:
        return self._db.execute("DELETE FROM outbox WHERE id = ?", (entry_id,)).rowcount > 0

    def delete_payload(self, payload: bytes) -> int:
        """Delete a message by its bytes (when its row id is not known); the size removed."""
        deleted = self._db.execute("DELETE FROM outbox WHERE payload = ?", (payload,)).rowcount
        return len(payload) * max(0, deleted)

    def delete(self, ids: list[int]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])


class Outbox:
    """The bounded, durable queue of one terminal's outgoing messages. Thread-safe."""

    def __init__(
        self,
        directory: Path | None,
        terminal_id: str,
        limits: OutboxLimits | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Open (or create) the queue in ``directory``; in memory only when it is None."""
        self._directory = directory
        self._terminal_id = terminal_id
        self._limits = limits or OutboxLimits()
        self._clock = clock
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._disk: _DiskStore | None = None
        self._memory: list[Entry] = []
        self._next_memory_id = 1
        self._disk_rows = 0
        self._disk_bytes = 0
        self._dropped = 0
        self._degraded_reason: str | None = None
        self._notice_pending = False
        self._next_recovery = 0.0
        # True when memory holds a copy of the table taken at the failure (see _degrade).
        self._replace_on_recovery = False
        # Acknowledged, but their rows could not be deleted (a full disk): key -> payload.
        # Never handed out again; deleted when the disk lets us.
        self._acked: dict[bytes, bytes] = {}
        if directory is not None:
            with self._lock:
                self._open_disk()

    # ------------------------------------------------------------------ public API

    @property
    def dropped(self) -> int:
        """Messages dropped because the queue was full or too old, since the agent started."""
        with self._lock:
            return self._dropped

    @property
    def degraded_reason(self) -> str | None:
        """Why the queue is in memory instead of on disk; None when all is well."""
        with self._lock:
            return self._degraded_reason

    @property
    def path(self) -> Path | None:
        """The database file, if the queue has a directory."""
        return None if self._directory is None else self._directory / DATABASE_NAME

    def __len__(self) -> int:
        with self._lock:
            return self._disk_rows + len(self._memory)

    def put(self, kind: Kind, channel: Channel, payload: bytes) -> None:
        """Queue one message (dropping the oldest health samples first if the queue is full)."""
        now = self._clock()
        with self._changed:
            self._maybe_recover()
            self._make_room(len(payload), now)
            if self._disk is not None:
                try:
                    self._disk.insert(kind, channel, payload, now)
                    self._disk_rows += 1
                    self._disk_bytes += len(payload)
                except sqlite3.Error as exc:
                    self._degrade(f"cannot write the queue: {exc}")
                else:
                    self._changed.notify_all()
                    return
            self._memory.append(Entry(False, self._next_memory_id, kind, channel, payload, now))
            self._next_memory_id += 1
            self._changed.notify_all()

    def head(self, limit: int) -> list[Entry]:
        """The ``limit`` oldest messages, in the order they were queued."""
        with self._lock:
            self._maybe_recover()
            entries: list[Entry] = []
            if self._disk is not None and self._disk_rows:
                try:
                    entries = self._disk.head(limit + len(self._acked))
                except sqlite3.Error as exc:
                    self._degrade(f"cannot read the queue: {exc}")
            if self._acked:
                entries = [e for e in entries if e.key not in self._acked]
            return (entries + self._memory)[:limit]

    def remove(self, entry: Entry) -> None:
        """Forget a message the broker acknowledged, wherever it is now (memory or disk, moved
        there since it was sent); nothing happens if it is already gone."""
        key = entry.key
        with self._lock:
            kept = [e for e in self._memory if e.key != key]
            if len(kept) != len(self._memory):
                self._memory = kept
                return
            if self._disk is None:
                return
            try:
                removed = entry.on_disk and self._disk.delete_one(entry.id)
                size = len(entry.payload) if removed else self._disk.delete_payload(entry.payload)
            except sqlite3.Error as exc:
                # Never handed out again in this run; deleted when the disk lets us (sent
                # again only after a restart before that, and de-duplicated by the fleet).
                self._acked[key] = entry.payload
                log.warning(
                    "terminal %s: acknowledged message not removed from the queue yet (%s); "
                    "it is not sent again",
                    self._terminal_id,
                    exc,
                )
                return
            if size:
                self._disk_rows -= 1
                self._disk_bytes -= size

    def wait_for_messages(self, timeout_s: float) -> bool:
        """Wait until the queue holds something or ``timeout_s`` passes; True if it does."""
        with self._changed:
            if self._disk_rows + len(self._memory) == 0:
                self._changed.wait(timeout_s)
            return self._disk_rows + len(self._memory) > 0

    def maintain(self) -> None:
        """Try the directory again if the queue is degraded (at most every few seconds), and
        delete the acknowledged messages a full disk kept."""
        with self._lock:
            self._maybe_recover()
            if self._acked and self._disk is not None:
                for key, payload in list(self._acked.items()):
                    try:
                        size = self._disk.delete_payload(payload)
                    except sqlite3.Error:
                        return
                    del self._acked[key]
                    if size:
                        self._disk_rows -= 1
                        self._disk_bytes -= size

    def take_degraded_notice(self) -> str | None:
        """The reason the queue fell back to memory, once per degradation; else None."""
        with self._lock:
            if not self._notice_pending:
                return None
            self._notice_pending = False
            return self._degraded_reason

    def close(self) -> None:
        """Close the database; messages not yet sent stay in it for the next run."""
        with self._lock:
            if self._disk is not None:
                self._disk.close()
                self._disk = None
            if self._memory and self._directory is not None:
                log.warning(
                    "terminal %s: %d queued messages held only in memory are lost at stop",
                    self._terminal_id,
                    len(self._memory),
                )

    # ------------------------------------------------------------------ internals (lock held)

    def _open_disk(self) -> bool:
        assert self._directory is not None
        try:
            store = _DiskStore(self._directory)
            rows, size = store.totals()
        except (OSError, sqlite3.Error) as exc:
            self._degrade(f"cannot open the queue in {self._directory}: {exc}")
            return False
        self._disk, self._disk_rows, self._disk_bytes = store, rows, size
        if rows:
            log.info(
                "terminal %s: %d messages waiting in the queue from before; they go first",
                self._terminal_id,
                rows,
            )
        return True

    def _degrade(self, reason: str, copy_disk: bool = True) -> None:
        """Carry on in memory. ``copy_disk``: take a copy of the table first (not when memory
        already holds it: a recovery that failed)."""
        if self._disk is not None and not copy_disk:
            self._disk.close()
            self._disk = None
            self._disk_rows = self._disk_bytes = 0
        if self._disk is not None:
            # Carry on with a copy in memory, so that order holds and nothing waits unseen;
            # on recovery the copy replaces the table (acks removed from it meanwhile).
            try:
                on_disk = self._disk.head(self._disk_rows + len(self._acked) + 1)
            except sqlite3.Error as exc:
                log.error(
                    "terminal %s: %d queued messages unreadable (%s); they are sent after the "
                    "next restart",
                    self._terminal_id,
                    self._disk_rows,
                    exc,
                )
                on_disk = []
                self._replace_on_recovery = False
            else:
                self._replace_on_recovery = True
            copies = []
            held = {e.key for e in self._memory} | set(self._acked)
            for entry in on_disk:
                if entry.key in held:
                    continue  # acknowledged already, or in memory already: not twice
                copies.append(replace(entry, on_disk=False, id=self._next_memory_id))
                self._next_memory_id += 1
            # The table is replaced by memory on recovery: what was acknowledged goes with it.
            self._acked.clear()
            self._memory = copies + self._memory
            self._disk.close()
            self._disk = None
            self._disk_rows = self._disk_bytes = 0
        self._next_recovery = self._monotonic() + RECOVERY_RETRY_S
        if self._degraded_reason is None:
            log.error(
                "terminal %s: message queue degraded (%s); keeping messages in memory until "
                "the directory is writable again",
                self._terminal_id,
                reason,
            )
            self._notice_pending = True
        self._degraded_reason = reason

    def _maybe_recover(self) -> None:
        if self._degraded_reason is None or self._directory is None:
            return
        if self._monotonic() < self._next_recovery:
            return
        self._next_recovery = self._monotonic() + RECOVERY_RETRY_S
        if not self._open_disk():
            return
        assert self._disk is not None
        try:
            if self._replace_on_recovery:
                self._disk.delete_all()
                self._disk_rows = self._disk_bytes = 0
            self._disk.insert_many(self._memory)
        except sqlite3.Error as exc:
            # Memory still holds everything: copying the table again would queue it twice.
            self._degrade(f"cannot write the queue: {exc}", copy_disk=False)
            return
        self._disk_rows += len(self._memory)
        self._disk_bytes += sum(len(e.payload) for e in self._memory)
        log.info(
            "terminal %s: message queue back on disk in %s with %d messages from memory",
            self._terminal_id,
            self._directory,
            len(self._memory),
        )
        self._memory = []
        self._replace_on_recovery = False
        self._degraded_reason = None
        self._notice_pending = False

    def _make_room(self, incoming_bytes: int, now: float) -> None:
        """Drop what is too old, then the oldest health samples, then anything oldest."""
        victims: list[tuple[bool, int, int, Kind]] = []
        horizon = now - self._limits.max_age_s
        if self._disk is not None:
            try:
                victims += [(True, i, s, k) for i, s, k in self._disk.expired(horizon)]
            except sqlite3.Error as exc:
                self._degrade(f"cannot read the queue: {exc}")
        victims += [
            (False, e.id, len(e.payload), e.kind) for e in self._memory if e.created_at < horizon
        ]
        rows = self._disk_rows + len(self._memory) - len(victims)
        size = self._disk_bytes + sum(len(e.payload) for e in self._memory)
        size -= sum(s for _, _, s, _ in victims)
        for kinds in ((Kind.HEALTH,), (Kind.EVENT, Kind.ACK)):
            if (
                rows + 1 <= self._limits.max_rows
                and size + incoming_bytes <= self._limits.max_bytes
            ):
                break
            chosen = {(d, i) for d, i, _, _ in victims}
            for on_disk, entry_id, entry_size, kind in self._candidates(kinds):
                if (on_disk, entry_id) in chosen:
                    continue
                if (
                    rows + 1 <= self._limits.max_rows
                    and size + incoming_bytes <= self._limits.max_bytes
                ):
                    break
                victims.append((on_disk, entry_id, entry_size, kind))
                rows -= 1
                size -= entry_size
        if victims:
            self._drop(victims)

    def _candidates(self, kinds: tuple[Kind, ...]) -> list[tuple[bool, int, int, Kind]]:
        found: list[tuple[bool, int, int, Kind]] = []
        if self._disk is not None:
            try:
                found = [(True, i, s, k) for i, s, k in self._disk.oldest(kinds, 1000)]
            except sqlite3.Error as exc:
                self._degrade(f"cannot read the queue: {exc}")
        return found + [
            (False, e.id, len(e.payload), e.kind) for e in self._memory if e.kind in kinds
        ]

    def _drop(self, victims: list[tuple[bool, int, int, Kind]]) -> None:
        disk_ids = [i for on_disk, i, _, _ in victims if on_disk]
        memory_ids = {i for on_disk, i, _, _ in victims if not on_disk}
        if disk_ids and self._disk is not None:
            try:
                self._disk.delete(disk_ids)
            except sqlite3.Error as exc:
                self._degrade(f"cannot trim the queue: {exc}")
                return
            self._disk_rows -= len(disk_ids)
            self._disk_bytes -= sum(s for on_disk, _, s, _ in victims if on_disk)
        self._memory = [e for e in self._memory if e.id not in memory_ids]
        self._dropped += len(victims)
        by_kind = {kind: sum(1 for *_, k in victims if k is kind) for kind in Kind}
        log.warning(
            "terminal %s: message queue full or too old: dropped %d health samples, %d events "
            "and %d acks (%d dropped since start); the newest are kept",
            self._terminal_id,
            by_kind[Kind.HEALTH],
            by_kind[Kind.EVENT],
            by_kind[Kind.ACK],
            self._dropped,
        )
