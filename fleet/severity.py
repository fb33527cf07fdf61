"""Severity first: how bad a terminal's state is, as one rank the database can order by.

Every list an operator reads (the overview's table and phone cards, the alerts page) puts the
worst first: a **lost** terminal (the broker sent its last will), then one **offline past the
grace period** (it said goodbye and has not come back), then a **degraded** one (online with a
health problem, :func:`fleet.presence.health_problems`), then the rest. The rank is an SQL
``CASE`` so that the ordering (and the pagination of 100,000 terminals) stays in the database;
:func:`rank_of` is the same ranking in Python, kept in step by the tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_

from fleet.models import Terminal
from fleet.presence import PresenceLimits, health_problems, is_down_past_grace
from fleet.states import TerminalState


class Severity(IntEnum):
    """Lower is worse: the order of the lists."""

    LOST = 0
    OFFLINE = 1
    DEGRADED = 2
    #: Offline or lost within the grace period (a reconnect may come), or never heard from.
    WAITING = 3
    HEALTHY = 4


def health_problem(limits: PresenceLimits) -> ColumnElement[bool]:
    """SQL for :func:`fleet.presence.health_problems` being non-empty: true when one of its
    figures is out of bounds, NULL or false otherwise (an unreported figure is no problem)."""
    return or_(
        Terminal.ui_alive.is_(False),
        Terminal.disk_percent > limits.disk_full_percent,
        Terminal.enclosure_temperature_c < limits.temperature_min_c,
        Terminal.enclosure_temperature_c > limits.temperature_max_c,
        Terminal.temperature_c < limits.temperature_min_c,
        Terminal.temperature_c > limits.temperature_max_c,
        Terminal.clock_synced.is_(False),
        Terminal.clock_error_s.is_not(None),
    )


def degraded_condition(limits: PresenceLimits) -> ColumnElement[bool]:
    """SQL for :func:`fleet.presence.presence_of` being ``degraded`` (kept in step with it)."""
    return and_(Terminal.state == TerminalState.ONLINE, health_problem(limits))


def rank_ranges(
    limits: PresenceLimits, now: datetime
) -> tuple[tuple[Severity, tuple[ColumnElement[bool], ...]], ...]:
    """Each :class:`Severity`, worst first, as the ranges of the index ``ix_terminals_severity``
    (state, state_since, id, then the health figures: migration 0017) that hold it, each read
    in (state_since, id) order: a page of the table reads one rank after the other, at most a
    page of rows from each, instead of ranking every terminal to sort them. The same ranking
    as :func:`severity_rank` (the tests hold them together)."""
    grace_start = now - timedelta(seconds=limits.down_grace_s)
    past_grace = Terminal.state_since <= grace_start
    within_grace = Terminal.state_since > grace_start
    return (
        (Severity.LOST, (and_(Terminal.state == TerminalState.LOST, past_grace),)),
        (Severity.OFFLINE, (and_(Terminal.state == TerminalState.OFFLINE, past_grace),)),
        (Severity.DEGRADED, (degraded_condition(limits),)),
        (
            Severity.WAITING,
            (
                and_(Terminal.state == TerminalState.LOST, within_grace),
                and_(Terminal.state == TerminalState.OFFLINE, within_grace),
                Terminal.state == TerminalState.UNKNOWN,
            ),
        ),
        (
            Severity.HEALTHY,
            (and_(Terminal.state == TerminalState.ONLINE, health_problem(limits).is_not(True)),),
        ),
    )


def severity_rank(limits: PresenceLimits, now: datetime) -> ColumnElement[int]:
    """The terminal's :class:`Severity` as an SQL expression (a ``CASE`` over its columns)."""
    grace_start = now - timedelta(seconds=limits.down_grace_s)
    past_grace = Terminal.state_since <= grace_start
    return case(
        (and_(Terminal.state == TerminalState.LOST, past_grace), int(Severity.LOST)),
        (and_(Terminal.state == TerminalState.OFFLINE, past_grace), int(Severity.OFFLINE)),
        (degraded_condition(limits), int(Severity.DEGRADED)),
        (Terminal.state == TerminalState.ONLINE, int(Severity.HEALTHY)),
        else_=int(Severity.WAITING),
    )


def order_by(limits: PresenceLimits, now: datetime, descending: bool = False) -> list[Any]:
    """ORDER BY keys for a query over terminals: worst first (best first when ``descending``);
    within a rank, in that state the longest first (a lost terminal down the longest leads),
    then by id (a stable order for pagination). The rank is computed once per row: at 100,000
    terminals on SQLite a second CASE key cost 2.5 times as much."""
    keys: list[Any] = [severity_rank(limits, now), Terminal.state_since, Terminal.id]
    return [key.desc() if descending else key.asc() for key in keys]


def rank_of(terminal: Terminal, limits: PresenceLimits, now: datetime) -> Severity:
    """The same ranking as :func:`severity_rank`, for one terminal in Python."""
    if is_down_past_grace(terminal, now, limits):
        return Severity.LOST if terminal.state == TerminalState.LOST else Severity.OFFLINE
    if terminal.state == TerminalState.ONLINE:
        return Severity.DEGRADED if health_problems(terminal, limits) else Severity.HEALTHY
    return Severity.WAITING


#: Alerts of one terminal's severity: the worse kind first (the alerts page).
ALERT_KIND_ORDER: tuple[str, ...] = (
    "down",
    "flapping",
    "wipe_failed",
    "ui_crash_loop",
    "ui_not_responding",
    "temperature",
    "disk_full",
    "door_open",
    "content_failed",
)


def alert_kind_rank(kind_column: Any) -> ColumnElement[int]:
    """SQL rank of an alert kind (unknown kinds last)."""
    return case(
        *((kind_column == kind, index) for index, kind in enumerate(ALERT_KIND_ORDER)),
        else_=len(ALERT_KIND_ORDER),
    )
