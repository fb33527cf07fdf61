"""Commands on the fleet side: issue, publish, follow acks, expire (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fleet import commands
from fleet.commands import BrokerUnavailable, InvalidCommand, UnknownTerminal, send_command
from fleet.ingest.handler import handle_message
from fleet.ingest.keeper import CommandKeeper
from fleet.models import CommandAckRecord, CommandRecord, RejectedMessage
from kiosk.contract.mqtt import Channel, Command, CommandAck, decode, topic_for

from .conftest import NOW, later, status_payload

TERMINAL = "bdx-test-a"
OTHER = "bdx-test-b"
ACK = topic_for(TERMINAL, Channel.CMD_ACK)


@dataclass
class RecordingBroker:
    """Stands in for the broker at the edge: keeps what was published, or says it is down."""

    down: bool = False
    published: list[tuple[str, bytes, int]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        if self.down:
            raise BrokerUnavailable("the MQTT broker at test is unreachable")
        self.published.append((topic, payload, qos))

    def commands(self) -> list[Command]:
        decoded = [decode(Channel.CMD, payload) for _topic, payload, _qos in self.published]
        assert all(isinstance(c, Command) for c in decoded)
        return [c for c in decoded if isinstance(c, Command)]


@pytest.fixture
def known(db_session: Session) -> Session:
    """A session where two terminals have said hello."""
    for terminal_id in (TERMINAL, OTHER):
        handle_message(
            db_session, topic_for(terminal_id, Channel.STATUS), status_payload(), later(0)
        )
    return db_session


def ack(command_id: str, result: str, seq: int, reason: str | None = None) -> bytes:
    return CommandAck.model_validate(
        {"id": command_id, "result": result, "reason": reason, "seq": seq, "sent_at": later(seq)}
    ).to_bytes()


def reloaded(session: Session, command_id: str) -> CommandRecord:
    session.expire_all()
    row = session.get(CommandRecord, command_id)
    assert row is not None
    return row


def test_send_stores_a_pending_command_and_publishes_it(known: Session) -> None:
    broker = RecordingBroker()

    row = send_command(known, broker, TERMINAL, "reboot", {}, "alice", ttl_s=120, now=NOW)

    stored = reloaded(known, row.id)
    assert (stored.state, stored.issued_by, stored.published_at) == ("pending", "alice", NOW)
    assert stored.expires_at == NOW + timedelta(seconds=120)
    [(topic, _payload, qos)] = broker.published
    assert (topic, qos) == (f"kiosk/v1/{TERMINAL}/cmd", 1)
    [message] = broker.commands()
    assert (message.id, message.name, message.expires_at) == (row.id, "reboot", stored.expires_at)


def test_every_command_gets_a_new_id(known: Session) -> None:
    broker = RecordingBroker()
    ids = {send_command(known, broker, TERMINAL, "restart_ui", {}, "alice").id for _ in range(3)}

    assert len(ids) == 3
    assert all(len(command_id) == 32 for command_id in ids)


@pytest.mark.parametrize(
    ("name", "args", "ttl_s", "where"),
    [
        ("format_disk", {}, 300, "name"),
        ("set_settings", {"homepage": "https://example.org"}, 300, "args"),
        ("set_settings", {"Bad-Key": 1}, 300, "args"),
        ("set_settings", {"volume": [1, 2]}, 300, "args"),
        ("reboot", {}, 0, "ttl_s"),
        ("reboot", {}, 7 * 24 * 3600, "ttl_s"),
    ],
)
def test_invalid_commands_are_refused_and_not_stored(
    known: Session, name: str, args: dict[str, object], ttl_s: int, where: str
) -> None:
    broker = RecordingBroker()

    with pytest.raises(InvalidCommand, match=where):
        send_command(known, broker, TERMINAL, name, args, "alice", ttl_s=ttl_s)

    assert known.scalar(select(func.count()).select_from(CommandRecord)) == 0
    assert broker.published == []


def test_unknown_terminal_is_refused(known: Session) -> None:
    with pytest.raises(UnknownTerminal):
        send_command(known, RecordingBroker(), "bdx-nowhere", "reboot", {}, "alice")


def test_broker_down_keeps_the_command_and_publishes_it_when_it_returns(
    known: Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fleet.commands")
    broker = RecordingBroker(down=True)
    held = send_command(known, broker, TERMINAL, "wipe_session", {}, "alice", ttl_s=60, now=NOW)
    lapsed = send_command(known, broker, OTHER, "reboot", {}, "alice", ttl_s=10, now=NOW)

    assert reloaded(known, held.id).published_at is None
    assert "stays pending" in caplog.text
    assert held.id in caplog.text

    broker.down = False
    assert commands.publish_waiting(known, broker, later(30)) == 1

    assert [c.id for c in broker.commands()] == [held.id]
    assert reloaded(known, held.id).published_at == later(30)
    assert reloaded(known, lapsed.id).published_at is None
    # Nothing is published twice by the keeper's next pass.
    assert commands.publish_waiting(known, broker, later(31)) == 0


def test_a_process_without_mqtt_leaves_the_command_to_the_ingest(known: Session) -> None:
    row = send_command(known, None, TERMINAL, "refresh_content", {}, "alice")

    assert (reloaded(known, row.id).state, reloaded(known, row.id).published_at) == (
        "pending",
        None,
    )


def test_acks_move_the_command_to_accepted_then_done(known: Session) -> None:
    row = send_command(known, RecordingBroker(), TERMINAL, "reboot", {}, "alice", now=NOW)

    assert handle_message(known, ACK, ack(row.id, "accepted", 1), later(1)).kind == "stored"
    assert reloaded(known, row.id).state == "accepted"
    handle_message(known, ACK, ack(row.id, "done", 2), later(2))

    stored = reloaded(known, row.id)
    assert (stored.state, stored.updated_at) == ("done", later(2))
    assert known.scalar(select(func.count()).select_from(CommandAckRecord)) == 2


def test_refused_and_failed_keep_the_terminal_s_reason(known: Session) -> None:
    broker = RecordingBroker()
    refused = send_command(known, broker, TERMINAL, "wipe_session", {}, "alice", now=NOW)
    failed = send_command(known, broker, TERMINAL, "restart_ui", {}, "alice", now=NOW)

    handle_message(known, ACK, ack(refused.id, "refused", 1, "no session open"), later(1))
    handle_message(known, ACK, ack(failed.id, "accepted", 2), later(2))
    handle_message(known, ACK, ack(failed.id, "failed", 3, "ui did not restart"), later(3))

    assert (reloaded(known, refused.id).state, reloaded(known, refused.id).reason) == (
        "refused",
        "no session open",
    )
    assert (reloaded(known, failed.id).state, reloaded(known, failed.id).reason) == (
        "failed",
        "ui did not restart",
    )


def test_final_states_are_sticky(known: Session) -> None:
    row = send_command(known, RecordingBroker(), TERMINAL, "reboot", {}, "alice", now=NOW)
    handle_message(known, ACK, ack(row.id, "done", 1), later(1))

    # Out of order, repeated after an agent restart, or contradicting: none moves it back.
    for seq, result in enumerate(("accepted", "failed", "refused"), start=2):
        handle_message(known, ACK, ack(row.id, result, seq, "late"), later(seq))

    stored = reloaded(known, row.id)
    assert (stored.state, stored.reason, stored.updated_at) == ("done", None, later(1))


def test_a_repeated_ack_is_a_duplicate(known: Session) -> None:
    row = send_command(known, RecordingBroker(), TERMINAL, "reboot", {}, "alice", now=NOW)
    handle_message(known, ACK, ack(row.id, "accepted", 1), later(1))

    assert handle_message(known, ACK, ack(row.id, "accepted", 1), later(2)).kind == "duplicate"
    assert known.scalar(select(func.count()).select_from(CommandAckRecord)) == 1


def test_acks_for_unknown_or_foreign_commands_are_counted_and_ignored(known: Session) -> None:
    foreign = send_command(known, RecordingBroker(), OTHER, "reboot", {}, "alice", now=NOW)

    unknown = handle_message(known, ACK, ack("0123456789abcdef", "done", 1), later(1))
    # A terminal cannot close another terminal's command.
    stolen = handle_message(known, ACK, ack(foreign.id, "done", 2), later(2))

    assert (unknown.kind, unknown.reason) == ("rejected", "unknown_command")
    assert (stolen.kind, stolen.reason) == ("rejected", "unknown_command")
    rejected = known.scalars(select(RejectedMessage)).one()
    assert (rejected.terminal_id, rejected.reason, rejected.count) == (
        TERMINAL,
        "unknown_command",
        2,
    )
    assert reloaded(known, foreign.id).state == "pending"
    assert known.scalar(select(func.count()).select_from(CommandAckRecord)) == 0


def test_overdue_pending_and_accepted_commands_expire(known: Session) -> None:
    broker = RecordingBroker()
    pending = send_command(known, broker, TERMINAL, "reboot", {}, "a", ttl_s=60, now=NOW)
    accepted = send_command(known, broker, TERMINAL, "restart_ui", {}, "a", ttl_s=60, now=NOW)
    done = send_command(known, broker, TERMINAL, "refresh_content", {}, "a", ttl_s=60, now=NOW)
    fresh = send_command(known, broker, TERMINAL, "wipe_session", {}, "a", ttl_s=600, now=NOW)
    handle_message(known, ACK, ack(accepted.id, "accepted", 1), later(1))
    handle_message(known, ACK, ack(done.id, "done", 2), later(2))

    assert commands.expire_overdue(known, later(59)) == 0
    assert commands.expire_overdue(known, later(60)) == 2
    known.commit()

    states = {row.id: reloaded(known, row.id).state for row in (pending, accepted, done, fresh)}
    assert states == {
        pending.id: "expired",
        accepted.id: "expired",
        done.id: "done",
        fresh.id: "pending",
    }
    assert reloaded(known, pending.id).updated_at == later(60)
    # A late "done" does not revive an expired command.
    handle_message(known, ACK, ack(pending.id, "done", 3), later(61))
    assert reloaded(known, pending.id).state == "expired"


def test_the_keeper_expires_and_publishes_held_commands(known: Session) -> None:
    broker = RecordingBroker(down=True)
    held = send_command(known, broker, TERMINAL, "reboot", {}, "a", ttl_s=600, now=NOW)
    overdue = send_command(known, broker, TERMINAL, "restart_ui", {}, "a", ttl_s=10, now=NOW)
    bind = known.get_bind()
    keeper = CommandKeeper(sessionmaker(bind=bind, expire_on_commit=False), broker)

    keeper.run_once(later(20))  # broker still down: expiry only
    assert (reloaded(known, overdue.id).state, reloaded(known, held.id).published_at) == (
        "expired",
        None,
    )
    broker.down = False
    keeper.run_once(later(30))

    assert [c.id for c in broker.commands()] == [held.id]
    assert reloaded(known, held.id).published_at == later(30)


STATUS = topic_for(TERMINAL, Channel.STATUS)


def test_a_terminal_born_again_gets_its_unanswered_commands_again(known: Session) -> None:
    """Published while it was away (clean session: nobody got them), sent again at its birth."""
    broker = RecordingBroker()
    unanswered = send_command(known, broker, TERMINAL, "reboot", {}, "a", ttl_s=600, now=NOW)
    accepted = send_command(known, broker, TERMINAL, "restart_ui", {}, "a", ttl_s=600, now=NOW)
    handle_message(known, ACK, ack(accepted.id, "accepted", 1), later(1))
    overdue = send_command(known, broker, TERMINAL, "wipe_session", {}, "a", ttl_s=10, now=NOW)
    elsewhere = send_command(known, broker, OTHER, "reboot", {}, "a", ttl_s=600, now=NOW)
    keeper = CommandKeeper(sessionmaker(bind=known.get_bind(), expire_on_commit=False), broker)

    # The same birth delivered again (the retained status after a fleet restart): nothing.
    assert not handle_message(
        known, STATUS, status_payload(birth_seq=1), later(20)
    ).commands_to_send
    assert reloaded(known, unanswered.id).published_at == NOW
    # A "lost" will is not a birth either.
    assert not handle_message(
        known, STATUS, status_payload("lost", birth_seq=1), later(25)
    ).commands_to_send

    outcome = handle_message(known, STATUS, status_payload(birth_seq=2, at=later(30)), later(30))

    assert outcome.commands_to_send
    assert reloaded(known, unanswered.id).published_at is None  # waits for the keeper
    assert reloaded(known, accepted.id).published_at == NOW  # the terminal recorded it
    assert reloaded(known, overdue.id).published_at == NOW  # past its expiry
    assert reloaded(known, elsewhere.id).published_at == NOW  # another terminal's
    broker.published.clear()
    keeper.run_once(later(31))
    assert [c.id for c in broker.commands()] == [unanswered.id]
    assert reloaded(known, unanswered.id).published_at == later(31)
    # A new boot is a birth too; a birth with nothing to resend says so.
    handle_message(known, ACK, ack(unanswered.id, "done", 2), later(32))
    assert not handle_message(
        known, STATUS, status_payload(boot_id="boot-2", birth_seq=1, at=later(40)), later(40)
    ).commands_to_send


def test_recent_commands_are_newest_first_and_limited(known: Session) -> None:
    broker = RecordingBroker()
    ids = [
        send_command(known, broker, TERMINAL, "restart_ui", {}, "a", now=later(i)).id
        for i in range(5)
    ]
    send_command(known, broker, OTHER, "reboot", {}, "a", now=later(9))

    recent = commands.recent_commands(known, TERMINAL, limit=3)

    assert [row.id for row in recent] == ids[::-1][:3]
