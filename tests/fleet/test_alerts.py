"""The alert engine on a real database, notifying a real SMTP server and a real webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fleet.alerts import store
from fleet.core.db import make_session_factory
from fleet.crud import get_terminal
from kiosk.contract.mqtt import Channel

from .alerting import TERMINAL, alerts, event, health, make_engine_for, send, status, unresolved
from .conftest import later
from .sinks import Sink, smtp_sink, subjects, webhook_sink


@dataclass
class World:
    factory: sessionmaker[Session]
    smtp: Sink
    webhook: Sink

    def told(self) -> list[tuple[str, str]]:
        """(kind, state) of every webhook call, checked against the e-mails."""
        calls = [(call["kind"], call["state"]) for call in self.webhook.received()]
        assert len(self.smtp.received()) == len(calls)
        return calls


@pytest.fixture
def world(migrated_engine: Engine) -> Iterator[World]:
    with smtp_sink() as smtp, webhook_sink() as webhook:
        yield World(make_session_factory(migrated_engine), smtp, webhook)


def test_down_is_alerted_only_after_the_grace_period_and_told_once(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    status(world.factory, "lost", later(10))

    engine.run_once(later(10 + 119))
    assert unresolved(world.factory) == []

    engine.run_once(later(10 + 120))
    engine.run_once(later(10 + 180))
    assert unresolved(world.factory) == [(TERMINAL, "down", "open")]
    assert world.told() == [("down", "open")]
    assert subjects(world.smtp.received()) == [f"[{TERMINAL}] Terminal down: open"]
    assert world.webhook.received()[0]["terminal_id"] == TERMINAL

    status(world.factory, "online", later(400))
    engine.run_once(later(401))
    engine.run_once(later(402))
    assert unresolved(world.factory) == []
    assert world.told() == [("down", "open"), ("down", "resolved")]


def test_a_reconnect_within_the_grace_period_raises_nothing(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    engine.run_once(later(1))
    status(world.factory, "lost", later(10))
    engine.run_once(later(70))
    status(world.factory, "online", later(100))
    for seconds in (101, 300, 3600):
        engine.run_once(later(seconds))

    assert alerts(world.factory) == []
    assert world.told() == []


def test_flapping_is_one_summarised_alert_instead_of_one_per_change(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    for index in range(8):
        state = "online" if index % 2 == 0 else "lost"
        status(world.factory, state, later(30 * index))
        engine.run_once(later(30 * index + 1))
    # Lost now, past the grace period: still only the flapping alert.
    engine.run_once(later(30 * 7 + 200))

    assert unresolved(world.factory) == [(TERMINAL, "flapping", "open")]
    assert world.told() == [("flapping", "open")]
    (flapping,) = alerts(world.factory)
    # The facts, stored as they are; the English summary is their rendering for logs.
    assert flapping.details == {"changes": 8, "window_min": 15, "state": "lost"}
    assert flapping.summary == "8 changes of presence within 15 min, now lost"

    # A whole window without a change: flapping ends, the terminal is simply down.
    engine.run_once(later(30 * 7 + 901))
    assert unresolved(world.factory) == [(TERMINAL, "down", "open")]
    assert world.told() == [("flapping", "open"), ("flapping", "resolved"), ("down", "open")]


Step = Callable[[sessionmaker[Session]], None]


def health_step(seq: int, seconds: float, **figures: object) -> Step:
    def step(factory: sessionmaker[Session]) -> None:
        send(factory, Channel.HEALTH, health(seq, later(seconds), **figures), later(seconds))  # type: ignore[arg-type]

    return step


def event_step(seq: int, seconds: float, kind: str, **data: str | bool | int) -> Step:
    def step(factory: sessionmaker[Session]) -> None:
        send(factory, Channel.EVENT, event(seq, later(seconds), kind, **data), later(seconds))

    return step


# kind -> (steps that make it wrong, steps that make it right, seconds after which it is right)
RULE_CASES: dict[str, tuple[list[Step], list[Step], float]] = {
    "disk_full": ([health_step(1, 5, disk=95.0)], [health_step(2, 50, disk=60.0)], 60),
    "temperature": (
        [health_step(1, 5, enclosure_temperature=74.0)],
        [health_step(2, 50)],
        60,
    ),
    "temperature_cold": (
        [health_step(1, 5, cpu_temperature=-12.0, enclosure_temperature=-12.0)],
        [health_step(2, 50)],
        60,
    ),
    "ui_not_responding": (
        [health_step(1, 5, ui_alive=False)],
        [health_step(2, 50, ui_alive=True)],
        60,
    ),
    "ui_crash_loop": (
        [event_step(seq, 5 + seq, "ui_crash") for seq in range(1, 4)],
        [],
        5 + 3 + 601,
    ),
    "wipe_failed": (
        [event_step(1, 5, "wipe_done", ok=False)],
        [event_step(2, 50, "wipe_done", ok=True)],
        60,
    ),
    "wipe_failed_health": (
        [health_step(1, 5, last_wipe_ok=False)],
        [health_step(2, 50, last_wipe_ok=True)],
        60,
    ),
    "door_open": (
        [health_step(1, 5, door_open=True)],
        [health_step(2, 50, door_open=False)],
        60,
    ),
    "content_failed": (
        [event_step(1, 5, "content_failed", reason="signature")],
        [event_step(2, 50, "content_applied")],
        60,
    ),
}


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_each_rule_opens_then_resolves_by_itself(world: World, case: str) -> None:
    kind = case.removesuffix("_cold").removesuffix("_health")
    wrong, right, right_at = RULE_CASES[case]
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    for step in wrong:
        step(world.factory)
    engine.run_once(later(20))
    engine.run_once(later(30))
    assert unresolved(world.factory) == [(TERMINAL, kind, "open")]

    for step in right:
        step(world.factory)
    engine.run_once(later(right_at))
    engine.run_once(later(right_at + 10))
    assert unresolved(world.factory) == []
    assert world.told() == [(kind, "open"), (kind, "resolved")]


def test_health_alerts_neither_open_nor_resolve_while_the_terminal_is_away(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    send(world.factory, Channel.HEALTH, health(1, later(5), disk=97.0), later(5))
    engine.run_once(later(10))
    status(world.factory, "offline", later(20))
    engine.run_once(later(60))

    assert unresolved(world.factory) == [(TERMINAL, "disk_full", "open")]


def test_acknowledgement_is_told_once_with_who(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    send(world.factory, Channel.HEALTH, health(1, later(5), disk=97.0), later(5))
    engine.run_once(later(10))
    (alert,) = alerts(world.factory)
    with world.factory() as session:
        assert store.acknowledge(session, alert.id, "marie", later(20))
        assert not store.acknowledge(session, alert.id, "paul", later(21))
        session.commit()
    engine.run_once(later(30))
    engine.run_once(later(40))

    assert world.told() == [("disk_full", "open"), ("disk_full", "acknowledged")]
    assert world.webhook.received()[1]["acknowledged_by"] == "marie"
    assert "marie" in str(world.smtp.received()[1].get_payload())


def test_two_engines_on_one_database_open_and_tell_each_transition_once(world: World) -> None:
    first = make_engine_for(world.factory, world.smtp, world.webhook)
    second = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    status(world.factory, "lost", later(10))

    # Both judge before either notifies, as two processes on one tick would.
    first.evaluate(later(200))
    second.evaluate(later(200))
    first.notify(later(200))
    second.notify(later(201))
    assert unresolved(world.factory) == [(TERMINAL, "down", "open")]

    status(world.factory, "online", later(300))
    second.run_once(later(301))
    first.run_once(later(302))
    # A restarted process (a new engine) finds every transition told already.
    make_engine_for(world.factory, world.smtp, world.webhook).run_once(later(303))

    assert len(alerts(world.factory)) == 1
    assert world.told() == [("down", "open"), ("down", "resolved")]


def test_a_failed_delivery_is_retried_at_the_next_pass_and_then_told_once(world: World) -> None:
    status(world.factory, "online", later(0))
    send(world.factory, Channel.HEALTH, health(1, later(5), disk=97.0), later(5))
    with webhook_sink() as gone:
        dead_url = gone.url
    # The only notifier is a webhook nobody answers any more.
    unreachable = make_engine_for(world.factory, None, None, webhook_url=dead_url)
    unreachable.run_once(later(10))
    assert alerts(world.factory)[0].last_notified_state is None

    working = make_engine_for(world.factory, world.smtp, world.webhook)
    working.run_once(later(20))
    working.run_once(later(30))
    assert world.told() == [("disk_full", "open")]


def test_a_maintenance_window_silences_the_terminal_and_its_door(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    with world.factory() as session:
        terminal = get_terminal(session, TERMINAL)
        store.open_window(session, terminal, 30, "filter change", "marie", later(1))
        session.commit()
    send(
        world.factory,
        Channel.HEALTH,
        health(1, later(5), door_open=True, disk=97.0),
        later(5),
    )
    engine.run_once(later(10))
    engine.run_once(later(20))

    # The door is expected open during maintenance; the full disk is recorded but not told.
    assert unresolved(world.factory) == [(TERMINAL, "disk_full", "open")]
    assert world.told() == []

    # After the window, an open door is an alarm again.
    engine.run_once(later(31 * 60))
    assert [kind for _, kind, _ in unresolved(world.factory)] == ["disk_full", "door_open"]
    assert world.told() == [("door_open", "open")]
    with world.factory() as session:
        assert store.count_open(session) == 2
        assert store.current_window(session, TERMINAL, later(31 * 60)) is None
        assert store.current_window(session, TERMINAL, later(60)) is not None


def test_a_window_for_every_terminal_covers_terminals_it_did_not_name(world: World) -> None:
    engine = make_engine_for(world.factory, world.smtp, world.webhook)
    status(world.factory, "online", later(0))
    with world.factory() as session:
        store.open_window(session, None, 10, "broker upgrade", "admin", later(0))
        session.commit()
    status(world.factory, "lost", later(5))
    engine.run_once(later(5 + 200))

    assert unresolved(world.factory) == [(TERMINAL, "down", "open")]
    assert world.told() == []
