"""Commands to terminals: issue, publish (the table is the outbox), follow acks, expire.

When the broker is down, a command is still accepted: it is stored ``pending`` with no
``published_at`` and published by the ingest's command keeper as soon as the broker answers
again, unless it expired first. The operator's intent is not lost to a broker restart, the
expiry bounds how late it may act, and publishing twice is harmless because the agent applies a
command at most once by its id.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fleet.crud import utc_now
from fleet.models import CommandRecord, Terminal
from fleet.states import COMMAND_MOVES, CommandState
from kiosk.contract.mqtt import COMMAND_MAX_VALIDITY_S, Channel, Command, CommandAck, topic_for

logger = logging.getLogger(__name__)

COMMAND_QOS: Final = 1
DEFAULT_TTL_S: Final = 300
MIN_TTL_S: Final = 10
#: The terminal refuses a command valid for longer (the contract's bound).
MAX_TTL_S: Final = COMMAND_MAX_VALIDITY_S
#: How many commands the API and the terminal page list.
RECENT_COMMANDS: Final = 50


class BrokerUnavailable(RuntimeError):
    """The MQTT broker cannot take a message now."""


class CommandError(ValueError):
    """A command that cannot be issued; the message says why, for the operator."""


class UnknownTerminal(CommandError):
    """No terminal has this id."""


class InvalidCommand(CommandError):
    """The name, arguments or lifetime do not follow the contract."""


class Publisher(Protocol):
    """What sends a message to the broker (the ingest's MQTT client)."""

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Hand the message to the broker, or raise :class:`BrokerUnavailable`."""


def new_command_id() -> str:
    """A fresh id, never reused: the agent applies each id at most once."""
    return uuid.uuid4().hex


def build_command(
    command_id: str, name: str, args: dict[str, Any], issued_at: datetime, expires_at: datetime
) -> Command:
    """The wire message, validated by the contract; :class:`InvalidCommand` if it is not valid."""
    try:
        return Command.model_validate(
            {
                "id": command_id,
                "name": name,
                "args": args,
                "issued_at": issued_at,
                "expires_at": expires_at,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'command'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidCommand(problems) from exc


def to_message(row: CommandRecord) -> Command:
    return build_command(row.id, row.name, dict(row.args), row.issued_at, row.expires_at)


def send_command(
    session: Session,
    publisher: Publisher | None,
    terminal_id: str,
    name: str,
    args: dict[str, Any] | None,
    issued_by: str,
    ttl_s: int = DEFAULT_TTL_S,
    now: datetime | None = None,
) -> CommandRecord:
    """Validate, store (committed) and publish a command; returns its row.

    ``publisher`` is ``None`` in a process without MQTT: the command waits, like when the broker
    is down, for a process with an ingest to publish it. Raises :class:`CommandError`.
    """
    issued_at = now or utc_now()
    if session.get(Terminal, terminal_id) is None:
        raise UnknownTerminal(f"no terminal {terminal_id!r}")
    if not MIN_TTL_S <= ttl_s <= MAX_TTL_S:
        raise InvalidCommand(f"ttl_s must be between {MIN_TTL_S} and {MAX_TTL_S} seconds")
    message = build_command(
        new_command_id(), name, args or {}, issued_at, issued_at + timedelta(seconds=ttl_s)
    )
    row = CommandRecord(
        id=message.id,
        terminal_id=terminal_id,
        name=message.name,
        args=dict(message.args),
        issued_at=message.issued_at,
        expires_at=message.expires_at,
        issued_by=issued_by,
        state=CommandState.PENDING,
        reason=None,
        published_at=None,
        updated_at=issued_at,
    )
    session.add(row)
    # Stored before publishing: if the broker or this process fails next, the row remains.
    session.commit()
    logger.info(
        "%s issued command %s (%s) to terminal %s, expiring at %s.",
        issued_by,
        row.name,
        row.id,
        terminal_id,
        row.expires_at.isoformat(timespec="seconds"),
    )
    if publisher is not None:
        try:
            _publish(session, publisher, row, message, issued_at)
        except BrokerUnavailable as exc:
            logger.warning(
                "Command %s (%s) to terminal %s not published: %s. It stays pending and is "
                "published when the broker answers again, unless it expires first.",
                row.name,
                row.id,
                terminal_id,
                exc,
            )
    return row


def _publish(
    session: Session, publisher: Publisher, row: CommandRecord, message: Command, at: datetime
) -> None:
    publisher.publish(topic_for(row.terminal_id, Channel.CMD), message.to_bytes(), COMMAND_QOS)
    row.published_at = at
    session.commit()


def publish_waiting(session: Session, publisher: Publisher, now: datetime | None = None) -> int:
    """Publish the pending commands the broker has not taken yet; returns how many went out.

    Stops at the first :class:`BrokerUnavailable` (raised to the caller).
    """
    at = now or utc_now()
    waiting = session.scalars(
        select(CommandRecord)
        .where(
            CommandRecord.state == CommandState.PENDING,
            CommandRecord.published_at.is_(None),
            CommandRecord.expires_at > at,
        )
        .order_by(CommandRecord.issued_at)
    ).all()
    for row in waiting:
        _publish(session, publisher, row, to_message(row), at)
        logger.info(
            "Published command %s (%s) to terminal %s, held while the broker was unreachable.",
            row.name,
            row.id,
            row.terminal_id,
        )
    return len(waiting)


def resend_on_birth(session: Session, terminal_id: str, now: datetime | None = None) -> int:
    """A terminal was born again: hold its published, unanswered, unexpired commands for resending.

    The agent connects with a clean session, so a command published while it was away went to
    no one. Its birth (new boot or new connection) marks them ``published_at = None``: the
    keeper publishes them again at its next pass. Harmless if one did arrive, since the agent
    applies a command at most once by its id. Commands the terminal accepted stay as they are
    (it recorded them). The caller commits; returns how many were marked.
    """
    at = now or utc_now()
    result = session.execute(
        update(CommandRecord)
        .where(
            CommandRecord.terminal_id == terminal_id,
            CommandRecord.state == CommandState.PENDING,
            CommandRecord.published_at.is_not(None),
            CommandRecord.expires_at > at,
        )
        .values(published_at=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info(
            "Terminal %s is back: %d unanswered command(s) will be sent again.", terminal_id, count
        )
    return count


def expire_overdue(session: Session, now: datetime | None = None) -> int:
    """Mark pending or accepted commands past their expiry as ``expired``; the caller commits."""
    at = now or utc_now()
    result = session.execute(
        update(CommandRecord)
        .where(
            CommandRecord.state.in_(COMMAND_MOVES.sources(CommandState.EXPIRED)),
            CommandRecord.expires_at <= at,
        )
        .values(state=CommandState.EXPIRED, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info("%d command(s) expired before their terminal finished them.", count)
    return count


def apply_ack(session: Session, terminal_id: str, ack: CommandAck, at: datetime) -> bool:
    """Move the command along on a terminal's ack; ``False`` if this terminal has no such command.

    Final states never change; an ack out of order (``accepted`` after ``done``) is ignored.
    """
    row = session.get(CommandRecord, ack.id)
    if row is None or row.terminal_id != terminal_id:
        return False
    result = CommandState(ack.result)
    if not COMMAND_MOVES.allows(row.state, result):
        if row.state != result:
            logger.info(
                "Ignored a %r ack from terminal %s for command %s, already %s.",
                ack.result.value,
                terminal_id,
                ack.id,
                row.state,
            )
        return True
    row.state = result
    row.reason = ack.reason
    row.updated_at = at
    if result in (CommandState.FAILED, CommandState.REFUSED):
        logger.warning(
            "Terminal %s %s command %s (%s): %s.",
            terminal_id,
            ack.result,
            row.name,
            row.id,
            ack.reason or "no reason given",
        )
    return True


def recent_commands(
    session: Session, terminal_id: str, limit: int = RECENT_COMMANDS
) -> list[CommandRecord]:
    """The terminal's latest commands, newest first."""
    return list(
        session.scalars(
            select(CommandRecord)
            .where(CommandRecord.terminal_id == terminal_id)
            .order_by(CommandRecord.issued_at.desc(), CommandRecord.id)
            .limit(limit)
        )
    )


def publish_rows(
    session: Session, publisher: Publisher, rows: list[CommandRecord], at: datetime
) -> int:
    """Publish stored commands now (a bulk action's few); returns how many stay held.

    Stops at the first :class:`BrokerUnavailable`: the rest wait for the keeper, as ever.
    """
    for index, row in enumerate(rows):
        try:
            _publish(session, publisher, row, to_message(row), at)
        except BrokerUnavailable as exc:
            logger.warning(
                "%d command(s) not published yet (%s): they wait for the broker.",
                len(rows) - index,
                exc,
            )
            return len(rows) - index
    return 0
