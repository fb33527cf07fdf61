"""Retention: hourly roll-ups of health reports, then raw reports and old roll-ups deleted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from fleet.core.db import make_session_factory
from fleet.ingest.handler import handle_message
from fleet.ingest.keeper import CommandKeeper
from fleet.models import HealthHourly, HealthSample
from fleet.retention import run_retention
from kiosk.contract.mqtt import Channel, topic_for

from .conftest import health_payload

START = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
A = topic_for("bdx-test-a", Channel.HEALTH)
B = topic_for("bdx-test-b", Channel.HEALTH)


def report(session: Session, topic: str, seq: int, at: datetime, cpu: float) -> None:
    assert handle_message(session, topic, health_payload(seq, at, cpu), at).kind == "stored"


def raw_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HealthSample)) or 0


def hourly(session: Session) -> list[tuple[str, datetime, int, float | None, float | None]]:
    rows = session.scalars(
        select(HealthHourly).order_by(HealthHourly.hour, HealthHourly.terminal_id)
    )
    return [(r.terminal_id, r.hour, r.count, r.cpu_avg, r.cpu_max) for r in rows]


def test_complete_hours_are_rolled_up_once(db_session: Session) -> None:
    report(db_session, A, 1, START + timedelta(minutes=5), 10.0)
    report(db_session, A, 2, START + timedelta(minutes=35), 30.0)
    report(db_session, B, 1, START + timedelta(minutes=50), 50.0)
    report(db_session, A, 3, START + timedelta(hours=1, minutes=10), 70.0)  # hour not over yet

    result = run_retention(db_session, START + timedelta(hours=1, minutes=30), 7, 395)

    assert result.hours_rolled_up == 1
    assert hourly(db_session) == [
        ("bdx-test-a", START, 2, 20.0, 30.0),
        ("bdx-test-b", START, 1, 50.0, 50.0),
    ]
    first = db_session.scalars(
        select(HealthHourly).where(HealthHourly.terminal_id == "bdx-test-a")
    ).first()
    assert first is not None
    # health_payload: memory 41, disks 55 and 71.5 (the fuller counts), temperatures 48 and 39.5.
    assert (first.memory_avg, first.disk_max, first.temperature_max) == (41.0, 71.5, 48.0)
    assert raw_count(db_session) == 4  # nothing past retention yet

    # The next pass, two hours later: only the hour since completed is rolled up.
    again = run_retention(db_session, START + timedelta(hours=2, minutes=1), 7, 395)
    assert again.hours_rolled_up == 1
    assert [row[:3] for row in hourly(db_session)][-1] == (
        "bdx-test-a",
        START + timedelta(hours=1),
        1,
    )
    assert (
        run_retention(db_session, START + timedelta(hours=2, minutes=2), 7, 395).hours_rolled_up
        == 0
    )


def test_raw_reports_go_after_their_days_and_roll_ups_after_theirs(db_session: Session) -> None:
    for seq in range(1, 8):
        report(db_session, A, seq, START + timedelta(minutes=seq), 10.0)
    report(db_session, A, 100, START + timedelta(days=6), 20.0)

    now = START + timedelta(days=7, hours=1)
    result = run_retention(
        db_session, now, health_retention_days=7, rollup_retention_days=395, delete_batch=3
    )

    assert result.raw_deleted == 7  # in batches of 3: 3 + 3 + 1
    assert raw_count(db_session) == 1
    hours = {row[1]: row[2] for row in hourly(db_session)}
    assert hours[START] == 7  # rolled up before the raw reports went
    assert hours[START + timedelta(days=6)] == 1

    later_pass = run_retention(db_session, START + timedelta(days=396), 7, 395)
    assert later_pass.rollups_deleted == 1
    assert [row[1] for row in hourly(db_session)] == [START + timedelta(days=6)]
    assert raw_count(db_session) == 0


def test_the_keeper_runs_the_retention_pass(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    with factory() as session:
        report(session, A, 1, START, 10.0)

    class NoBroker:
        def publish(self, topic: str, payload: bytes, qos: int) -> None:
            raise AssertionError("nothing to publish")

        def publish_retained(self, topic: str, payload: bytes, qos: int = 1) -> None:
            raise AssertionError("nothing to publish")

    keeper = CommandKeeper(factory, NoBroker(), retention_days=(1, 30))
    keeper.run_retention_once(START + timedelta(days=2))
    with factory() as session:
        assert raw_count(session) == 0
        assert [row[2] for row in hourly(session)] == [1]
