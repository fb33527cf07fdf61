"""What the overview shows (the summary, the city map and the table), assembled in one
dictionary for the dashboard page, its partial and its live event stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet import crud, presence, severity
from fleet.alerts import store
from fleet.api import formatting
from fleet.api.deps import BrokerState, Language
from fleet.api.overview.map import plan_context
from fleet.api.overview.table import TableQuery, degraded_condition, select_page
from fleet.core.config import FleetSettings
from fleet.ingest.broker_counters import dropped_total
from fleet.models import Terminal
from fleet.states import TerminalState


def count_by_state(session: Session) -> dict[str, int]:
    """How many terminals are in each state (one GROUP BY), every state present."""
    counts = {
        state: count
        for state, count in session.execute(
            select(Terminal.state, func.count()).group_by(Terminal.state)
        )
    }
    return {state: int(counts.get(state, 0)) for state in TerminalState}


@dataclass(frozen=True)
class RowAlert:
    """One line of a row's alert column: its severity (for the look) and its words."""

    kind: str
    text: str


def row_alerts(
    terminal: Terminal, limits: presence.PresenceLimits, clock: formatting.Clock
) -> list[RowAlert]:
    """What the row's alert column says, worst first: the state and its duration in words for
    a terminal that is not online, then each health problem, or that all is well."""
    _ = clock.gettext
    rank = severity.rank_of(terminal, limits, clock.now)
    elapsed = formatting.duration_words(
        (clock.now - terminal.state_since).total_seconds(), clock.locale
    )
    found: list[RowAlert] = []
    if rank == severity.Severity.LOST:
        found.append(RowAlert("lost", _("Lost for %(duration)s") % {"duration": elapsed}))
    elif rank == severity.Severity.OFFLINE:
        found.append(RowAlert("offline", _("Offline for %(duration)s") % {"duration": elapsed}))
    elif terminal.state == TerminalState.LOST:
        found.append(
            RowAlert(
                "waiting",
                _("Connection lost %(duration)s ago, reconnection awaited") % {"duration": elapsed},
            )
        )
    elif terminal.state == TerminalState.OFFLINE:
        found.append(
            RowAlert(
                "waiting",
                _("Stopped %(duration)s ago, restart awaited") % {"duration": elapsed},
            )
        )
    elif terminal.state == TerminalState.UNKNOWN:
        found.append(RowAlert("waiting", _("Never heard from")))
    online = terminal.state == TerminalState.ONLINE
    if online:
        if terminal.ui_alive is False:
            found.append(RowAlert("degraded", _("UI not responding")))
        if presence.disk_nearly_full(terminal, limits):
            found.append(
                RowAlert(
                    "degraded",
                    _("Disk nearly full: %(percent)s")
                    % {"percent": formatting.percent(terminal.disk_percent)},
                )
            )
        reading = presence.temperature_out_of_range(terminal, limits)
        if reading is not None:
            found.append(
                RowAlert(
                    "degraded",
                    _("Temperature out of range: %(reading)s °C")
                    % {"reading": formatting.decimal(reading, clock.locale, 1)},
                )
            )
        if terminal.clock_synced is False:
            found.append(RowAlert("degraded", _("Clock not synchronised")))
        if terminal.clock_error_s is not None:
            found.append(
                RowAlert(
                    "degraded",
                    _("Clock wrong: %(error)s")
                    % {"error": formatting.clock_error(terminal.clock_error_s, _)},
                )
            )
    if terminal.door_open:
        found.append(RowAlert("degraded", _("Door open")))
    if not found:
        found.append(RowAlert("ok", _("Nothing to report")))
    return found


def live_context(
    session: Session,
    settings: FleetSettings,
    language: Language,
    broker: BrokerState,
    query: TableQuery,
) -> dict[str, Any]:
    """What the summary, the plan and the table need, for the page and for live updates."""
    limits = presence.PresenceLimits.from_settings(settings)
    zone = formatting.display_zone(settings.display_timezone)
    clock = formatting.Clock(crud.utc_now(), zone, language.gettext, language.code)
    counts = count_by_state(session)
    table = select_page(session, query, limits, clock.now, total=sum(counts.values()))
    # count(*), not count(id): the covering index ix_terminals_severity then suffices.
    degraded = int(
        session.scalar(select(func.count()).select_from(Terminal).where(degraded_condition(limits)))
        or 0
    )
    return {
        "terminals": table.rows,
        "table": table,
        "terminal_total": sum(counts.values()),
        "counts": counts,
        "degraded_count": degraded,
        # Of what: online terminals with a health problem (one word per count, plural or not).
        "degraded_label": language.ngettext(
            "online but degraded (health problem)",
            "online but degraded (health problem)",
            degraded,
        ),
        "open_alerts": store.count_open(session),
        "rejected_total": crud.rejected_total(session),
        "broker_dropped_total": dropped_total(session),
        "broker": broker,
        "broker_down_since": clock.timestamp(broker.down_since),
        "clock": clock,
        "query": query,
        **plan_context(session, query, limits, language),
        "state_label": lambda state: formatting.state_label(state, language.gettext),
        "percent": formatting.percent,
        "temperature": formatting.temperature,
        "clock_error": lambda seconds: formatting.clock_error(seconds, language.gettext),
        "row_alerts": lambda terminal: row_alerts(terminal, limits, clock),
        "reading_age": lambda terminal: formatting.stale_reading_age(
            terminal.state, terminal.health_at, clock
        ),
    }
