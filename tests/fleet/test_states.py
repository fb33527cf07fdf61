"""The states the fleet stores: declared once, with words in every language and their moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fleet import rollouts, states
from fleet.i18n import LOCALE_DIR, gettext_for
from fleet.models import Rollout
from fleet.states import (
    ALERT_MOVES,
    ALL_STATES,
    COMMAND_MOVES,
    LABELS,
    ROLLOUT_MOVES,
    TARGET_MOVES,
    TERMINAL_MOVES,
    AlertState,
    CommandState,
    IllegalTransition,
    RolloutState,
    TargetState,
    TerminalState,
    Transitions,
)
from kiosk.contract.mqtt import AckResult, ContentUpdateState, Presence

AT = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

#: Each set of states, its moves and where its life begins.
MACHINES: dict[type[StrEnum], tuple[Transitions[StrEnum], StrEnum]] = {
    TerminalState: (TERMINAL_MOVES, TerminalState.UNKNOWN),  # type: ignore[dict-item]
    CommandState: (COMMAND_MOVES, CommandState.PENDING),  # type: ignore[dict-item]
    AlertState: (ALERT_MOVES, AlertState.OPEN),  # type: ignore[dict-item]
    RolloutState: (ROLLOUT_MOVES, RolloutState.RUNNING),  # type: ignore[dict-item]
    TargetState: (TARGET_MOVES, TargetState.WAITING),  # type: ignore[dict-item]
}


def every_state() -> Iterator[tuple[type[StrEnum], StrEnum]]:
    for kind in ALL_STATES:
        for state in kind:
            yield kind, state


def test_every_set_of_states_is_listed_once() -> None:
    declared = {
        value
        for value in vars(states).values()
        if isinstance(value, type)
        and issubclass(value, StrEnum)
        and value.__module__ == states.__name__
    }
    assert declared == set(ALL_STATES) == set(LABELS) == set(MACHINES)


def test_the_fleets_states_are_the_contracts_and_its_own() -> None:
    """What crosses the wire is the contract's; the fleet adds only what it alone knows."""
    assert {s.value for s in TerminalState} == {s.value for s in Presence} | {"unknown"}
    assert {s.value for s in CommandState} == {s.value for s in AckResult} | {
        "pending",
        "expired",
    }
    assert {s.value for s in TargetState} == {s.value for s in ContentUpdateState} | {"waiting"}
    assert {s.value for s in states.AGENT_TARGET_STATES} == {s.value for s in ContentUpdateState}


@pytest.mark.parametrize("kind", ALL_STATES, ids=lambda kind: kind.__name__)
def test_labels_are_keyed_by_exactly_the_enums_states(kind: type[StrEnum]) -> None:
    assert set(LABELS[kind]) == set(kind)


@pytest.mark.parametrize(
    ("kind", "state"), list(every_state()), ids=lambda x: getattr(x, "__name__", str(x))
)
def test_every_state_has_a_label_in_french_and_english(kind: type[StrEnum], state: StrEnum) -> None:
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / "fleet.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    msgid = LABELS[kind][state]
    entry = catalog.get(msgid)
    assert entry is not None, f"{msgid!r} is not in the French catalog"
    assert entry.string, f"{msgid!r} has no French"
    assert not entry.fuzzy

    english = states.label(kind, state, gettext_for("en"))
    french = states.label(kind, state, gettext_for("fr"))
    assert english == msgid
    assert french == entry.string
    assert french != english, f"{msgid!r} reads the same in French"


def test_an_unknown_value_is_shown_as_it_is() -> None:
    assert states.label(TerminalState, "rebooting", gettext_for("fr")) == "rebooting"
    assert states.label(TerminalState, None, gettext_for("fr")) == "None"
    assert states.label(TerminalState, "lost", gettext_for("fr")) == "perdu"


@pytest.mark.parametrize("kind", ALL_STATES, ids=lambda kind: kind.__name__)
def test_every_state_can_be_reached_from_the_first(kind: type[StrEnum]) -> None:
    moves, first = MACHINES[kind]
    seen = {first}
    todo = [first]
    while todo:
        for new in moves.moves[todo.pop()]:
            if new not in seen:
                seen.add(new)
                todo.append(new)
    assert seen == set(kind)


