"""The ingest at scale: batched writes, a bounded queue, and shared subscriptions on a broker."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fleet.core.db import make_engine, make_session_factory
from fleet.ingest import writer as writer_module
from fleet.ingest.handler import KnownTerminals, Received, handle_batch
from fleet.ingest.mqtt import Ingest, subscriptions
from fleet.ingest.writer import BatchWriter
from fleet.models import HealthSample, RejectedMessage, Terminal
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, CommandAck, topic_for
from tests.conftest import SECOND_FLEET_USER, TEST_TERMINALS, TestBroker
from tests.helpers import wait_until

from .conftest import health_payload, later, make_settings, prepare_database
from .test_ingest_broker import publish, terminal_client

TERMINAL = "bdx-test-a"
HEALTH = topic_for(TERMINAL, Channel.HEALTH)


def health(seq: int, terminal_id: str = TERMINAL) -> Received:
    return Received(
        topic_for(terminal_id, Channel.HEALTH), health_payload(seq, later(seq)), later(seq)
    )


def unknown_ack(seq: int) -> Received:
    payload = CommandAck.model_validate(
        {"id": "0123456789abcdef", "result": "done", "seq": seq, "sent_at": later(seq)}
    ).to_bytes()
    return Received(topic_for(TERMINAL, Channel.CMD_ACK), payload, later(seq))


def stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(HealthSample)) or 0


@pytest.fixture
def factory(migrated_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(migrated_engine)


def test_a_batch_is_one_transaction_with_duplicates_and_bad_messages_sorted_out(
    db_session: Session,
) -> None:
    batch = [
        health(1),
        health(2),
        health(1),  # a QoS 1 redelivery inside the same batch
        Received(HEALTH, b"\xff garbage", later(3)),
        health(1, "bdx-test-b"),  # same seq and time, another terminal: not a duplicate
    ]

    outcomes = handle_batch(db_session, batch)

    assert [o.kind for o in outcomes] == ["stored", "stored", "duplicate", "rejected", "stored"]
    db_session.expire_all()
    assert stored(db_session) == 3
    assert db_session.scalars(select(RejectedMessage.count)).one() == 1
    # Again: every one is now a duplicate (or counted once more).
    again = handle_batch(db_session, batch)
    assert [o.kind for o in again] == [
        "duplicate",
        "duplicate",
        "duplicate",
        "rejected",
        "duplicate",
    ]
    assert stored(db_session) == 3


def test_a_message_that_cannot_apply_costs_only_itself(factory: sessionmaker[Session]) -> None:
    writer = BatchWriter(factory)
    # An ack for a command nobody sent: found before it touches anything, counted in the batch.
    writer.write([health(1), unknown_ack(2), health(3)])

    with factory() as session:
        assert stored(session) == 2
        rejected = session.scalars(select(RejectedMessage)).one()
        assert (rejected.reason, rejected.count) == ("unknown_command", 1)
    assert writer.batches == 1  # one transaction, not one per message
    assert writer.handled == 3


def test_a_locked_database_holds_the_batch_and_stores_it_once(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_module.handle_batch
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))] * 2

    def locked_twice(
        session: Session, batch: list[Received], clock: object, terminals: object
    ) -> object:
        if failures:
            raise failures.pop()
        return real(session, batch, clock, terminals)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "handle_batch", locked_twice)
    committed: list[Received] = []
    writer = BatchWriter(factory, on_committed=committed.extend, retry_s=(0.01, 0.05))
    writer.write([health(1), health(2)])

    assert [item.payload for item in committed] == [health(1).payload, health(2).payload]
    assert writer.batches == 1
    with factory() as session:
        assert stored(session) == 2


def test_the_writer_thread_drains_the_queue_in_batches(factory: sessionmaker[Session]) -> None:
    seen: list[str] = []
    writer = BatchWriter(
        factory, batch_size=50, batch_wait_s=0.05, on_outcome=lambda _item, o: seen.append(o.kind)
    )
    writer.start()
    try:
        for seq in range(1, 301):
            item = health(seq)
            writer.submit(item.topic, item.payload, item.received_at)
        wait_until(lambda: writer.handled == 300, 30, "300 messages stored")
    finally:
        writer.stop()
    with factory() as session:
        assert stored(session) == 300
        last = session.get(Terminal, TERMINAL)
        assert last is not None
        assert last.health_at == later(300)
    assert seen == ["stored"] * 300
    assert writer.batches <= 300 // 50 + 6  # batched, not one transaction per message


def test_a_full_queue_is_said_in_the_log_and_nothing_is_lost(
    factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.ingest.writer")
    writer = BatchWriter(factory, batch_size=10, queue_size=20)
    # Not started yet: the queue fills up, then submit blocks until the writer drains it.
    for seq in range(1, 15):
        item = health(seq)
        writer.submit(item.topic, item.payload, item.received_at)
    assert any("backs up" in r.getMessage() for r in caplog.records)
    writer.start()
    try:
        for seq in range(15, 61):
            item = health(seq)
            writer.submit(item.topic, item.payload, item.received_at)
        wait_until(lambda: writer.handled == 60, 30, "60 messages stored")
    finally:
        writer.stop()
    with factory() as session:
        assert stored(session) == 60


def test_stop_stores_what_was_queued(factory: sessionmaker[Session]) -> None:
    writer = BatchWriter(factory, batch_wait_s=5)
    writer.start()
    for seq in range(1, 11):
        item = health(seq)
        writer.submit(item.topic, item.payload, item.received_at)
    writer.stop()
    with factory() as session:
        assert stored(session) == 10


def test_subscriptions_are_shared_unless_the_group_is_empty() -> None:
    assert subscriptions("fleet")[0] == "$share/fleet/kiosk/v1/+/status"
    assert subscriptions("")[0] == "kiosk/v1/+/status"


@pytest.fixture
def two_ingests(tmp_path: Path, broker: TestBroker) -> Iterator[tuple[Ingest, Ingest, Engine]]:
    settings = make_settings(
        tmp_path,
        broker_port=broker.port,
        broker_password=broker.password(FLEET_USERNAME),
        ingest_batch_wait_s=0.05,
        ingest_share_group="fleet",
    )
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    # One broker user each: the broker takes the user name as the client id.
    first = Ingest(settings, factory)
    second = Ingest(
        settings.model_copy(
            update={
                "broker_username": SECOND_FLEET_USER,
                "broker_password": SecretStr(broker.password(SECOND_FLEET_USER)),
            }
        ),
        factory,
    )
    first.start()
    second.start()
    try:
        wait_until(lambda: first.broker_connected and second.broker_connected, 20, "connections")
        yield first, second, engine
    finally:
        first.stop()
        second.stop()
        engine.dispose()


@pytest.mark.broker
def test_two_ingests_share_the_load_without_loss_or_double_counting(
    broker: TestBroker, two_ingests: tuple[Ingest, Ingest, Engine]
) -> None:
    first, second, engine = two_ingests
    per_terminal = 100
    # The subscriptions are made on connection; a status round trip proves they are active.
    with terminal_client(broker.host, broker.port, TERMINAL, broker.password(TERMINAL)) as c:
        publish(c, HEALTH, health_payload(0, later(0)))
    wait_until(lambda: first.writer.handled + second.writer.handled == 1, 20, "the first message")

    for terminal_id in TEST_TERMINALS:
        with terminal_client(
            broker.host, broker.port, terminal_id, broker.password(terminal_id)
        ) as client:
            topic = topic_for(terminal_id, Channel.HEALTH)
            for seq in range(1, per_terminal + 1):
                publish(client, topic, health_payload(seq, later(seq)))
    expected = 1 + per_terminal * len(TEST_TERMINALS)

    wait_until(lambda: first.writer.handled + second.writer.handled >= expected, 30, "all messages")
    with make_session_factory(engine)() as session:
        assert stored(session) == expected
    assert first.writer.handled + second.writer.handled == expected  # none handled twice
    assert first.writer.handled > 0
    assert second.writer.handled > 0


@pytest.mark.broker
def test_a_terminal_cannot_read_others_through_a_shared_subscription(
    broker: TestBroker, two_ingests: tuple[Ingest, Ingest, Engine]
) -> None:
    first, second, _engine = two_ingests
    spy_id, victim = "bdx-test-b", TERMINAL
    received: list[str] = []
    with terminal_client(broker.host, broker.port, spy_id, broker.password(spy_id)) as spy:
        spy.on_message = lambda _c, _u, msg: received.append(msg.topic)
        subscribed: list[bool] = []
        spy.on_subscribe = lambda *_args: subscribed.append(True)
        # Its own group, so that it would get every copy if the ACL let it: Mosquitto checks
        # "$share/<group>/<filter>" against the ACL as "<filter>".
        spy.subscribe(shared_filter := f"$share/spy/{topic_for(victim, Channel.HEALTH)}", qos=1)
        wait_until(lambda: bool(subscribed), 10, f"the broker to answer {shared_filter}")
        with terminal_client(broker.host, broker.port, victim, broker.password(victim)) as c:
            publish(c, HEALTH, health_payload(1, later(1)))
        wait_until(lambda: first.writer.handled + second.writer.handled == 1, 20, "the ingest")
    assert received == []


#: The timed runs of the poison test: (terminal, poisoned), clean and poisoned in turn.
RUNS: Final = (
    ("bdx-test-a", False),
    ("bdx-test-b", True),
    ("bdx-test-e", False),
    ("bdx-test-f", True),
    ("bdx-test-g", False),
    ("bdx-test-h", True),
)


@pytest.mark.serial  # a ratio of two timings: beside another worker it measures that worker
def test_poison_costs_only_itself(factory: sessionmaker[Session]) -> None:
    """3,000 reports in batches of 500, clean and beside 2 % poison (20 a second at 1,000 a
    second: acks for unknown commands, seq = 2^63): the same batches, and not much longer."""
    poison_seq = health_payload(1, later(1)).replace(b'"seq":1,', f'"seq":{2**63},'.encode())
    assert poison_seq != health_payload(1, later(1))

    def run(terminal_id: str, poisoned: bool) -> BatchWriter:
        writer = BatchWriter(factory)
        batch: list[Received] = []
        for seq in range(1, 3001):
            batch.append(health(seq, terminal_id))
            if poisoned and seq % 100 == 0:
                batch += [unknown_ack(seq), Received(HEALTH, poison_seq, later(seq))]
            if seq % 500 == 0:  # the same 500 reports a batch, with or without the poison
                writer.write(batch)
                batch = []
                # One transaction for each batch: none split, none stored again one by one.
                assert writer.batches == seq // 500
        return writer

    def timed(terminal_id: str, poisoned: bool) -> tuple[float, BatchWriter]:
        started = time.perf_counter()
        writer = run(terminal_id, poisoned)
        return time.perf_counter() - started, writer

    # Warm up both paths first (on a fresh clone the refusals' first run also compiles their
    # modules and statements), then clean and poisoned in turn, three times: the best of each.
    run("bdx-test-c", False)
    run("bdx-test-d", True)
    runs = [timed(terminal, poisoned) for terminal, poisoned in RUNS]
    clean_s = min(seconds for (seconds, _w), (_t, p) in zip(runs, RUNS, strict=True) if not p)
    poisoned_s = min(seconds for (seconds, _w), (_t, p) in zip(runs, RUNS, strict=True) if p)
    print(f"\nclean {clean_s:.2f} s, with poison {poisoned_s:.2f} s ({poisoned_s / clean_s:.2f}x)")
    assert all(writer.unstorable == 0 for _s, writer in runs)
    assert poisoned_s <= 1.5 * clean_s
    with factory() as session:
        assert stored(session) == (2 + len(RUNS)) * 3000
        rejected = {r.reason: r.count for r in session.scalars(select(RejectedMessage))}
    poisoned_runs = 1 + sum(1 for _t, p in RUNS if p)
    assert rejected == {"unknown_command": 30 * poisoned_runs, "out_of_range": 30 * poisoned_runs}


def counting_statements(engine: Engine) -> list[str]:
    """The SQL statements ``engine`` runs from now on (executemany counts once)."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    return statements


