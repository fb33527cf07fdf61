"""Every state the fleet stores, declared once: its values, the moves allowed between them, and
its words on the pages.

The database's ``CHECK`` constraints (:func:`check_sql`), the label functions and the code that
changes a state all read this module. A state that also crosses the wire is the contract's:
a terminal's presence (:class:`kiosk.contract.mqtt.Presence`), a command's answer
(:class:`kiosk.contract.mqtt.AckResult`) and a content update's progress
(:class:`kiosk.contract.mqtt.ContentUpdateState`) take their values from there, and add only the
fleet's own (``unknown``, ``pending`` and ``expired``, ``waiting``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from typing import Final, Generic, TypeVar

from fleet.i18n import N_
from kiosk.contract.mqtt import AckResult, ContentUpdateState, Presence

Gettext = Callable[[str], str]


class TerminalState(StrEnum):
    """A terminal's presence as the fleet last heard it (``unknown`` before its first status)."""

    UNKNOWN = "unknown"
    ONLINE = Presence.ONLINE.value
    OFFLINE = Presence.OFFLINE.value
    LOST = Presence.LOST.value


class CommandState(StrEnum):
    """A command's life: ``pending`` until the terminal answers, then one of its answers, or
    ``expired`` when none came in time."""

    PENDING = "pending"
    ACCEPTED = AckResult.ACCEPTED.value
    DONE = AckResult.DONE.value
    FAILED = AckResult.FAILED.value
    REFUSED = AckResult.REFUSED.value
    EXPIRED = "expired"


class AlertState(StrEnum):
    """An alert's life: ``open``, perhaps ``acknowledged`` by a person, then ``resolved``."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class RolloutState(StrEnum):
    """A content rollout's life (:mod:`fleet.rollouts`)."""

    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"
    ABORTED = "aborted"
    COMPLETED = "completed"
    ROLLED_BACK = "rolled_back"


class TargetState(StrEnum):
    """One terminal's progress in a rollout: ``waiting`` until its wish is published, then what
    its agent reports (the contract's content update states)."""

    WAITING = "waiting"
    PENDING = ContentUpdateState.PENDING.value
    DOWNLOADING = ContentUpdateState.DOWNLOADING.value
    VERIFIED = ContentUpdateState.VERIFIED.value
    STAGED = ContentUpdateState.STAGED.value
    APPLIED = ContentUpdateState.APPLIED.value
    FAILED = ContentUpdateState.FAILED.value


#: Every set of states the fleet stores, for the tests that check each has its words.
ALL_STATES: Final[tuple[type[StrEnum], ...]] = (
    TerminalState,
    CommandState,
    AlertState,
    RolloutState,
    TargetState,
)

#: Rollouts that are not over: only one at a time.
ACTIVE_ROLLOUT_STATES: Final = frozenset(
    {RolloutState.RUNNING, RolloutState.PAUSED, RolloutState.HALTED}
)
#: The target states an agent reports (``waiting`` is the fleet's own: not sent yet).
AGENT_TARGET_STATES: Final = frozenset(TargetState(state.value) for state in ContentUpdateState)


# --------------------------------------------------------------------------------------------
# Transitions

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    """A state change the declared moves do not allow."""

    def __init__(self, kind: type[StrEnum], old: str, new: str) -> None:
        super().__init__(f"{kind.__name__}: no move from {old!s} to {new!s}")
        self.kind = kind
        self.old = old
        self.new = new


class Transitions(Generic[S]):
    """The moves allowed between the states of one enum: ``moves[old]`` is where ``old`` may go.

    A state absent from ``moves`` (or with no move) is final. Values read from the database
    may be plain strings: they are looked up as the enum's members.
    """

    def __init__(self, kind: type[S], moves: Mapping[S, Iterable[S]]) -> None:
        self.kind = kind
        self.moves: Mapping[S, frozenset[S]] = {
            state: frozenset(moves.get(state, ())) for state in kind
        }
        self._by_value: Mapping[str, frozenset[S]] = {
            state.value: ways for state, ways in self.moves.items()
        }

    def allows(self, old: str, new: str) -> bool:
        """Whether a state may go from ``old`` to ``new`` (an unknown ``old`` goes nowhere)."""
        return new in self._by_value.get(old, frozenset())

    def check(self, old: str, new: S) -> S:
        """``new``, or :class:`IllegalTransition` if ``old`` may not go there."""
        if not self.allows(old, new):
            raise IllegalTransition(self.kind, old, new)
        return new

    def sources(self, new: S) -> frozenset[S]:
        """The states that may go to ``new`` (for a conditional ``UPDATE … WHERE state IN``)."""
        return frozenset(old for old, ways in self.moves.items() if new in ways)

    @property
    def final(self) -> frozenset[S]:
        """The states a row never leaves."""
        return frozenset(state for state, ways in self.moves.items() if not ways)


_agent_states = tuple(AGENT_TARGET_STATES)

