"""Presence as pure functions: states, the grace period, flapping counts."""

from __future__ import annotations

from datetime import timedelta

from fleet.models import Terminal
from fleet.presence import (
    PresenceLimits,
    changes_within_window,
    health_problems,
    is_down_past_grace,
    is_flapping,
    presence_of,
)

from .conftest import NOW, later

LIMITS = PresenceLimits()


def terminal(state: str = "online", **figures: object) -> Terminal:
    row = Terminal(id="bdx-p", state=state, state_since=NOW, created_at=NOW, versions={})
    for name, value in figures.items():
        setattr(row, name, value)
    return row


def test_online_without_problem_is_online() -> None:
    assert presence_of(terminal(ui_alive=True, disk_percent=40.0), LIMITS) == "online"


def test_each_health_problem_makes_an_online_terminal_degraded() -> None:
    cases = {
        "ui_not_alive": {"ui_alive": False},
        "disk_full": {"disk_percent": 91.0},
        "temperature": {"enclosure_temperature_c": -12.0},
        "clock_unsynced": {"clock_synced": False},
    }
    for problem, figures in cases.items():
        row = terminal(**figures)
        assert health_problems(row, LIMITS) == [problem]
        assert presence_of(row, LIMITS) == "degraded"


def test_unreported_figures_are_not_problems() -> None:
    assert health_problems(terminal(), LIMITS) == []


def test_offline_and_lost_keep_their_names_whatever_their_last_health() -> None:
    assert presence_of(terminal("offline", ui_alive=False), LIMITS) == "offline"
    assert presence_of(terminal("lost"), LIMITS) == "lost"
    assert presence_of(terminal("unknown"), LIMITS) == "unknown"


def test_down_counts_only_after_the_grace_period() -> None:
    row = terminal("lost")
    assert not is_down_past_grace(row, NOW + timedelta(seconds=119), LIMITS)
    assert is_down_past_grace(row, NOW + timedelta(seconds=120), LIMITS)
    assert not is_down_past_grace(terminal("online"), later(3600), LIMITS)


def test_flapping_is_more_than_n_changes_within_the_window() -> None:
    changes = [later(60 * minute) for minute in range(5)]
    count = changes_within_window(changes, later(60 * 5), LIMITS)
    assert count == 5
    assert is_flapping(count, LIMITS)
    assert not is_flapping(4, LIMITS)
    # Twenty minutes later, the first ones fall out of the 15-minute window.
    assert changes_within_window(changes, later(60 * 20), LIMITS) == 0
