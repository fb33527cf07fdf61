"""See the terminal: its last log lines and a picture of its idle screen, on demand.

The operator asks from the terminal's page; the fleet sends a ``logs`` or ``screenshot``
command through the usual path (stored first, published when the broker answers, held until
the terminal is back, expired if it does not come back in time). The terminal's ``done`` ack
carries the output (:class:`kiosk.contract.mqtt.CommandOutput`), which the ingest stores here; only
the latest :data:`KEEP_PER_KIND` of each kind are kept per terminal.

What is stored was already bounded and checked by the contract: log lines redacted (no URL,
e-mail or long number) from the appliance's own units, and a PNG of at most
:data:`kiosk.contract.mqtt.SCREENSHOT_MAX_BYTES` taken only on the attract or home screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fleet.models import CommandOutputRecord, CommandRecord
from fleet.states import CommandState
from kiosk.contract.mqtt import CommandOutput, LogLine, Reason

#: The commands of this feature, and what each brings back.
SEE_COMMANDS: Final = ("logs", "screenshot")
#: Outputs kept per terminal and kind (older ones are deleted as new ones arrive).
KEEP_PER_KIND: Final = 3
#: What the terminal says when it refuses a picture because a resident is there.
IN_USE_REASONS: Final = frozenset({Reason.SCREEN_IN_USE.value, Reason.SESSION_OPEN.value})


def store_output(
    session: Session, command: CommandRecord, output: CommandOutput, at: datetime
) -> None:
    """Keep what ``command`` brought back (the caller commits), and forget the older ones."""
    kind = command.name
    if kind not in SEE_COMMANDS or session.get(CommandOutputRecord, command.id) is not None:
        return
    lines = (
        [line.model_dump(mode="json") for line in output.logs]
        if kind == "logs" and output.logs is not None
        else None
    )
    png = output.png() if kind == "screenshot" else None
    if lines is None and png is None:
        return
    session.add(
        CommandOutputRecord(
            command_id=command.id,
            terminal_id=command.terminal_id,
            kind=kind,
            received_at=at,
            lines=lines,
            png=png,
        )
    )
    session.flush()
    keep = (
        select(CommandOutputRecord.command_id)
        .where(
            CommandOutputRecord.terminal_id == command.terminal_id,
            CommandOutputRecord.kind == kind,
        )
        .order_by(CommandOutputRecord.received_at.desc(), CommandOutputRecord.command_id)
        .limit(KEEP_PER_KIND)
    )
    kept = list(session.scalars(keep))
    session.execute(
        delete(CommandOutputRecord)
        .where(
            CommandOutputRecord.terminal_id == command.terminal_id,
            CommandOutputRecord.kind == kind,
            CommandOutputRecord.command_id.not_in(kept),
        )
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Seen:
    """The latest request of one kind for a terminal, and what came of it."""

    command: CommandRecord
    output: CommandOutputRecord | None

    @property
    def in_use(self) -> bool:
        """Refused because a resident is using the terminal."""
        return (
            self.command.state == CommandState.REFUSED
            and (self.command.reason or "") in IN_USE_REASONS
        )

    @property
    def waiting(self) -> bool:
        return self.command.state in (CommandState.PENDING, CommandState.ACCEPTED)


def latest(session: Session, terminal_id: str, kind: str) -> Seen | None:
    """The latest ``kind`` command sent to the terminal, with its output if it came."""
    command = session.scalars(
        select(CommandRecord)
        .where(CommandRecord.terminal_id == terminal_id, CommandRecord.name == kind)
        .order_by(CommandRecord.issued_at.desc(), CommandRecord.id)
        .limit(1)
    ).first()
    if command is None:
        return None
    return Seen(command, session.get(CommandOutputRecord, command.id))


def latest_output(session: Session, terminal_id: str, kind: str) -> CommandOutputRecord | None:
    """The latest output of ``kind`` received from the terminal (an older request's, maybe)."""
    return session.scalars(
        select(CommandOutputRecord)
        .where(CommandOutputRecord.terminal_id == terminal_id, CommandOutputRecord.kind == kind)
        .order_by(CommandOutputRecord.received_at.desc(), CommandOutputRecord.command_id)
        .limit(1)
    ).first()


def stored_lines(row: CommandOutputRecord) -> list[LogLine]:
    """The stored log lines, read back through the contract's model (times as datetimes)."""
    return [LogLine.model_validate(line) for line in row.lines or []]


def context(session: Session, terminal_id: str) -> dict[str, Any]:
    """What the terminal page's "See the terminal" panel shows."""
    logs_output = latest_output(session, terminal_id, "logs")
    return {
        "see_logs": latest(session, terminal_id, "logs"),
        "see_logs_output": logs_output,
        "see_logs_lines": [] if logs_output is None else stored_lines(logs_output),
        "see_screen": latest(session, terminal_id, "screenshot"),
        "see_screen_output": latest_output(session, terminal_id, "screenshot"),
    }
