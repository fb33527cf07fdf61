"""Decode one MQTT message through the contract and store it: no MQTT here, so it is testable.

Over 400 lines because it is the one path from a received message to stored rows: the batch's
statements, the clock policy and the refusals must be read together to see that nothing
acknowledged is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NamedTuple, cast

from sqlalchemy import Table, Update, bindparam, insert, inspect, or_, select, update
from sqlalchemy.orm import Session

from fleet import commands, crud, see_terminal
from fleet.models import (
    CommandAckRecord,
    CommandRecord,
    EventRecord,
    HealthSample,
    RejectedMessage,
    StateChange,
    Terminal,
)
from fleet.rollouts import engine as rollout_engine
from fleet.states import TERMINAL_MOVES, CommandState, TerminalState
from kiosk.contract.mqtt import (
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
#: Terminal ids remembered as having a row (see :class:`KnownTerminals`), beyond which the
#: memory starts again empty: 40 bytes an id at most, some 100 MB for a million.
KNOWN_TERMINALS_LIMIT: Final = 1_000_000

OutcomeKind = Literal["stored", "duplicate", "stale", "rejected"]
#: What terminals publish (a tuple: ``isinstance`` with a ``|`` union builds it at every call).
TERMINAL_MESSAGES: Final = (Status, Health, Event, CommandAck)


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
        _warn_clock_error(terminal.id, error_s)
    terminal.clock_error_s = error_s
    terminal.clock_error_at = received_at


def _warn_clock_error(terminal_id: str, error_s: float) -> None:
    logger.warning(
        "Terminal %s sends times %+.0f s away from the fleet's clock; its reports are "
        "filed at the fleet's time and the dashboard shows the clock problem.",
        terminal_id,
        error_s,
    )


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
    session: Session,
    batch: Sequence[Received],
    clock: ClockPolicy = DEFAULT_CLOCK,
    terminals: KnownTerminals | None = None,
) -> list[Outcome]:
    """Decode and store many messages in ONE transaction (committed here), in order.

    Health reports, nearly all of the traffic, take a fast path: one query finds those already
    stored, the new ones go in with one multi-row INSERT, and each terminal's latest figures
    are updated once. What the contract refuses, and what cannot be applied (an ack for a
    command this terminal does not have), is found before anything is changed and counted in
    the same transaction: a poison message costs only itself. A database error rolls the
    session back and raises ``SQLAlchemyError``; the writer then holds or splits the batch.
    """
    known = terminals if terminals is not None else KnownTerminals()
    memo = BatchMemo()
    outcomes: list[Outcome | None] = [None] * len(batch)
    reports: list[Report] = []
    try:
        for index, item in enumerate(batch):
            try:
                address, message = decode_message(item.topic, item.payload)
                _refuse_what_cannot_apply(session, address.terminal_id, message, memo)
            except ContractError as error:
                outcomes[index] = _count_rejection(
                    session, item.topic, error, item.received_at, memo
                )
                continue
            if isinstance(message, Health):
                reports.append(Report(index, address.terminal_id, message, item.received_at))
                continue
            try:
                outcomes[index] = _store(
                    session, address.terminal_id, message, item.received_at, clock
                )
            except ContractError as error:
                raise BatchAborted(item.topic, error) from error
        created = _store_health_reports(session, reports, outcomes, clock, known)
        session.commit()
    except BaseException:
        session.rollback()
        # A terminal row may have gone (or never come): check them all again next time.
        known.forget()
        raise
    known.add(created)
    return [outcome for outcome in outcomes if outcome is not None]


@dataclass(slots=True)
class BatchMemo:
    """What one batch already looked up, so that many messages alike cost one query: the
    rejection counters it touched, and the commands its acknowledgements name."""

    rejected: dict[tuple[str | None, str], RejectedMessage] = field(default_factory=dict)
    command_terminal: dict[str, str | None] = field(default_factory=dict)


def _refuse_what_cannot_apply(
    session: Session, terminal_id: str, message: Message, memo: BatchMemo
) -> None:
    """Raise :class:`ContractError` for a valid message the fleet cannot apply, before the
    session is touched (so the rest of a batch goes on)."""
    if not isinstance(message, TERMINAL_MESSAGES):
        # cmd and desired flow from the fleet to terminals; a terminal cannot publish them (ACL).
        raise ContractError("bad_topic", f"{type(message).__name__} is not sent by terminals")
    if isinstance(message, CommandAck):
        if message.id not in memo.command_terminal:
            memo.command_terminal[message.id] = session.scalar(
                select(CommandRecord.terminal_id).where(CommandRecord.id == message.id)
            )
        command_terminal = memo.command_terminal[message.id]
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


class Report(NamedTuple):
    """A health report of the batch, decoded, waiting for the fast path."""

    position: int
    terminal_id: str
    health: Health
    at: datetime


class KnownTerminals:
    """The terminals whose row this ingest has seen committed: their reports cost no SELECT.

    The fleet never deletes a terminal's row (a terminal is decommissioned, not removed). Should
    one go all the same, the batch that names it fails on the foreign key, :func:`handle_batch`
    forgets every id, and the writer's retry (it splits a batch the database refuses) makes the
    row again first: nothing is lost.
    """

    def __init__(self, limit: int = KNOWN_TERMINALS_LIMIT) -> None:
        self._ids: set[str] = set()
        self._limit = limit

    def missing(self, terminal_ids: set[str]) -> set[str]:
        return terminal_ids - self._ids

    def add(self, terminal_ids: set[str]) -> None:
        if len(self._ids) + len(terminal_ids) > self._limit:
            self._ids.clear()
        self._ids |= terminal_ids

    def forget(self) -> None:
        self._ids.clear()


def latest_health_values(health: Health) -> dict[str, object]:
    """A terminal's latest figures, from its newest report; an absent one becomes unknown."""
    ui, enclosure = health.ui, health.enclosure
    return {
        "cpu_percent": health.cpu_percent,
        "memory_percent": health.memory_percent,
        "disk_percent": max((d.used_percent for d in health.disks), default=None),
        "temperature_c": max(health.temperatures_c.values(), default=None),
        "uptime_s": health.uptime_s,
        "ui_alive": None if ui is None else ui.alive,
        "last_wipe_ok": None if ui is None else ui.last_wipe_ok,
        "door_open": None if enclosure is None else enclosure.door_open,
        "enclosure_temperature_c": None if enclosure is None else enclosure.temperature_c,
        "clock_synced": health.clock_synced,
        "clock_offset_ms": health.clock_offset_ms,
        "dropped_samples": health.dropped_samples,
    }