def test_a_batch_of_health_costs_the_same_statements_whatever_its_terminals(
    migrated_engine: Engine, factory: sessionmaker[Session]
) -> None:
    """No SELECT nor UPDATE per terminal: one de-duplication query, one INSERT of the reports,
    one UPDATE of the latest figures and one of the sightings, for 10 terminals as for 1."""
    known = KnownTerminals()
    names = [f"bdx-many-{n:02d}" for n in range(10)]

    def batch(first_seq: int, terminals: list[str]) -> list[Received]:
        return [
            health(seq, terminals[seq % len(terminals)])
            for seq in range(first_seq, first_seq + 100)
        ]

    with factory() as session:  # the terminals' first reports make their rows
        assert {o.kind for o in handle_batch(session, batch(1, names), terminals=known)} == {
            "stored"
        }
    statements = counting_statements(migrated_engine)
    for first_seq, terminals in ((101, names[:1]), (201, names)):
        statements.clear()
        with factory() as session:
            outcomes = handle_batch(session, batch(first_seq, terminals), terminals=known)
        assert [o.kind for o in outcomes] == ["stored"] * 100
        assert sorted(s for s in statements if s != "COMMIT") == [
            "INSERT",
            "SELECT",
            "UPDATE",
            "UPDATE",
        ], statements
    with factory() as session:
        assert stored(session) == 300
        figures = session.scalars(select(Terminal).order_by(Terminal.id)).all()
        # Each terminal's figures are those of its newest report.
        assert {t.health_at for t in figures} == {later(291 + n) for n in range(10)}
        assert all(t.last_seen_at == t.health_at for t in figures)