@pytest.mark.parametrize(
    ("moves", "old", "new"),
    [
        (COMMAND_MOVES, CommandState.DONE, CommandState.ACCEPTED),
        (COMMAND_MOVES, CommandState.EXPIRED, CommandState.DONE),
        (COMMAND_MOVES, CommandState.ACCEPTED, CommandState.PENDING),
        (ALERT_MOVES, AlertState.RESOLVED, AlertState.OPEN),
        (ALERT_MOVES, AlertState.ACKNOWLEDGED, AlertState.OPEN),
        (ROLLOUT_MOVES, RolloutState.HALTED, RolloutState.RUNNING),
        (ROLLOUT_MOVES, RolloutState.ROLLED_BACK, RolloutState.RUNNING),
        (ROLLOUT_MOVES, RolloutState.COMPLETED, RolloutState.PAUSED),
        (TARGET_MOVES, TargetState.APPLIED, TargetState.STAGED),
        (TERMINAL_MOVES, TerminalState.ONLINE, TerminalState.UNKNOWN),
    ],
)
def test_an_illegal_transition_is_refused(
    moves: Transitions[StrEnum], old: StrEnum, new: StrEnum
) -> None:
    assert not moves.allows(old, new)
    assert not moves.allows(old.value, new.value)  # as read from the database
    with pytest.raises(IllegalTransition):
        moves.check(old, new)


def test_final_states_and_where_a_move_may_start() -> None:
    assert COMMAND_MOVES.final == {
        CommandState.DONE,
        CommandState.FAILED,
        CommandState.REFUSED,
        CommandState.EXPIRED,
    }
    assert COMMAND_MOVES.sources(CommandState.EXPIRED) == {
        CommandState.PENDING,
        CommandState.ACCEPTED,
    }
    assert ALERT_MOVES.sources(AlertState.RESOLVED) == {AlertState.OPEN, AlertState.ACKNOWLEDGED}
    assert ROLLOUT_MOVES.final == {RolloutState.ROLLED_BACK}
    assert not ROLLOUT_MOVES.allows("nonsense", RolloutState.RUNNING)


def _rollout(session: Session, state: RolloutState) -> Rollout:
    rollout = Rollout(
        version="2026.12.1",
        state=state,
        success_threshold_percent=90,
        error_threshold_percent=10,
        wave_size=10,
        current_wave=0,
        created_by="ops",
        created_at=AT,
        updated_at=AT,
    )
    session.add(rollout)
    session.commit()
    return rollout


@pytest.mark.parametrize(
    ("state", "paused", "words"),
    [
        (RolloutState.HALTED, False, "is halted, not paused"),
        (RolloutState.PAUSED, True, "is paused, not running"),
        (RolloutState.COMPLETED, False, "is completed, not paused"),
    ],
)
def test_pausing_or_resuming_from_the_wrong_state_is_refused(
    db_session: Session, state: RolloutState, paused: bool, words: str
) -> None:
    rollout = _rollout(db_session, state)

    with pytest.raises(rollouts.RolloutError, match=words):
        rollouts.set_paused(db_session, rollout.id, paused, "ops", AT)

    db_session.expire_all()
    assert db_session.get(Rollout, rollout.id).state is state  # type: ignore[union-attr]


def test_pause_then_resume_are_one_move_each_way(db_session: Session) -> None:
    rollout = _rollout(db_session, RolloutState.RUNNING)

    assert rollouts.set_paused(db_session, rollout.id, True, "ops", AT).state is RolloutState.PAUSED
    assert rollouts.resume(db_session, rollout.id, "ops", AT).state is RolloutState.RUNNING
    db_session.expire_all()
    # Read back from the database as the enum's member, not a bare string.
    assert db_session.get(Rollout, rollout.id).state is RolloutState.RUNNING  # type: ignore[union-attr]


def test_the_database_refuses_a_state_that_is_not_declared(db_session: Session) -> None:
    rollout = _rollout(db_session, RolloutState.RUNNING)
    rollout.state = "runing"  # type: ignore[assignment]

    with pytest.raises(IntegrityError):
        db_session.commit()