_HEALTH: Final = cast(Table, HealthSample.__table__)
_TERMINALS: Final = cast(Table, Terminal.__table__)
_TERMINAL_MAPPER: Final = inspect(Terminal)
#: The columns :func:`latest_health_values` sets.
_LATEST_COLUMNS: Final = (
    "cpu_percent",
    "memory_percent",
    "disk_percent",
    "temperature_c",
    "uptime_s",
    "ui_alive",
    "last_wipe_ok",
    "door_open",
    "enclosure_temperature_c",
    "clock_synced",
    "clock_offset_ms",
    "dropped_samples",
)


def _latest_health_update() -> Update:
    """Each terminal's figures from its newest report, unless a newer one is already there."""
    filed_at = bindparam("b_health_at", type_=_TERMINALS.c.health_at.type)
    return (
        update(_TERMINALS)
        .where(
            _TERMINALS.c.id == bindparam("b_id"),
            or_(_TERMINALS.c.health_at.is_(None), _TERMINALS.c.health_at <= filed_at),
        )
        .values(
            {name: bindparam(f"b_{name}") for name in _LATEST_COLUMNS} | {"health_at": filed_at}
        )
    )


_LATEST_HEALTH: Final = _latest_health_update()
#: When a terminal was last seen; with its clock found right again, or wrong.
_SEEN: Final = (
    update(_TERMINALS)
    .where(_TERMINALS.c.id == bindparam("b_id"))
    .values(last_seen_at=bindparam("b_seen", type_=_TERMINALS.c.last_seen_at.type))
)
_SEEN_CLOCK_RIGHT: Final = _SEEN.values(clock_error_s=None, clock_error_at=None)
_SEEN_CLOCK_WRONG: Final = _SEEN.values(
    clock_error_s=bindparam("b_error_s"),
    clock_error_at=bindparam("b_error_at", type_=_TERMINALS.c.clock_error_at.type),
)