def test_a_terminal_row_gone_while_remembered_is_made_again_and_nothing_lost(
    factory: sessionmaker[Session],
) -> None:
    writer = BatchWriter(factory)
    writer.write([health(1), health(2)])
    with factory() as session:  # not something the fleet does: a hand in the database
        session.execute(delete(HealthSample))
        session.execute(delete(Terminal))
        session.commit()

    writer.write([health(3), health(4)])

    assert writer.unstorable == 0
    with factory() as session:
        assert stored(session) == 2
        assert session.get(Terminal, TERMINAL) is not None


def test_a_late_and_a_wrong_clock_in_one_batch_leave_the_figures_of_the_newest_report(
    db_session: Session,
) -> None:
    def report(seq: int, sent_at: datetime, cpu: float, received: datetime) -> Received:
        return Received(HEALTH, health_payload(seq, sent_at, cpu=cpu), received)

    now = later(600)
    batch = [
        report(1, later(590), 20.0, now),  # on time
        report(2, later(100), 90.0, now),  # late from the agent's queue: history
        report(3, now + timedelta(days=400), 70.0, now),  # a wrong clock: at the fleet's time
    ]
    assert [o.kind for o in handle_batch(db_session, batch)] == ["stored"] * 3
    terminal = db_session.get(Terminal, TERMINAL)
    assert terminal is not None
    # The wrong clock's report is filed at the fleet's time, the newest: its figures win.
    assert (terminal.cpu_percent, terminal.health_at) == (70.0, now)
    assert terminal.clock_error_s is not None
    assert terminal.clock_error_s > 399 * 86400
    assert terminal.last_seen_at == now

    back = [report(4, later(700), 30.0, later(701)), report(5, later(200), 95.0, later(702))]
    assert [o.kind for o in handle_batch(db_session, back)] == ["stored"] * 2
    db_session.expire_all()
    terminal = db_session.get(Terminal, TERMINAL)
    assert terminal is not None
    # On time again: the clock error goes; the late report after it changes neither.
    assert (terminal.cpu_percent, terminal.clock_error_s, terminal.clock_error_at) == (
        30.0,
        None,
        None,
    )
    assert terminal.last_seen_at == later(702)


def test_at_a_low_rate_the_writer_waits_to_fill_a_batch(factory: sessionmaker[Session]) -> None:
    """Messages arriving one by one within the wait go in one transaction, not one each."""
    writer = BatchWriter(factory, batch_wait_s=3.0)
    writer.start()
    try:
        first = health(1)
        writer.submit(first.topic, first.payload, first.received_at)
        wait_until(lambda: writer.backlog == 0, 10, "the writer to take the first message")
        for seq in range(2, 21):
            item = health(seq)
            writer.submit(item.topic, item.payload, item.received_at)
        wait_until(lambda: writer.handled == 20, 20, "20 messages stored")
    finally:
        writer.stop()
    assert writer.batches == 1
