"""What the dashboard shows, shared by the page, its partial and its event stream.

The table is filtered and sorted on the server from query parameters, so that it works without
JavaScript and the live updates keep the reader's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet import crud, plan, presence
from fleet.alerts import store
from fleet.api import formatting
from fleet.api.deps import BrokerState, Language
from fleet.core.config import FleetSettings
from fleet.models import TERMINAL_STATES, Alert, RejectedMessage, StateChange, Terminal

MAX_QUERY_LENGTH: Final = 80
#: The sortable columns: query value → how to read it from a terminal.
SORT_KEYS: Final[Mapping[str, Callable[[Terminal], Any]]] = {
    "id": lambda terminal: terminal.id,
    "site": lambda terminal: ((terminal.commune or "").casefold(), (terminal.site_name or "")),
    "state": lambda terminal: TERMINAL_STATES.index(terminal.state),
    "since": lambda terminal: terminal.state_since,
    "last_seen": lambda terminal: terminal.last_seen_at,
    "cpu": lambda terminal: terminal.cpu_percent,
    "memory": lambda terminal: terminal.memory_percent,
    "disk": lambda terminal: terminal.disk_percent,
    "temperature": lambda terminal: terminal.temperature_c,
    "uptime": lambda terminal: terminal.uptime_s,
}
#: Filter values for the state, beyond the stored states.
DEGRADED: Final = "degraded"


@dataclass(frozen=True)
class TableQuery:
    """The reader's filter and order, read from the query string (unknown values ignored)."""

    state: str = ""
    text: str = ""
    sort: str = "id"
    descending: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TableQuery:
        state = params.get("state", "")
        if state not in (*TERMINAL_STATES, DEGRADED):
            state = ""
        sort = params.get("sort", "id")
        if sort not in SORT_KEYS:
            sort = "id"
        text = params.get("q", "").strip()[:MAX_QUERY_LENGTH]
        return cls(state, text, sort, params.get("order") == "desc")

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "state": self.state,
            "q": self.text,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
        }
        values.update(changes)
        defaults = {"state": "", "q": "", "sort": "id", "order": "asc"}
        return {key: value for key, value in values.items() if value != defaults[key]}

    def query_string(self, **changes: str) -> str:
        return urlencode(self.params(**changes))

    def sort_link(self, column: str) -> str:
        """The link of a column header: sort by it, or reverse the order if it is the sort."""
        order = "asc"
        if column == self.sort and not self.descending:
            order = "desc"
        query = self.query_string(sort=column, order=order)
        return "/?" + query if query else "/"

    def aria_sort(self, column: str) -> str:
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    @property
    def active(self) -> bool:
        return bool(self.state or self.text)


def _matches_text(terminal: Terminal, text: str) -> bool:
    needle = text.casefold()
    return any(
        needle in value.casefold()
        for value in (terminal.id, terminal.site_name or "", terminal.commune or "")
    )


def select_rows(
    terminals: list[Terminal], query: TableQuery, limits: presence.PresenceLimits
) -> list[Terminal]:
    """The terminals the table shows, in the asked order (missing figures always last)."""
    rows = terminals
    if query.state == DEGRADED:
        rows = [t for t in rows if presence.presence_of(t, limits) == DEGRADED]
    elif query.state:
        rows = [t for t in rows if t.state == query.state]
    if query.text:
        rows = [t for t in rows if _matches_text(t, query.text)]
    read = SORT_KEYS[query.sort]
    known = [t for t in rows if read(t) is not None]
    missing = [t for t in rows if read(t) is None]
    known.sort(key=lambda terminal: (read(terminal), terminal.id), reverse=query.descending)
    return known + missing


def placed_terminals(terminals: list[Terminal], language: Language) -> list[plan.PlacedTerminal]:
    return [
        plan.PlacedTerminal(
            terminal_id=terminal.id,
            state=terminal.state,
            state_text=formatting.state_label(terminal.state, language.gettext),
            site_name=terminal.site_name,
            commune=terminal.commune,
            latitude=terminal.latitude,
            longitude=terminal.longitude,
        )
        for terminal in terminals
    ]


def plan_svg(terminals: list[plan.PlacedTerminal], language: Language) -> str:
    _ = language.gettext
    placed = sum(1 for terminal in terminals if terminal.placed)
    lost = sum(1 for terminal in terminals if terminal.placed and terminal.state == "lost")
    return plan.render_plan(
        terminals,
        _("Plan of Bordeaux Métropole"),
        _("%(placed)d terminals placed, %(lost)d of them lost.") % {"placed": placed, "lost": lost},
    )


def live_context(
    session: Session,
    settings: FleetSettings,
    language: Language,
    broker: BrokerState,
    query: TableQuery,
) -> dict[str, Any]:
    """What the summary, the plan and the table need, for the page and for live updates."""
    terminals = crud.list_terminals(session)
    limits = presence.PresenceLimits.from_settings(settings)
    zone = formatting.display_zone(settings.display_timezone)
    clock = formatting.Clock(crud.utc_now(), zone, language.gettext)
    rows = select_rows(terminals, query, limits)
    shown = placed_terminals(rows, language)
    return {
        "terminals": rows,
        "terminal_total": len(terminals),
        "counts": crud.count_by_state(terminals),
        "degraded_count": sum(
            1 for terminal in terminals if presence.presence_of(terminal, limits) == DEGRADED
        ),
        "open_alerts": store.count_open(session),
        "rejected_total": crud.rejected_total(session),
        "broker": broker,
        "broker_down_since": clock.timestamp(broker.down_since),
        "clock": clock,
        "query": query,
        "plan_svg": plan_svg(shown, language),
        "not_placed": [terminal for terminal in shown if not terminal.placed],
        "state_label": lambda state: formatting.state_label(state, language.gettext),
        "percent": formatting.percent,
        "temperature": formatting.temperature,
    }


Fingerprint = tuple[object, ...]


def fingerprint(session: Session) -> Fingerprint:
    """A few aggregates that change whenever anything the dashboard shows changes.

    Three small queries a second per open dashboard, instead of rendering the whole table.
    """
    terminals = session.execute(
        select(
            *(func.count(Terminal.id).filter(Terminal.state == state) for state in TERMINAL_STATES),
            func.max(Terminal.state_since),
            func.max(Terminal.last_seen_at),
            func.max(Terminal.health_at),
            func.sum(Terminal.latitude),
            func.sum(Terminal.longitude),
            func.sum(func.length(func.coalesce(Terminal.site_name, ""))),
            func.sum(func.length(func.coalesce(Terminal.commune, ""))),
        )
    ).one()
    alerts = session.execute(
        select(func.count(Alert.id), func.max(Alert.opened_at), func.max(Alert.resolved_at))
    ).one()
    alerts_acknowledged = session.scalar(select(func.max(Alert.acknowledged_at)))
    last_change = session.scalar(select(func.max(StateChange.id)))
    rejected = session.scalar(select(func.coalesce(func.sum(RejectedMessage.count), 0)))
    return (
        *_plain(tuple(terminals)),
        *_plain(tuple(alerts)),
        _plain_one(alerts_acknowledged),
        last_change,
        rejected,
    )


def _plain_one(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _plain(values: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(_plain_one(value) for value in values)
