"""The session clock alone (no web engine): start, idle countdown, max length, end."""

from __future__ import annotations

import logging

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.qt import QGuiApplication
from kiosk.ui.session import EndReason, SessionClock, SessionTimeouts, new_session_id

pytestmark = pytest.mark.qt

SHORT = SessionTimeouts(
    idle_timeout_s=0.1, countdown_s=0.2, max_length_s=60, max_length_warning_s=10
)


@pytest.fixture
def clock(qapp: QGuiApplication) -> SessionClock:
    return SessionClock(SHORT)


def test_defaults_match_the_issue() -> None:
    timeouts = SessionTimeouts()
    assert timeouts.idle_timeout_s == 120
    assert timeouts.countdown_s == 30


def test_session_ids_are_random_and_opaque() -> None:
    ids = {new_session_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 16 for i in ids)


def test_start_is_idempotent_while_a_session_runs(clock: SessionClock, qtbot: QtBot) -> None:
    with qtbot.waitSignal(clock.started) as started:
        first = clock.start()
    assert started.args == [first]
    assert clock.start() == first
    assert clock.active


def test_idle_countdown_then_end(clock: SessionClock, qtbot: QtBot) -> None:
    clock.start()
    with qtbot.waitSignal(clock.idleCountdownStarted, timeout=2_000):
        pass
    assert clock.counting_down
    with qtbot.waitSignal(clock.ended, timeout=2_000) as ended:
        pass
    assert ended.args[1] == EndReason.IDLE.value
    assert not clock.active
    assert not clock.counting_down


def test_a_touch_cancels_the_countdown(clock: SessionClock, qtbot: QtBot) -> None:
    clock.start()
    with qtbot.waitSignal(clock.idleCountdownStarted, timeout=2_000):
        pass
    with qtbot.waitSignal(clock.countdownCancelled, timeout=1_000):
        clock.still_here()
    assert clock.active
    assert not clock.counting_down


def test_max_length_warns_then_ends(qapp: QGuiApplication, qtbot: QtBot) -> None:
    clock = SessionClock(
        SessionTimeouts(
            idle_timeout_s=60, countdown_s=30, max_length_s=0.3, max_length_warning_s=0.2
        )
    )
    clock.start()
    with qtbot.waitSignal(clock.maxLengthWarning, timeout=2_000):
        pass
    with qtbot.waitSignal(clock.ended, timeout=2_000) as ended:
        pass
    assert ended.args[1] == EndReason.MAX_LENGTH.value


def test_end_without_session_is_a_no_op(clock: SessionClock, qtbot: QtBot) -> None:
    with qtbot.assertNotEmitted(clock.ended):
        clock.end(EndReason.BUTTON)
    clock.touch()
    assert not clock.active


def test_logs_carry_session_ids_only(
    clock: SessionClock, qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="kiosk.ui.session"):
        session_id = clock.start()
        clock.end(EndReason.BUTTON)
    assert all(session_id in record.getMessage() for record in caplog.records)
