"""Acting on many terminals at once: a command, a maintenance window or acknowledging alerts.

The operator picks terminals by ticking them, or takes every terminal matching a filter. A
filter is never expanded into the form: the server applies it again, in SQL, when the action is
done, so the same works at 50 and at 100,000 terminals. An action is done in one transaction
with one audit entry naming its targets (the list, or the filter and how many matched), and
only if the terminals still number what the operator confirmed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, func, insert, literal, select, update
from sqlalchemy.orm import Session

from fleet import audit, commands
from fleet.i18n import N_
from fleet.models import Alert, CommandRecord, MaintenanceWindow, Terminal
from fleet.states import ALERT_MOVES, AlertState, CommandState, TerminalState

logger = logging.getLogger(__name__)

#: The commands that may be sent to many terminals (those of the terminal page's buttons).
BULK_COMMANDS: Final = ("reboot", "restart_ui", "wipe_session", "refresh_content")
#: The actions: one per command, a maintenance window, acknowledging open alerts.
MAINTENANCE: Final = "maintenance"
ACKNOWLEDGE: Final = "acknowledge"
ACTIONS: Final = (*(f"command:{name}" for name in BULK_COMMANDS), MAINTENANCE, ACKNOWLEDGE)
#: States the filter offers (stored states of a terminal).
FILTER_STATES: Final = (
    TerminalState.ONLINE,
    TerminalState.OFFLINE,
    TerminalState.LOST,
    TerminalState.UNKNOWN,
)
MAX_TEXT: Final = 80
#: At most this many ticked terminals; beyond it, the filter says it better.
MAX_TICKED: Final = 1000
MAX_WINDOW_MINUTES: Final = 7 * 24 * 60
MAX_REASON_CHARS: Final = 200
#: At most this many commands are published by the request itself; more are left to the
#: keeper (the table is the outbox), which publishes them within seconds.
PUBLISH_IN_REQUEST: Final = 100
#: Audit actions, one per kind of bulk action.
AUDIT_ACTIONS: Final = {
    "command": "bulk_command_sent",
    MAINTENANCE: "bulk_maintenance_opened",
    ACKNOWLEDGE: "bulk_alerts_acknowledged",
}


class BulkError(ValueError):
    """An action that cannot be done; ``message`` (English, ``%(name)s`` fields) says why."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params)
        self.message = message
        self.params = params


@dataclass(frozen=True, slots=True)
class Filter:
    """Which terminals: a stored state, a commune, text in the id or site name."""

    state: str = ""
    commune: str = ""
    text: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> Filter:
        state = params.get("state", "")
        return cls(
            state=state if state in FILTER_STATES else "",
            commune=params.get("commune", "").strip()[:MAX_TEXT],
            text=params.get("q", "").strip()[:MAX_TEXT],
        )

    @property
    def active(self) -> bool:
        return bool(self.state or self.commune or self.text)

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions; decommissioned terminals are never targets."""
        conditions: list[ColumnElement[bool]] = [Terminal.decommissioned_at.is_(None)]
        if self.state:
            conditions.append(Terminal.state == self.state)
        if self.commune:
            conditions.append(Terminal.commune == self.commune)
        if self.text:
            needle = self.text.lower()
            conditions.append(
                func.lower(Terminal.id).contains(needle, autoescape=True)
                | func.lower(func.coalesce(Terminal.site_name, "")).contains(
                    needle, autoescape=True
                )
            )
        return conditions

    def describe(self) -> dict[str, str]:
        """The filter as the audit log keeps it (only what is set)."""
        values = {"state": self.state, "commune": self.commune, "q": self.text}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True, slots=True)
class Selection:
    """The targets: the terminals ticked (``ids``), or all those matching ``filter``."""

    filter: Filter
    ids: tuple[str, ...] = ()
    everything_matching: bool = False

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions = self.filter.conditions()
        if not self.everything_matching:
            conditions.append(Terminal.id.in_(self.ids))
        return conditions

    def targets_subquery(self) -> Any:
        return select(Terminal.id).where(*self.conditions()).scalar_subquery()

    def describe(self, count: int) -> str:
        """The targets as the audit entry keeps them: JSON, shown translated by the page."""
        if self.everything_matching:
            return json.dumps({"filter": self.filter.describe(), "count": count})
        return json.dumps({"ids": sorted(self.ids), "count": count})


def check_selection(selection: Selection) -> None:
    if not selection.everything_matching:
        if not selection.ids:
            raise BulkError(N_("no terminal is selected: tick some, or take all matching"))
        if len(selection.ids) > MAX_TICKED:
            raise BulkError(
                N_("at most %(max)s terminals can be ticked; use the filter for more"),
                max=MAX_TICKED,
            )


def count_targets(session: Session, selection: Selection) -> int:
    """How many terminals the action would reach now."""
    return int(session.scalar(select(func.count(Terminal.id)).where(*selection.conditions())) or 0)


def communes(session: Session) -> list[str]:
    """The communes terminals stand in, for the filter's list."""
    return [
        commune
        for commune in session.scalars(
            select(Terminal.commune)
            .where(Terminal.commune.is_not(None), Terminal.decommissioned_at.is_(None))
            .distinct()
            .order_by(Terminal.commune)
        )
        if commune
    ]


def matching_page(session: Session, flt: Filter, limit: int, offset: int) -> Sequence[Terminal]:
    return session.scalars(
        select(Terminal).where(*flt.conditions()).order_by(Terminal.id).limit(limit).offset(offset)
    ).all()


