"""The overview's city map: the matching terminals placed on the plan, or beyond
``citymap.DETAIL_MAX`` their clusters counted by the database, and those not placed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache
from typing import Any, Final

from babel.numbers import format_compact_decimal, format_decimal
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from fleet import citymap, presence
from fleet.api import formatting
from fleet.api.deps import Language
from fleet.api.overview.table import TableQuery, filter_conditions, grid_columns
from fleet.models import Terminal
from fleet.states import TerminalState

#: At most this many terminals without coordinates are listed under the plan.
NOT_PLACED_MAX: Final = 50
TERMINAL_COLUMNS: Final = (
    Terminal.id,
    Terminal.state,
    Terminal.site_name,
    Terminal.commune,
    Terminal.latitude,
    Terminal.longitude,
)
PLACED: Final = and_(Terminal.latitude.is_not(None), Terminal.longitude.is_not(None))
#: The partial index ``ix_terminals_not_placed``'s condition, written as it is (a database uses
#: a partial index only for a query whose WHERE visibly implies the index's own).
NOT_PLACED: Final = or_(Terminal.latitude.is_(None), Terminal.longitude.is_(None))


def _placed_terminals(rows: Iterable[Any], language: Language) -> list[citymap.PlacedTerminal]:
    labels = {state: formatting.state_label(state, language.gettext) for state in TerminalState}
    return [
        citymap.PlacedTerminal(
            terminal_id=terminal_id,
            state=state,
            state_text=labels.get(state) or formatting.state_label(state, language.gettext),
            site_name=site_name,
            commune=commune,
            latitude=latitude,
            longitude=longitude,
        )
        for terminal_id, state, site_name, commune, latitude, longitude in rows
    ]


def cluster_cells(session: Session, conditions: list[Any]) -> list[citymap.Cell]:
    """The plan's clusters, counted by the database: one GROUP BY (column, row, state) of
    the grid over its index, at most cells × states rows back, whatever the fleet's size."""
    column, row = grid_columns(session.get_bind().dialect.name)
    rows = session.execute(
        select(column, row, Terminal.state, func.count())
        .where(*conditions, column.is_not(None), row.is_not(None))
        .group_by(column, row, Terminal.state)
    )
    return citymap.merge_cells((int(c), int(r), str(state), int(n)) for c, r, state, n in rows)


@lru_cache(maxsize=8192)
def _decimal(number: int, locale: str) -> str:
    """Babel's number for the locale; cached: it costs ~0.3 ms, and a plan has hundreds of
    counts, most of them repeated (this alone was most of the overview's time at 10,000)."""
    return format_decimal(number, locale=locale)


@lru_cache(maxsize=8192)
def _compact(number: int, locale: str) -> str:
    """ "1,2 k" for 1,234 in French: what fits in a cluster's circle."""
    return format_compact_decimal(number, locale=locale, fraction_digits=1)


def cluster_labeller(language: Language) -> Callable[[citymap.Cell], str]:
    """ "12 terminals: 9 online, 2 offline, 1 lost", in the reader's language; the words are
    looked up once per page, not once per cluster."""
    _ = language.gettext
    states = {state: formatting.state_label(state, _) for state in citymap.SEVERITY}
    one, many = _("1 terminal: %(state)s"), _("%(count)s terminals: %(states)s")

    def label(cell: citymap.Cell) -> str:
        if cell.count == 1:
            return one % {"state": states.get(cell.worst, cell.worst)}
        parts = ", ".join(
            f"{_decimal(cell.by_state[state], language.code)} {states[state]}"
            for state in citymap.SEVERITY
            if cell.by_state.get(state)
        )
        return many % {"count": _decimal(cell.count, language.code), "states": parts}

    return label


def plan_context(
    session: Session, query: TableQuery, limits: presence.PresenceLimits, language: Language
) -> dict[str, Any]:
    """The plan of every matching terminal (all pages of the table) and those not placed.

    Up to ``citymap.DETAIL_MAX`` placed terminals each is a link; beyond, the plan draws the
    clusters of a grid at its scale, counted in SQL (see :func:`cluster_cells`), each a link
    to the table of that cell. Every query here is bounded: counts, at most ``DETAIL_MAX``
    rows, at most cells × states groups, at most ``NOT_PLACED_MAX`` rows.
    """
    _ = language.gettext
    # The plan shows the filter's terminals, not only the clicked cell: the cell narrows the
    # table, and the plan stays the map to click another one.
    conditions = filter_conditions(replace(query, cell=""), limits)
    cells = cluster_cells(session, conditions)
    placed = sum(cell.count for cell in cells)
    lost = sum(cell.by_state.get(TerminalState.LOST, 0) for cell in cells)
    title = _("Plan of Bordeaux Métropole")
    description = _("%(placed)d terminals placed, %(lost)d of them lost.") % {
        "placed": placed,
        "lost": lost,
    }
    clustered = placed > citymap.DETAIL_MAX
    if not clustered:
        shown = _placed_terminals(
            session.execute(select(*TERMINAL_COLUMNS).where(*conditions, PLACED)), language
        )
        svg = citymap.render_plan(shown, title, description)
    else:
        link = "/?" + query.query_string(cell="CELL", page="1")
        svg = citymap.render_cluster_plan(
            cells,
            title,
            description,
            cell_label=cluster_labeller(language),
            count_text=lambda count: _compact(count, language.code),
            cell_link=lambda cell: link.replace("CELL", cell.key),
        )
    # Counted and listed (in id order) on the partial index of the terminals not placed.
    not_placed_total = int(
        session.scalar(select(func.count()).select_from(Terminal).where(*conditions, NOT_PLACED))
        or 0
    )
    not_placed = (
        _placed_terminals(
            session.execute(
                select(*TERMINAL_COLUMNS)
                .where(*conditions, NOT_PLACED)
                .order_by(Terminal.id)
                .limit(NOT_PLACED_MAX)
            ),
            language,
        )
        if not_placed_total
        else []
    )
    return {
        "plan_svg": svg,
        "plan_clustered": clustered,
        "not_placed": not_placed,
        "not_placed_more": max(not_placed_total - len(not_placed), 0),
    }