def _store_health_reports(
    session: Session,
    reports: list[Report],
    outcomes: list[Outcome | None],
    clock: ClockPolicy,
    known: KnownTerminals,
) -> set[str]:
    """The health reports of a batch, in SQL statements of the whole batch (no ORM objects):
    de-duplicated by (terminal, seq, sent_at as the terminal said it), inserted, and each
    terminal's latest figures, last sighting and clock status updated once.

    Returns the ids of the terminals named (their rows exist once the batch is committed).
    """
    if not reports:
        return set()
    session.flush()  # what the batch's other messages changed goes first
    connection = session.connection()
    first_seen: dict[str, datetime] = {}
    for report in reports:
        first_seen.setdefault(report.terminal_id, report.at)
    missing = known.missing(set(first_seen))
    if missing:
        crud.insert_terminals_unless_present(session, {t: first_seen[t] for t in missing})
    claims = {r.health.sent_at for r in reports}
    found = connection.execute(
        select(
            _HEALTH.c.terminal_id, _HEALTH.c.seq, _HEALTH.c.sent_at, _HEALTH.c.claimed_sent_at
        ).where(
            _HEALTH.c.terminal_id.in_(first_seen),
            _HEALTH.c.seq.in_({r.health.seq for r in reports}),
            or_(_HEALTH.c.sent_at.in_(claims), _HEALTH.c.claimed_sent_at.in_(claims)),
        )
    )
    seen: set[tuple[str, int, datetime]] = {(row[0], row[1], row[3] or row[2]) for row in found}
    rows: list[dict[str, object]] = []
    last_seen: dict[str, datetime] = {}
    #: Per terminal, its newest report: (filed at, report).
    newest: dict[str, tuple[datetime, Health]] = {}
    #: Per terminal, what its last report on time or unbelieved said of its clock: None if
    #: right, else (error in seconds, when).
    clock_says: dict[str, tuple[float, datetime] | None] = {}
    for index, terminal_id, health, at in reports:
        last_seen[terminal_id] = at
        key = (terminal_id, health.seq, health.sent_at)
        if key in seen:
            outcomes[index] = Outcome("duplicate", terminal_id)
            continue
        seen.add(key)
        claimed = health.sent_at
        if clock.believes(claimed, at):
            filed_at, kept_claim = claimed, None
            if clock.on_time(claimed, at):
                clock_says[terminal_id] = None
        else:
            filed_at, kept_claim = at, claimed
            clock_says[terminal_id] = ((claimed - at).total_seconds(), at)
        rows.append(
            {
                "terminal_id": terminal_id,
                "seq": health.seq,
                "sent_at": filed_at,
                "claimed_sent_at": kept_claim,
                "received_at": at,
                "payload": health.model_dump(mode="json"),
            }
        )
        current = newest.get(terminal_id)
        # A report forwarded late from the agent's queue is history, not the current picture.
        if current is None or filed_at >= current[0]:
            newest[terminal_id] = (filed_at, health)
        outcomes[index] = Outcome("stored", terminal_id)
    if rows:
        connection.execute(insert(_HEALTH), rows)
    if newest:
        connection.execute(
            _LATEST_HEALTH,
            [
                {"b_id": terminal_id, "b_health_at": filed_at}
                | {f"b_{name}": value for name, value in latest_health_values(health).items()}
                for terminal_id, (filed_at, health) in newest.items()
            ],
        )
    _update_sightings(session, last_seen, clock_says)
    return set(first_seen)


def _update_sightings(
    session: Session,
    last_seen: dict[str, datetime],
    clock_says: dict[str, tuple[float, datetime] | None],
) -> None:
    """Each terminal's last sighting, and its clock status where a report said something."""
    connection = session.connection()
    right = [t for t in last_seen if t in clock_says and clock_says[t] is None]
    wrong = {t: error for t, error in clock_says.items() if error is not None}
    silent = [t for t in last_seen if t not in clock_says]
    if wrong:
        newly = connection.scalars(
            select(_TERMINALS.c.id).where(
                _TERMINALS.c.id.in_(wrong), _TERMINALS.c.clock_error_s.is_(None)
            )
        )
        for terminal_id in newly:
            _warn_clock_error(terminal_id, wrong[terminal_id][0])
        connection.execute(
            _SEEN_CLOCK_WRONG,
            [
                {"b_id": t, "b_seen": last_seen[t], "b_error_s": error_s, "b_error_at": at}
                for t, (error_s, at) in wrong.items()
            ],
        )
    for statement, terminal_ids in ((_SEEN_CLOCK_RIGHT, right), (_SEEN, silent)):
        if terminal_ids:
            connection.execute(
                statement, [{"b_id": t, "b_seen": last_seen[t]} for t in terminal_ids]
            )
    # The session may hold some of these terminals (a status in the same batch, or a caller's
    # session): they are read again rather than kept stale.
    identities = session.identity_map
    for terminal_id in last_seen:
        held = identities.get(_TERMINAL_MAPPER.identity_key_from_primary_key((terminal_id,)))
        if held is not None:
            session.expire(held)


def _store(
    session: Session, terminal_id: str, message: Message, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal = crud.get_or_create_terminal(session, terminal_id, at)
    if isinstance(message, Status):
        return _apply_status(session, terminal, message, at, clock)
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


def _store_event(
    session: Session, terminal: Terminal, event: Event, at: datetime, clock: ClockPolicy
) -> Outcome:
    terminal.last_seen_at = at
    if _exists(session, EventRecord, terminal.id, event.seq, event.sent_at):
        return Outcome("duplicate", terminal.id)
    filed = file_report(terminal, event.sent_at, at, clock)
    if filed.claimed_sent_at is not None:
        event = event.model_copy(update={"sent_at": filed.sent_at})
    if event.kind == rollout_engine.EVENT_KIND:
        # Before the event's row: a new terminal's row must be flushed first (no relationship).
        if terminal in session.new:
            session.flush()
        rollout_engine.apply_content_event(session, terminal, event, at)
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


def _count_rejection(
    session: Session,
    topic: str,
    error: ContractError,
    at: datetime,
    memo: BatchMemo | None = None,
) -> Outcome:
    terminal_id = terminal_id_of(topic)
    key = (terminal_id, error.reason)
    row = memo.rejected.get(key) if memo is not None else None
    if row is None:
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
    if memo is not None:
        memo.rejected[key] = row
    row.count += 1
    row.last_at = at
    row.last_detail = detail
    return Outcome("rejected", terminal_id, error.reason)
