"""Decode one MQTT message through the contract and store it: no MQTT here, so it is testable."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from fleet import commands, crud, rollouts, see_terminal
from fleet.models import (
    CommandAckRecord,
    CommandRecord,
    EventRecord,
    HealthSample,
    RejectedMessage,
    StateChange,
    Terminal,
)
from fleet.states import TERMINAL_MOVES, CommandState, TerminalState
from kiosk.contract import (
    TOPIC_ROOT,
    CommandAck,
    ContractError,
    Event,
    Health,
    Message,
    Status,
    decode_message,
    is_valid_terminal_id,
)

logger = logging.getLogger(__name__)

MAX_DETAIL_CHARS: Final = 300
#: A message the database refused as data (not an outage): counted under this reason.
UNSTORABLE: Final = "unstorable"

OutcomeKind = Literal["stored", "duplicate", "stale", "rejected"]


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    """Which ``sent_at`` the fleet believes: at most ``skew_s`` ahead of its own clock, at most
    ``max_age_s`` (a report may wait days in a terminal's queue) plus ``skew_s`` behind.

    A message outside is still stored, filed at the fleet's time; its claim is kept for
    de-duplication, and the terminal is marked with the clock error.
    """

    skew_s: float = 300.0
    max_age_s: float = 8 * 86400.0

    def believes(self, claimed: datetime, received_at: datetime) -> bool:
        ahead = (claimed - received_at).total_seconds()
        return -(self.max_age_s + self.skew_s) <= ahead <= self.skew_s

    def on_time(self, claimed: datetime, received_at: datetime) -> bool:
        """Sent just now, by a clock that agrees with the fleet's (within the skew)."""
        return abs((claimed - received_at).total_seconds()) <= self.skew_s


DEFAULT_CLOCK: Final = ClockPolicy()


@dataclass(frozen=True, slots=True)
class Filed:
    """When a report is filed: its own ``sent_at`` when believed, else the fleet's time."""

    sent_at: datetime
    #: The terminal's claim, when it was not believed.
    claimed_sent_at: datetime | None


def file_report(
    terminal: Terminal, claimed: datetime, received_at: datetime, clock: ClockPolicy
) -> Filed:
    """File a report and keep the terminal's clock status up to date."""
    if clock.believes(claimed, received_at):
        if terminal.clock_error_s is not None and clock.on_time(claimed, received_at):
            terminal.clock_error_s = None
            terminal.clock_error_at = None
        return Filed(claimed, None)
    _note_clock_error(terminal, claimed, received_at)
    return Filed(received_at, claimed)


def _note_clock_error(terminal: Terminal, claimed: datetime, received_at: datetime) -> None:
    error_s = (claimed - received_at).total_seconds()
    if terminal.clock_error_s is None:
        logger.warning(
            "Terminal %s sends times %+.0f s away from the fleet's clock; its reports are "
            "filed at the fleet's time and the dashboard shows the clock problem.",
            terminal.id,
            error_s,
        )
    terminal.clock_error_s = error_s
    terminal.clock_error_at = received_at


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message."""

    kind: OutcomeKind
    terminal_id: str | None
    reason: str | None = None
    #: Commands wait to be sent again (the terminal was just born): run the keeper now.
    commands_to_send: bool = False


def handle_message(
    session: Session,
    topic: str,
    payload: bytes,
    received_at: datetime,
    clock: ClockPolicy = DEFAULT_CLOCK,
) -> Outcome:
    """Decode and store one message in its own transaction (committed here).

    Bad input is counted in ``rejected_messages`` and never raises; a database error does,
    and the caller keeps the message to store it again.
    """
    item = Received(topic, payload, received_at)
    try:
        [outcome] = handle_batch(session, [item], clock)
    except BatchAborted as aborted:
        outcome = _count_rejection(session, topic, aborted.error, received_at)
        session.commit()
    return outcome


@dataclass(frozen=True, slots=True)
class Received:
    """One message as it came off the broker, waiting for the batch writer.

    ``mid``, ``qos`` and ``link`` say how to acknowledge it to the broker once it is committed
    (``link``: which connection it came on; an ack never goes to another one).
    """

    topic: str
    payload: bytes
    received_at: datetime
    mid: int = 0
    qos: int = 0
    link: int = 0


class BatchAborted(Exception):
    """A message failed after it had changed the session: the batch is split and retried."""

    def __init__(self, topic: str, error: ContractError) -> None:
        super().__init__(f"{topic[:100]!r}: {error.reason}")
        self.error = error


def handle_batch(
    session: Session, batch: Sequence[Received], clock: ClockPolicy = DEFAULT_CLOCK
) -> list[Outcome]:
    """Decode and store many messages in ONE transaction (committed here), in order.

    Health reports, nearly all of the traffic, take a fast path: one query finds those already
    stored, the new ones go in with one multi-row INSERT, and each terminal's latest figures
    are updated once. What the contract refuses, and what cannot be applied (an ack for a
    command this terminal does not have), is found before anything is changed and counted in
    the same transaction: a poison message costs only itself. A database error rolls the
    session back and raises ``SQLAlchemyError``; the writer then holds or splits the batch.
    """
    outcomes: list[Outcome | None] = [None] * len(batch)
    reports: list[tuple[int, Terminal, Health, datetime]] = []
    try:
        for index, item in enumerate(batch):
            try:
                address, message = decode_message(item.topic, item.payload)
                _refuse_what_cannot_apply(session, address.terminal_id, message)
            except ContractError as error:
                outcomes[index] = _count_rejection(session, item.topic, error, item.received_at)
                continue
            if isinstance(message, Health):
                terminal = crud.get_or_create_terminal(
                    session, address.terminal_id, item.received_at
                )
                reports.append((index, terminal, message, item.received_at))
                continue
            try:
                outcomes[index] = _store(
                    session, address.terminal_id, message, item.received_at, clock
                )
            except ContractError as error:
                raise BatchAborted(item.topic, error) from error
        _store_health_reports(session, reports, outcomes, clock)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return [outcome for outcome in outcomes if outcome is not None]


def _refuse_what_cannot_apply(session: Session, terminal_id: str, message: Message) -> None:
    """Raise :class:`ContractError` for a valid message the fleet cannot apply, before the
    session is touched (so the rest of a batch goes on)."""
    if not isinstance(message, Status | Health | Event | CommandAck):
        # cmd and desired flow from the fleet to terminals; a terminal cannot publish them (ACL).
        raise ContractError("bad_topic", f"{type(message).__name__} is not sent by terminals")
    if isinstance(message, CommandAck):
        command_terminal = session.scalar(
            select(CommandRecord.terminal_id).where(CommandRecord.id == message.id)
        )
        if command_terminal != terminal_id:
            # Not one of this terminal's commands (forgotten, or another terminal's): counted.
            raise ContractError("unknown_command", f"no command {message.id!r} for this terminal")


def count_unstorable(session: Session, item: Received, detail: str) -> Outcome:
    """Count a message the database refused as data, in its own transaction (committed)."""
    outcome = _count_rejection(
        session, item.topic, ContractError(UNSTORABLE, detail), item.received_at
    )
    session.commit()
    return outcome


def _store_health_reports(
    session: Session,
    reports: list[tuple[int, Terminal, Health, datetime]],
    outcomes: list[Outcome | None],
    clock: ClockPolicy,
) -> None:
    """The health reports of a batch: de-duplicated by (terminal, seq, sent_at as the terminal
    said it), then inserted."""
    if not reports:
        return
    session.flush()  # new terminals first: the reports refer to them
    claims = {h.sent_at for _, _, h, _ in reports}
    found = session.execute(
        select(
            HealthSample.terminal_id,
            HealthSample.seq,
            HealthSample.sent_at,
            HealthSample.claimed_sent_at,
        ).where(
            HealthSample.terminal_id.in_({t.id for _, t, _, _ in reports}),
            HealthSample.seq.in_({h.seq for _, _, h, _ in reports}),
            or_(HealthSample.sent_at.in_(claims), HealthSample.claimed_sent_at.in_(claims)),
        )
    )
    seen: set[tuple[str, int, datetime]] = {(row[0], row[1], row[3] or row[2]) for row in found}
    rows: list[dict[str, object]] = []
    for index, terminal, health, at in reports:
        terminal.last_seen_at = at
        key = (terminal.id, health.seq, health.sent_at)
        if key in seen:
            outcomes[index] = Outcome("duplicate", terminal.id)
            continue
        seen.add(key)
        filed = file_report(terminal, health.sent_at, at, clock)
        rows.append(
            {
                "terminal_id": terminal.id,
                "seq": health.seq,
                "sent_at": filed.sent_at,
                "claimed_sent_at": filed.claimed_sent_at,
                "received_at": at,
                "payload": health.model_dump(mode="json"),
            }
        )
        _apply_latest_health(terminal, health, filed.sent_at)
        outcomes[index] = Outcome("stored", terminal.id)
    if rows:
        session.execute(insert(HealthSample), rows)


def _store(
    session: Session, terminal_id: str, message: Message, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal = crud.get_or_create_terminal(session, terminal_id, at)
    if isinstance(message, Status):
        return _apply_status(session, terminal, message, at, clock)
    if isinstance(message, Health):
        return _store_health(session, terminal, message, at, clock)
    if isinstance(message, Event):
        return _store_event(session, terminal, message, at, clock)
    if isinstance(message, CommandAck):
        return _store_ack(session, terminal, message, at, clock)
    raise ContractError("bad_topic", f"{type(message).__name__} is not sent by terminals")


def _apply_status(
    session: Session, terminal: Terminal, status: Status, at: datetime, clock: ClockPolicy
) -> Outcome:
    """Presence: the newest birth wins, whatever order the broker delivers retained copies in."""
    # A retained status may be old, so only a clock ahead of the fleet's says something here.
    state = TerminalState(status.state)
    if state == TerminalState.ONLINE and (status.sent_at - at).total_seconds() > clock.skew_s:
        _note_clock_error(terminal, status.sent_at, at)
    if (
        terminal.boot_id == status.boot_id
        and terminal.birth_seq is not None
        and status.birth_seq < terminal.birth_seq
    ):
        logger.info(
            "Ignored a stale %r status from terminal %s (birth %d, already saw birth %d).",
            state.value,
            terminal.id,
            status.birth_seq,
            terminal.birth_seq,
        )
        return Outcome("stale", terminal.id)
    if terminal.state != state:
        terminal.state = TERMINAL_MOVES.check(terminal.state, state)
        terminal.state_since = at
        # The history the dashboard shows and the flapping rule counts. A new terminal's row
        # goes first: without a relationship, the unit of work does not order the two.
        if terminal in session.new:
            session.flush()
        session.add(StateChange(terminal_id=terminal.id, at=at, state=state.value))
    born = state == TerminalState.ONLINE and (terminal.boot_id, terminal.birth_seq) != (
        status.boot_id,
        status.birth_seq,
    )
    terminal.boot_id = status.boot_id
    terminal.birth_seq = status.birth_seq
    terminal.keepalive_s = status.keepalive_s
    if state != TerminalState.LOST:
        # "lost" is the will the broker sends on the terminal's behalf: it was not seen.
        terminal.last_seen_at = at
        terminal.versions = dict(status.versions)
    resend = born and commands.resend_on_birth(session, terminal.id, at) > 0
    return Outcome("stored", terminal.id, commands_to_send=resend)


def _store_health(
    session: Session, terminal: Terminal, health: Health, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal.last_seen_at = at
    if _exists(session, HealthSample, terminal.id, health.seq, health.sent_at):
        return Outcome("duplicate", terminal.id)
    filed = file_report(terminal, health.sent_at, at, clock)
    session.add(
        HealthSample(
            terminal_id=terminal.id,
            seq=health.seq,
            sent_at=filed.sent_at,
            claimed_sent_at=filed.claimed_sent_at,
            received_at=at,
            payload=health.model_dump(mode="json"),
        )
    )
    _apply_latest_health(terminal, health, filed.sent_at)
    return Outcome("stored", terminal.id)


def _apply_latest_health(terminal: Terminal, health: Health, filed_at: datetime) -> None:
    # A report forwarded late from the agent's queue is history, not the current picture.
    if terminal.health_at is None or filed_at >= terminal.health_at:
        terminal.cpu_percent = health.cpu_percent
        terminal.memory_percent = health.memory_percent
        terminal.disk_percent = max((d.used_percent for d in health.disks), default=None)
        terminal.temperature_c = max(health.temperatures_c.values(), default=None)
        terminal.uptime_s = health.uptime_s
        _apply_richer_health(terminal, health)
        terminal.health_at = filed_at


def _apply_richer_health(terminal: Terminal, health: Health) -> None:
    """The figures newer agents send; an absent one becomes unknown, not the old value."""
    ui, enclosure = health.ui, health.enclosure
    terminal.ui_alive = None if ui is None else ui.alive
    terminal.last_wipe_ok = None if ui is None else ui.last_wipe_ok
    terminal.door_open = None if enclosure is None else enclosure.door_open
    terminal.enclosure_temperature_c = None if enclosure is None else enclosure.temperature_c
    terminal.clock_synced = health.clock_synced
    terminal.clock_offset_ms = health.clock_offset_ms
    terminal.dropped_samples = health.dropped_samples


def _store_event(
    session: Session, terminal: Terminal, event: Event, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal.last_seen_at = at
    if _exists(session, EventRecord, terminal.id, event.seq, event.sent_at):
        return Outcome("duplicate", terminal.id)
    filed = file_report(terminal, event.sent_at, at, clock)
    if filed.claimed_sent_at is not None:
        event = event.model_copy(update={"sent_at": filed.sent_at})
    if event.kind == rollouts.EVENT_KIND:
        # Before the event's row: a new terminal's row must be flushed first (no relationship).
        if terminal in session.new:
            session.flush()
        rollouts.apply_content_event(session, terminal, event, at)
    session.add(
        EventRecord(
            terminal_id=terminal.id,
            seq=event.seq,
            kind=event.kind,
            sent_at=filed.sent_at,
            claimed_sent_at=filed.claimed_sent_at,
            received_at=at,
            data=dict(event.data),
        )
    )
    return Outcome("stored", terminal.id)


def _store_ack(
    session: Session, terminal: Terminal, ack: CommandAck, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal.last_seen_at = at
    if _exists(session, CommandAckRecord, terminal.id, ack.seq, ack.sent_at):
        return Outcome("duplicate", terminal.id)
    if not commands.apply_ack(session, terminal.id, ack, at):
        # Checked before (_refuse_what_cannot_apply); here only if the command vanished since.
        raise ContractError("unknown_command", f"no command {ack.id!r} for this terminal")
    if ack.output is not None:
        command = session.get(CommandRecord, ack.id)
        if command is not None and command.state == CommandState.DONE:
            see_terminal.store_output(session, command, ack.output, at)
    filed = file_report(terminal, ack.sent_at, at, clock)
    session.add(
        CommandAckRecord(
            terminal_id=terminal.id,
            command_id=ack.id,
            result=ack.result,
            reason=ack.reason,
            seq=ack.seq,
            sent_at=filed.sent_at,
            claimed_sent_at=filed.claimed_sent_at,
            received_at=at,
        )
    )
    return Outcome("stored", terminal.id)


def _exists(
    session: Session,
    model: type[HealthSample] | type[EventRecord] | type[CommandAckRecord],
    terminal_id: str,
    seq: int,
    claimed: datetime,
) -> bool:
    """Whether this report is stored: by (terminal, seq, sent_at as the terminal said it)."""
    query = select(model.id).where(
        model.terminal_id == terminal_id,
        model.seq == seq,
        or_(model.sent_at == claimed, model.claimed_sent_at == claimed),
    )
    return session.scalar(query.limit(1)) is not None


def terminal_id_of(topic: str) -> str | None:
    """The terminal id in a topic, when there is a valid one, even if the rest is wrong."""
    prefix = TOPIC_ROOT + "/"
    if not topic.startswith(prefix):
        return None
    candidate = topic[len(prefix) :].partition("/")[0]
    return candidate if is_valid_terminal_id(candidate) else None


def _count_rejection(session: Session, topic: str, error: ContractError, at: datetime) -> Outcome:
    terminal_id = terminal_id_of(topic)
    row = session.scalar(
        select(RejectedMessage).where(
            RejectedMessage.terminal_id.is_(None)
            if terminal_id is None
            else RejectedMessage.terminal_id == terminal_id,
            RejectedMessage.reason == error.reason,
        )
    )
    detail = f"{topic[:100]!r}: {error.detail}"[:MAX_DETAIL_CHARS]
    if row is None:
        row = RejectedMessage(
            terminal_id=terminal_id, reason=error.reason, count=0, first_at=at, last_at=at
        )
        session.add(row)
        logger.warning(
            "Rejected a message from terminal %s (%s: %s). Dropped; further %s messages "
            "from it are only counted on the dashboard.",
            terminal_id or "(unknown id)",
            error.reason,
            detail,
            error.reason,
        )
    row.count += 1
    row.last_at = at
    row.last_detail = detail
    return Outcome("rejected", terminal_id, error.reason)
