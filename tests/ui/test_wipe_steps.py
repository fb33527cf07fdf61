"""The wipe's state machine on its own (no Qt): its steps, their order, what it refuses."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from kiosk.ui.browser.wipe import BUSY, TRANSITIONS, Ending, Event, Step, Wipe

ENDING = Ending("s-1", "button", 12.5, ("mairie",), ("https://mairie.example",))


@dataclass
class Kiosk:
    """Records each step's work; ``at_once`` says which steps end from inside their work."""

    at_once: set[Step] = field(default_factory=set)
    done: list[tuple[Step, str]] = field(default_factory=list)
    wipe: Wipe = field(init=False)

    def __post_init__(self) -> None:
        self.wipe = Wipe(
            close_session=lambda e: self._work(Step.DESTROYING_PAGES, e, Event.PAGES_GONE),
            destroy_profile=lambda e: self._work(Step.DESTROYING_PROFILE, e, Event.PROFILE_GONE),
            make_profile=lambda e: self._work(Step.MAKING_PROFILE, e, Event.PROFILE_MADE),
            probe=lambda e: self._work(Step.PROBING, e, Event.PROBE_REPORTED),
        )

    def step(self) -> Step:
        """The step now (a call: mypy would keep the step an earlier assert narrowed)."""
        return self.wipe.step

    def _work(self, step: Step, ending: Ending, then: Event) -> None:
        assert self.wipe.step is step  # the step is entered before its work is done
        self.done.append((step, ending.session_id))
        if step in self.at_once:
            assert self.wipe.advance(then)


COMPLETIONS = (Event.PAGES_GONE, Event.PROFILE_GONE, Event.PROFILE_MADE, Event.PROBE_REPORTED)
ORDER = (
    Step.DESTROYING_PAGES,
    Step.DESTROYING_PROFILE,
    Step.MAKING_PROFILE,
    Step.PROBING,
    Step.DONE,
)


def test_every_step_is_reached_in_order_with_its_work_done_once() -> None:
    kiosk = Kiosk()
    assert kiosk.wipe.step is Step.IDLE
    assert kiosk.wipe.session_ended(ENDING)
    seen = [kiosk.wipe.step]
    for event in COMPLETIONS:
        assert kiosk.wipe.advance(event)
        seen.append(kiosk.wipe.step)
    assert tuple(seen) == ORDER
    assert [step for step, _ in kiosk.done] == list(ORDER[:-1])
    assert {session for _, session in kiosk.done} == {"s-1"}
    assert set(TRANSITIONS.values()) | {Step.IDLE} == set(Step)


def test_steps_that_end_at_once_run_the_whole_wipe_from_the_sessions_end() -> None:
    kiosk = Kiosk(at_once=set(Step))
    assert kiosk.wipe.session_ended(ENDING)
    assert kiosk.wipe.step is Step.DONE
    assert [step for step, _ in kiosk.done] == list(ORDER[:-1])
    assert kiosk.wipe.ending is None  # the origins are dropped once the probe reported


@pytest.mark.parametrize("step_index", range(len(ORDER)))
def test_an_event_that_does_not_belong_to_the_step_is_refused(step_index: int) -> None:
    kiosk = Kiosk()
    kiosk.wipe.session_ended(ENDING)
    for event in COMPLETIONS[:step_index]:
        kiosk.wipe.advance(event)
    step = kiosk.wipe.step
    assert step is ORDER[step_index]
    done = list(kiosk.done)
    for event in Event:
        if (step, event) not in TRANSITIONS:
            assert not kiosk.wipe.advance(event)
            assert kiosk.wipe.step is step
            assert kiosk.done == done


def test_nothing_but_a_sessions_end_moves_an_idle_kiosk() -> None:
    kiosk = Kiosk()
    for event in Event:
        assert not kiosk.wipe.advance(event)  # SESSION_ENDED without a session: refused too
    assert kiosk.wipe.step is Step.IDLE
    assert kiosk.done == []


def test_a_destroyed_arriving_twice_or_late_changes_nothing() -> None:
    kiosk = Kiosk()
    kiosk.wipe.session_ended(ENDING)
    kiosk.wipe.advance(Event.PAGES_GONE)
    assert kiosk.wipe.advance(Event.PROFILE_GONE)
    # The same profile's destroyed again, and the views' (already gone) late.
    assert not kiosk.wipe.advance(Event.PROFILE_GONE)
    assert not kiosk.wipe.advance(Event.PAGES_GONE)
    assert kiosk.step() is Step.MAKING_PROFILE
    kiosk.wipe.advance(Event.PROFILE_MADE)
    kiosk.wipe.advance(Event.PROBE_REPORTED)
    before = list(kiosk.done)
    # After the wipe: the probe's view goes once it reported; the old profile's late signal.
    for late in (Event.PAGES_GONE, Event.PROFILE_GONE, Event.PROBE_REPORTED):
        assert not kiosk.wipe.advance(late)
    assert kiosk.step() is Step.DONE
    assert kiosk.done == before


def test_a_session_ending_during_a_wipe_is_refused_and_the_wipe_goes_on() -> None:
    kiosk = Kiosk()
    kiosk.wipe.session_ended(ENDING)
    for event in COMPLETIONS[:3]:
        assert kiosk.wipe.busy
        assert not kiosk.wipe.session_ended(Ending("s-2", "idle", 1.0, ()))
        assert kiosk.wipe.ending == ENDING
        kiosk.wipe.advance(event)
    assert not kiosk.wipe.busy  # probing: a resident may start the next session
    assert {session for _, session in kiosk.done} == {"s-1"}


def test_the_next_wipe_starts_from_done() -> None:
    kiosk = Kiosk(at_once=set(Step))
    kiosk.wipe.session_ended(ENDING)
    kiosk.wipe.session_ended(Ending("s-2", "idle", 3.0, ()))
    assert kiosk.wipe.step is Step.DONE
    assert [session for _, session in kiosk.done] == ["s-1"] * 4 + ["s-2"] * 4


def test_busy_steps_are_those_between_the_end_and_the_fresh_profile() -> None:
    assert frozenset({Step.DESTROYING_PAGES, Step.DESTROYING_PROFILE, Step.MAKING_PROFILE}) == BUSY


def test_an_endings_origins_never_show_in_its_repr() -> None:
    assert "mairie.example" not in repr(ENDING)
