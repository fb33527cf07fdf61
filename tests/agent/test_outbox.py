"""The store-and-forward queue: durable, ordered, bounded, and alive when its directory is not."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from kiosk.agent import outbox as outbox_module
from kiosk.agent.outbox import DATABASE_NAME, Kind, Outbox, OutboxLimits
from kiosk.contract.mqtt import Channel

TERMINAL = "bdx-test-a"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _payloads(box: Outbox) -> list[bytes]:
    return [entry.payload for entry in box.head(1000)]


def _put(box: Outbox, kind: Kind, payload: bytes) -> None:
    channel = {Kind.HEALTH: Channel.HEALTH, Kind.EVENT: Channel.EVENT, Kind.ACK: Channel.CMD_ACK}
    box.put(kind, channel[kind], payload)


def test_messages_survive_a_restart_in_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox", TERMINAL)
    for index in range(5):
        _put(box, Kind.EVENT, f"e{index}".encode())
    first = box.head(2)
    box.remove(first[0])
    box.close()

    reopened = Outbox(tmp_path / "outbox", TERMINAL)
    assert _payloads(reopened) == [b"e1", b"e2", b"e3", b"e4"]
    assert len(reopened) == 4
    # Removing twice (an ack after a resend) is harmless.
    reopened.remove(first[0])
    assert len(reopened) == 4


def test_database_is_wal_with_full_sync(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox", TERMINAL)
    _put(box, Kind.HEALTH, b"h")
    with sqlite3.connect(tmp_path / "outbox" / DATABASE_NAME) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    box.close()


def test_full_queue_drops_oldest_health_first(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(tmp_path / "outbox", TERMINAL, OutboxLimits(max_rows=4))
    _put(box, Kind.HEALTH, b"h1")
    _put(box, Kind.EVENT, b"e1")
    _put(box, Kind.HEALTH, b"h2")
    _put(box, Kind.ACK, b"a1")
    with caplog.at_level(logging.WARNING):
        _put(box, Kind.EVENT, b"e2")
        _put(box, Kind.EVENT, b"e3")
    assert _payloads(box) == [b"e1", b"a1", b"e2", b"e3"]
    assert box.dropped == 2
    assert TERMINAL in caplog.text
    assert "dropped 1 health samples" in caplog.text
    # With no health left, the oldest event or ack goes.
    _put(box, Kind.EVENT, b"e4")
    assert _payloads(box) == [b"a1", b"e2", b"e3", b"e4"]
    assert box.dropped == 3


def test_byte_bound(tmp_path: Path) -> None:
    limits = OutboxLimits(max_rows=1000, max_bytes=64 * 1024)
    box = Outbox(tmp_path / "outbox", TERMINAL, limits)
    chunk = b"x" * (16 * 1024)
    for _ in range(4):
        _put(box, Kind.HEALTH, chunk)
    _put(box, Kind.EVENT, b"event")
    assert len(box) == 4
    assert box.dropped == 1
    assert _payloads(box)[-1] == b"event"


def test_old_messages_expire(tmp_path: Path) -> None:
    clock = FakeClock()
    box = Outbox(tmp_path / "outbox", TERMINAL, OutboxLimits(max_age_s=3600), clock=clock)
    _put(box, Kind.EVENT, b"old event")
    _put(box, Kind.HEALTH, b"old health")
    clock.now += 3601
    _put(box, Kind.HEALTH, b"new")
    assert _payloads(box) == [b"new"]
    assert box.dropped == 2


def test_in_memory_queue_has_the_same_bounds() -> None:
    box = Outbox(None, TERMINAL, OutboxLimits(max_rows=2))
    _put(box, Kind.EVENT, b"e1")
    _put(box, Kind.HEALTH, b"h1")
    _put(box, Kind.EVENT, b"e2")
    assert _payloads(box) == [b"e1", b"e2"]
    assert box.dropped == 1
    assert box.degraded_reason is None


def test_unusable_directory_falls_back_to_memory_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Tests run as root, which ignores permission bits: a file where the directory should be
    # makes it unusable in a way root cannot override (ENOTDIR), down the same error path.
    directory = tmp_path / "outbox"
    directory.write_text("in the way")
    monkeypatch.setattr(outbox_module, "RECOVERY_RETRY_S", 0.0)
    with caplog.at_level(logging.INFO):
        box = Outbox(directory, TERMINAL)
        assert box.degraded_reason is not None
        notice = box.take_degraded_notice()
        assert notice is not None
        assert box.take_degraded_notice() is None  # reported once
        _put(box, Kind.EVENT, b"e1")
        _put(box, Kind.HEALTH, b"h1")
        assert _payloads(box) == [b"e1", b"h1"]
        assert "degraded" in caplog.text
        assert TERMINAL in caplog.text

        directory.unlink()
        box.maintain()
        assert box.degraded_reason is None
        _put(box, Kind.EVENT, b"e2")
        assert "back on disk" in caplog.text
    assert _payloads(box) == [b"e1", b"h1", b"e2"]
    box.close()
    assert _payloads(Outbox(directory, TERMINAL)) == [b"e1", b"h1", b"e2"]


def test_write_failure_at_run_time_degrades(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox", TERMINAL)
    _put(box, Kind.EVENT, b"on disk")
    # A database that can no longer grow: SQLite's own "database or disk is full" error.
    with sqlite3.connect(tmp_path / "outbox" / DATABASE_NAME) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    box._disk._db.execute(f"PRAGMA max_page_count = {pages}")  # type: ignore[union-attr]
    _put(box, Kind.EVENT, b"x" * 100_000)
    assert box.degraded_reason is not None
    assert "full" in box.degraded_reason
    _put(box, Kind.EVENT, b"after")
    # Nothing lost, order kept: the table's content was carried over to memory.
    assert [p[:7] for p in _payloads(box)] == [b"on disk", b"x" * 7, b"after"]
