"""The ingest's pure part: decoding and storing, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.ingest.handler import handle_message
from fleet.models import EventRecord, HealthSample, RejectedMessage, Terminal
from kiosk.contract.mqtt import MAX_PAYLOAD_BYTES, Channel, Event, Health, topic_for

from .conftest import NOW, health_payload, later, status_payload

TERMINAL = "bdx-test-a"
STATUS = topic_for(TERMINAL, Channel.STATUS)
HEALTH = topic_for(TERMINAL, Channel.HEALTH)


def terminal(session: Session, terminal_id: str = TERMINAL) -> Terminal:
    session.expire_all()
    found = session.get(Terminal, terminal_id)
    assert found is not None
    return found


def test_birth_makes_an_unknown_terminal_online(db_session: Session) -> None:
    outcome = handle_message(db_session, STATUS, status_payload("online"), later(1))

    assert outcome.kind == "stored"
    stored = terminal(db_session)
    assert stored.state == "online"
    assert stored.state_since == later(1)
    assert stored.last_seen_at == later(1)
    assert stored.boot_id == "boot-1"
    assert stored.versions == {"agent": "0.1.0"}


def test_will_makes_the_terminal_lost_without_counting_as_seen(db_session: Session) -> None:
    handle_message(db_session, STATUS, status_payload("online"), later(1))
    handle_message(db_session, STATUS, status_payload("lost"), later(60))

    stored = terminal(db_session)
    assert stored.state == "lost"
    assert stored.state_since == later(60)
    assert stored.last_seen_at == later(1)


def test_stale_retained_status_does_not_win_over_a_newer_birth(db_session: Session) -> None:
    handle_message(db_session, STATUS, status_payload("online", birth_seq=3), later(1))
    # A retained "lost" of the previous connection of the same boot, delivered late.
    outcome = handle_message(db_session, STATUS, status_payload("lost", birth_seq=2), later(2))

    assert outcome.kind == "stale"
    stored = terminal(db_session)
    assert (stored.state, stored.birth_seq) == ("online", 3)


def test_a_new_boot_wins_whatever_its_birth_counter(db_session: Session) -> None:
    handle_message(db_session, STATUS, status_payload("online", "boot-1", 7), later(1))
    handle_message(db_session, STATUS, status_payload("online", "boot-2", 0), later(2))

    assert terminal(db_session).boot_id == "boot-2"


def test_health_is_stored_and_updates_the_latest_figures(db_session: Session) -> None:
    outcome = handle_message(db_session, HEALTH, health_payload(seq=1), later(1))

    assert outcome.kind == "stored"
    stored = terminal(db_session)
    assert stored.state == "unknown"  # health alone says nothing of presence
    assert stored.cpu_percent == 12.5
    assert stored.memory_percent == 41.0
    assert stored.disk_percent == 71.5
    assert stored.temperature_c == 48.0
    assert stored.uptime_s == 3600 * 5 + 120
    assert stored.health_at == NOW
    sample = db_session.scalars(select(HealthSample)).one()
    assert (sample.terminal_id, sample.seq, sample.received_at) == (TERMINAL, 1, later(1))
    assert sample.payload["cpu_percent"] == 12.5


def test_duplicate_health_is_ignored(db_session: Session) -> None:
    handle_message(db_session, HEALTH, health_payload(seq=5), later(1))
    outcome = handle_message(db_session, HEALTH, health_payload(seq=5), later(2))

    assert outcome.kind == "duplicate"
    assert db_session.scalar(select(func.count()).select_from(HealthSample)) == 1


def test_late_health_is_history_not_the_current_picture(db_session: Session) -> None:
    handle_message(db_session, HEALTH, health_payload(seq=2, at=later(60), cpu=80), later(61))
    handle_message(db_session, HEALTH, health_payload(seq=1, at=later(0), cpu=10), later(62))

    assert terminal(db_session).cpu_percent == 80
    assert db_session.scalar(select(func.count()).select_from(HealthSample)) == 2


def test_event_is_stored(db_session: Session) -> None:
    payload = Event(seq=1, sent_at=NOW, kind="session_ended", data={"tiles": 3}).to_bytes()
    handle_message(db_session, topic_for(TERMINAL, Channel.EVENT), payload, later(1))

    event = db_session.scalars(select(EventRecord)).one()
    assert (event.kind, event.data) == ("session_ended", {"tiles": 3})


def _bad_inputs() -> list[tuple[str, str, bytes]]:
    good_health = json.loads(health_payload())
    return [
        ("bad_json", HEALTH, b"{not json"),
        ("unknown_version", HEALTH, json.dumps({**good_health, "v": 2}).encode()),
        ("oversized", HEALTH, b" " * (MAX_PAYLOAD_BYTES + 1)),
        ("invalid", HEALTH, json.dumps({**good_health, "cpu_percent": 250}).encode()),
        ("bad_topic", f"kiosk/v1/{TERMINAL}/gossip", health_payload()),
        ("bad_terminal_id", "kiosk/v1/NOT_AN_ID/health", health_payload()),
    ]


def test_bad_messages_are_counted_per_reason_and_the_next_good_one_is_stored(
    db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.ingest.handler")
    for reason, topic, payload in _bad_inputs():
        for attempt in range(2):
            outcome = handle_message(db_session, topic, payload, later(attempt))
            assert (outcome.kind, outcome.reason) == ("rejected", reason)

    rows = {
        (row.terminal_id, row.reason): row.count
        for row in db_session.scalars(select(RejectedMessage))
    }
    assert rows == {
        (TERMINAL, "bad_json"): 2,
        (TERMINAL, "unknown_version"): 2,
        (TERMINAL, "oversized"): 2,
        (TERMINAL, "invalid"): 2,
        (TERMINAL, "bad_topic"): 2,
        (None, "bad_terminal_id"): 2,
    }
    # Logged once per terminal and reason, with both named; repeats are only counted.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 6
    assert any(TERMINAL in line and "unknown_version" in line for line in warnings)

    assert handle_message(db_session, HEALTH, health_payload(seq=9), later(5)).kind == "stored"
    assert terminal(db_session).cpu_percent == 12.5


def richer_health_payload(seq: int, at: datetime, door_open: bool | None = True) -> bytes:
    """A health report from an agent that knows the UI, the enclosure and the clock."""
    base = json.loads(health_payload(seq=seq, at=at))
    return Health.model_validate(
        {
            **base,
            "net": [{"name": "wwan0", "up": True, "bytes_sent": 10, "bytes_recv": 20}],
            "clock_offset_ms": -12.5,
            "clock_synced": False,
            "ui": {"alive": False, "heartbeat_age_s": 31.0, "session_open": True},
            "enclosure": {"door_open": door_open, "temperature_c": 27.5},
            "dropped_samples": 4,
        }
    ).to_bytes()


def test_richer_health_updates_the_latest_figures(db_session: Session) -> None:
    handle_message(db_session, HEALTH, richer_health_payload(1, NOW), later(1))

    stored = terminal(db_session)
    assert (stored.ui_alive, stored.door_open, stored.enclosure_temperature_c) == (
        False,
        True,
        27.5,
    )
    assert (stored.clock_synced, stored.clock_offset_ms, stored.dropped_samples) == (
        False,
        -12.5,
        4,
    )
    sample = db_session.scalars(select(HealthSample)).one()
    assert sample.payload["ui"]["heartbeat_age_s"] == 31.0


def test_a_report_without_the_new_figures_makes_them_unknown(db_session: Session) -> None:
    handle_message(db_session, HEALTH, richer_health_payload(1, NOW), later(1))
    handle_message(db_session, HEALTH, health_payload(seq=2, at=later(30)), later(31))

    stored = terminal(db_session)
    assert (stored.ui_alive, stored.door_open, stored.clock_synced) == (None, None, None)
    assert stored.dropped_samples == 0


def test_reports_resent_from_the_agent_queue_after_a_reconnect_are_duplicates(
    db_session: Session,
) -> None:
    """Store-and-forward resends the very same reports (same seq, same sent_at)."""
    queued = [richer_health_payload(seq, later(seq * 10)) for seq in (1, 2, 3)]
    for index, payload in enumerate(queued):
        handle_message(db_session, HEALTH, payload, later(100 + index))
    # The connection dropped before the PUBACKs: the agent sends its queue again.
    outcomes = [handle_message(db_session, HEALTH, p, later(200)).kind for p in queued]
    # After a reboot the counter starts again, but sent_at differs: a new report.
    fresh = handle_message(
        db_session, HEALTH, richer_health_payload(1, later(300), False), later(301)
    )

    assert outcomes == ["duplicate"] * 3
    assert fresh.kind == "stored"
    assert db_session.scalar(select(func.count()).select_from(HealthSample)) == 4
    stored = terminal(db_session)
    assert (stored.health_at, stored.door_open) == (later(300), False)