@dataclass(frozen=True, slots=True)
class Action:
    """What to do: ``kind`` is ``command`` (with ``command``), maintenance or acknowledge."""

    kind: str
    command: str = ""
    minutes: int = 60
    reason: str = ""

    @classmethod
    def parse(cls, value: str, minutes_text: str = "", reason: str = "") -> Action:
        if value not in ACTIONS:
            raise BulkError(N_("choose what to do"))
        if value.startswith("command:"):
            return cls("command", command=value.removeprefix("command:"))
        if value == MAINTENANCE:
            text = minutes_text.strip()
            if not text.isdigit() or not 1 <= int(text) <= MAX_WINDOW_MINUTES:
                raise BulkError(
                    N_("the maintenance window lasts 1 to %(max)s minutes"),
                    max=MAX_WINDOW_MINUTES,
                )
            return cls(MAINTENANCE, minutes=int(text), reason=reason.strip()[:MAX_REASON_CHARS])
        return cls(ACKNOWLEDGE)

    @property
    def value(self) -> str:
        return f"command:{self.command}" if self.kind == "command" else self.kind

    def describe(self) -> str | None:
        """The audit entry's detail, as the single-terminal actions write it."""
        if self.kind == "command":
            return self.command
        if self.kind == MAINTENANCE:
            return f"{self.minutes} min" + (f": {self.reason}" if self.reason else "")
        return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What was done: ``terminals`` reached, ``affected`` rows (commands, windows, alerts)."""

    action: Action
    terminals: int
    affected: int
    held: int = 0
    audit_id: int | None = None


def perform(
    session: Session,
    selection: Selection,
    action: Action,
    confirmed_count: int,
    username: str,
    now: datetime,
    publisher: commands.Publisher | None = None,
) -> Outcome:
    """Do the action on every target in one transaction, with its one audit entry.

    Refused (:class:`BulkError`, nothing done) when the targets no longer number
    ``confirmed_count``: the operator confirmed something else.
    """
    check_selection(selection)
    count = count_targets(session, selection)
    if count == 0:
        raise BulkError(N_("no terminal matches: nothing to do"))
    if count != confirmed_count:
        raise BulkError(
            N_(
                "the terminals changed since the confirmation (%(now)s now, %(confirmed)s "
                "confirmed): check and confirm again"
            ),
            now=count,
            confirmed=confirmed_count,
        )
    try:
        if action.kind == "command":
            affected, rows = _store_commands(session, selection, action.command, username, now)
        elif action.kind == MAINTENANCE:
            affected, rows = _open_windows(session, selection, action, username, now), []
        else:
            affected, rows = _acknowledge(session, selection, username, now), []
        entry = audit.record(
            session,
            username,
            AUDIT_ACTIONS[action.kind],
            None,
            action.describe(),
            at=now,
        )
        entry.targets = selection.describe(count)
        session.commit()
    except Exception:
        session.rollback()
        raise
    logger.info(
        "%s did %s on %d terminal(s) (%s): %d row(s).",
        username,
        action.value,
        count,
        selection.filter.describe() if selection.everything_matching else "ticked ones",
        affected,
    )
    held = len(rows)
    if publisher is not None and rows and len(rows) <= PUBLISH_IN_REQUEST:
        held = commands.publish_rows(session, publisher, rows, now)
    return Outcome(action, count, affected, held, entry.id)


def _store_commands(
    session: Session, selection: Selection, name: str, username: str, now: datetime
) -> tuple[int, list[CommandRecord]]:
    if name not in BULK_COMMANDS:
        raise BulkError(N_("choose what to do"))
    expires = now + timedelta(seconds=commands.DEFAULT_TTL_S)
    ids = list(session.scalars(select(Terminal.id).where(*selection.conditions())))
    # Validated once by the contract: every row is the same command but for its id.
    commands.build_command(commands.new_command_id(), name, {}, now, expires)
    values: list[dict[str, Any]] = [
        {
            "id": commands.new_command_id(),
            "terminal_id": terminal_id,
            "name": name,
            "args": {},
            "issued_at": now,
            "expires_at": expires,
            "issued_by": username,
            "state": CommandState.PENDING,
            "reason": None,
            "published_at": None,
            "updated_at": now,
        }
        for terminal_id in ids
    ]
    session.execute(insert(CommandRecord), values)
    rows: list[CommandRecord] = []
    if len(values) <= PUBLISH_IN_REQUEST:
        rows = list(
            session.scalars(
                select(CommandRecord).where(CommandRecord.id.in_([v["id"] for v in values]))
            )
        )
    return len(values), rows


def _open_windows(
    session: Session, selection: Selection, action: Action, username: str, now: datetime
) -> int:
    """One window per target, written by the database from the filter (no list in Python)."""
    ends = now + timedelta(minutes=action.minutes)
    source = select(
        Terminal.id,
        literal(now, MaintenanceWindow.starts_at.type),
        literal(ends, MaintenanceWindow.ends_at.type),
        literal(action.reason, MaintenanceWindow.reason.type),
        literal(username[:64], MaintenanceWindow.created_by.type),
    ).where(*selection.conditions())
    result = session.execute(
        insert(MaintenanceWindow).from_select(
            ["terminal_id", "starts_at", "ends_at", "reason", "created_by"], source
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _acknowledge(session: Session, selection: Selection, username: str, now: datetime) -> int:
    result = session.execute(
        update(Alert)
        .where(
            Alert.state.in_(ALERT_MOVES.sources(AlertState.ACKNOWLEDGED)),
            Alert.terminal_id.in_(selection.targets_subquery()),
        )
        .values(state=AlertState.ACKNOWLEDGED, acknowledged_at=now, acknowledged_by=username[:64])
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
