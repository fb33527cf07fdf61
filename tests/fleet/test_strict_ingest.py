"""The strict contract at the ingest, on SQLite and PostgreSQL alike: every malformed payload is
refused and counted with its reason in the same batch as the good ones, the widest values the
contract allows are stored, and a clock the fleet does not believe is filed at its own time."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fleet import crud
from fleet.ingest.handler import Received
from fleet.ingest.writer import BatchWriter
from fleet.models import HealthSample, RejectedMessage, Terminal
from kiosk.contract.mqtt import INT64_MAX, Channel, Health, Status, topic_for
from tests.malformed import MALFORMED

TERMINAL = "bdx-test-a"


def _health(seq: int, **changes: object) -> Health:
    values: dict[str, object] = {
        "seq": seq,
        "sent_at": crud.utc_now(),
        "uptime_s": 60.0,
        "cpu_percent": 10.0,
        "memory_percent": 20.0,
        "memory_total_bytes": INT64_MAX,
        "dropped_samples": INT64_MAX,
    }
    values.update(changes)
    return Health.model_validate(values)


def test_every_malformed_payload_is_counted_with_its_reason_beside_good_ones(
    db_session: Session,
) -> None:
    factory: sessionmaker[Session] = sessionmaker(bind=db_session.get_bind())
    now = crud.utc_now()
    batch = [
        Received(topic_for(TERMINAL, channel), payload, now, index, 1)
        for index, (_name, channel, payload, _reason) in enumerate(MALFORMED, start=1)
    ]
    good = [_health(INT64_MAX - 1), _health(INT64_MAX)]
    batch += [
        Received(topic_for(TERMINAL, Channel.HEALTH), report.to_bytes(), now, 900 + i, 1)
        for i, report in enumerate(good)
    ]
    committed: list[Received] = []
    writer = BatchWriter(factory, on_committed=committed.extend)

    writer.write(batch)

    assert committed == batch  # all acknowledged: the malformed are counted, not retried
    assert writer.batches == 1  # in one transaction with the good ones
    counted = {
        row.reason: row.count
        for row in db_session.scalars(
            select(RejectedMessage).where(RejectedMessage.terminal_id == TERMINAL)
        )
    }
    assert counted == Counter(reason for *_, reason in MALFORMED)
    stored = db_session.scalars(select(HealthSample.seq).order_by(HealthSample.seq)).all()
    assert stored == [INT64_MAX - 1, INT64_MAX]
    terminal = db_session.get(Terminal, TERMINAL)
    assert terminal is not None
    assert terminal.dropped_samples == INT64_MAX


def test_a_wrong_clock_is_filed_at_the_fleet_time_shown_and_de_duplicated(
    db_session: Session,
) -> None:
    factory: sessionmaker[Session] = sessionmaker(bind=db_session.get_bind())
    writer = BatchWriter(factory)
    now = crud.utc_now()
    ahead = now + timedelta(days=365 * 70)  # a clock at 2096
    report = _health(5, sent_at=ahead)
    birth = Status(state="online", boot_id="b", birth_seq=1, sent_at=ahead, keepalive_s=30)
    topic = topic_for(TERMINAL, Channel.HEALTH)

    writer.write([Received(topic_for(TERMINAL, Channel.STATUS), birth.to_bytes(), now)])
    writer.write([Received(topic, report.to_bytes(), now)])
    # The same report again, later (a redelivery): the same row, not a second one.
    writer.write([Received(topic, report.to_bytes(), now + timedelta(seconds=30))])

    [row] = db_session.scalars(select(HealthSample)).all()
    assert (row.sent_at, row.claimed_sent_at) == (now, ahead)
    terminal = db_session.get(Terminal, TERMINAL)
    assert terminal is not None
    assert terminal.health_at == now  # the fleet's time, so later reports replace it
    assert terminal.clock_error_s is not None
    assert terminal.clock_error_s > 365 * 69 * 86400
    # A report on time clears it.
    writer.write([Received(topic, _health(6, sent_at=now).to_bytes(), now + timedelta(seconds=1))])
    db_session.expire_all()
    terminal = db_session.get(Terminal, TERMINAL)
    assert terminal is not None
    assert terminal.clock_error_s is None
    assert terminal.cpu_percent == 10.0