#: A terminal's presence follows its status messages; nothing goes back to ``unknown``.
TERMINAL_MOVES: Final = Transitions(
    TerminalState,
    {
        TerminalState.UNKNOWN: (TerminalState.ONLINE, TerminalState.OFFLINE, TerminalState.LOST),
        TerminalState.ONLINE: (TerminalState.OFFLINE, TerminalState.LOST),
        TerminalState.OFFLINE: (TerminalState.ONLINE, TerminalState.LOST),
        TerminalState.LOST: (TerminalState.ONLINE, TerminalState.OFFLINE),
    },
)

#: A command moves on with the terminal's acks, in order, or expires; its end is final (an ack
#: out of order, ``accepted`` after ``done``, is ignored).
COMMAND_MOVES: Final = Transitions(
    CommandState,
    {
        CommandState.PENDING: (
            CommandState.ACCEPTED,
            CommandState.DONE,
            CommandState.FAILED,
            CommandState.REFUSED,
            CommandState.EXPIRED,
        ),
        CommandState.ACCEPTED: (
            CommandState.DONE,
            CommandState.FAILED,
            CommandState.REFUSED,
            CommandState.EXPIRED,
        ),
    },
)

#: A person acknowledges an open alert; the engine resolves it, acknowledged or not.
ALERT_MOVES: Final = Transitions(
    AlertState,
    {
        AlertState.OPEN: (AlertState.ACKNOWLEDGED, AlertState.RESOLVED),
        AlertState.ACKNOWLEDGED: (AlertState.RESOLVED,),
    },
)

#: The engine halts or completes a running rollout; operators pause, resume, abort (while it is
#: active) and roll back (any rollout not rolled back already).
ROLLOUT_MOVES: Final = Transitions(
    RolloutState,
    {
        RolloutState.RUNNING: (
            RolloutState.PAUSED,
            RolloutState.HALTED,
            RolloutState.COMPLETED,
            RolloutState.ABORTED,
            RolloutState.ROLLED_BACK,
        ),
        RolloutState.PAUSED: (
            RolloutState.RUNNING,
            RolloutState.ABORTED,
            RolloutState.ROLLED_BACK,
        ),
        RolloutState.HALTED: (RolloutState.ABORTED, RolloutState.ROLLED_BACK),
        RolloutState.COMPLETED: (RolloutState.ROLLED_BACK,),
        RolloutState.ABORTED: (RolloutState.ROLLED_BACK,),
    },
)

#: A target follows its agent's reports in whatever order they come, except that an applied one
#: only fails (a late report of an earlier step says nothing); a rollback sends every target
#: that was sent the version back to ``waiting``.
TARGET_MOVES: Final = Transitions(
    TargetState,
    {
        TargetState.WAITING: _agent_states,
        **{
            state: (*_agent_states, TargetState.WAITING)
            for state in AGENT_TARGET_STATES - {TargetState.APPLIED}
        },
        TargetState.APPLIED: (TargetState.FAILED, TargetState.WAITING),
    },
)


# --------------------------------------------------------------------------------------------
# The database


def check_sql(column: str, kind: type[StrEnum]) -> str:
    """The ``CHECK`` constraint's text that keeps ``column`` within ``kind``'s values."""
    return f"{column} IN ({', '.join(repr(state.value) for state in kind)})"


# --------------------------------------------------------------------------------------------
# Words (in English, the source language: the page puts them in the reader's)

LABELS: Final[Mapping[type[StrEnum], Mapping[str, str]]] = {
    TerminalState: {
        TerminalState.ONLINE: N_("online"),
        TerminalState.OFFLINE: N_("offline"),
        TerminalState.LOST: N_("lost"),
        TerminalState.UNKNOWN: N_("unknown"),
    },
    CommandState: {
        CommandState.PENDING: N_("pending"),
        CommandState.ACCEPTED: N_("accepted"),
        CommandState.DONE: N_("done"),
        CommandState.FAILED: N_("failed"),
        CommandState.REFUSED: N_("refused"),
        CommandState.EXPIRED: N_("expired"),
    },
    AlertState: {
        AlertState.OPEN: N_("open"),
        AlertState.ACKNOWLEDGED: N_("acknowledged"),
        AlertState.RESOLVED: N_("resolved"),
    },
    RolloutState: {
        RolloutState.RUNNING: N_("running"),
        RolloutState.PAUSED: N_("paused"),
        RolloutState.HALTED: N_("halted"),
        RolloutState.ABORTED: N_("aborted"),
        RolloutState.COMPLETED: N_("completed"),
        RolloutState.ROLLED_BACK: N_("rolled back"),
    },
    TargetState: {
        TargetState.WAITING: N_("waiting"),
        TargetState.PENDING: N_("pending"),
        TargetState.DOWNLOADING: N_("downloading"),
        TargetState.VERIFIED: N_("verified"),
        TargetState.STAGED: N_("staged"),
        TargetState.APPLIED: N_("applied"),
        TargetState.FAILED: N_("failed"),
    },
}


def label(kind: type[StrEnum], state: object, _: Gettext) -> str:
    """``state`` of ``kind`` in the reader's words; anything else as it is (a value an older
    fleet or a terminal's details hold)."""
    text = str(state)
    words = LABELS[kind].get(text)
    return text if words is None else _(words)
