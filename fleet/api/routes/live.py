"""What the dashboard shows, shared by the page, its partial and its event stream.

The table is filtered and sorted on the server from query parameters, so that it works without
JavaScript and the live updates keep the reader's choice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Final
from urllib.parse import urlencode

from babel.numbers import format_compact_decimal, format_decimal
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from fleet import citymap, crud, presence, severity
from fleet.alerts import store
from fleet.api import formatting
from fleet.api.deps import BrokerState, Language
from fleet.core.config import FleetSettings
from fleet.ingest.broker_counters import dropped_total
from fleet.models import (
    Alert,
    AuditEntry,
    CommandAckRecord,
    EventRecord,
    HealthSample,
    RejectedMessage,
    StateChange,
    Terminal,
)
from fleet.states import AlertState, TerminalState

MAX_QUERY_LENGTH: Final = 80
#: Rows per page of the table: the page is sorted, filtered and cut in SQL.
PAGE_SIZE: Final = 100
#: At most this many terminals without coordinates are listed under the plan.
NOT_PLACED_MAX: Final = 50
#: The sortable columns: query value → the SQL expression to order by.
SORT_COLUMNS: Final[Mapping[str, Any]] = {
    "id": Terminal.id,
    "site": func.lower(func.coalesce(Terminal.commune, "")),
    "state": case(
        *((Terminal.state == state, index) for index, state in enumerate(TerminalState)),
        else_=len(TerminalState),
    ),
    "since": Terminal.state_since,
    "last_seen": Terminal.last_seen_at,
    "cpu": Terminal.cpu_percent,
    "memory": Terminal.memory_percent,
    "disk": Terminal.disk_percent,
    "temperature": Terminal.temperature_c,
    "uptime": Terminal.uptime_s,
}
#: The second key of a sort (the site column sorts by commune, then site name).
SORT_THEN: Final[Mapping[str, Any]] = {
    "site": func.coalesce(Terminal.site_name, ""),
}
#: Severity first (lost, offline past grace, degraded, the rest): the default order.
SEVERITY_SORT: Final = "severity"
SORT_KEYS: Final = (SEVERITY_SORT, *SORT_COLUMNS)
#: Filter values for the state, beyond the stored states.
DEGRADED: Final = "degraded"


@dataclass(frozen=True)
class TableQuery:
    """The reader's filter and order, read from the query string (unknown values ignored)."""

    state: str = ""
    text: str = ""
    sort: str = SEVERITY_SORT
    descending: bool = False
    page: int = 1
    #: A cell of the plan's cluster grid ("column-row"), from a click on a cluster.
    cell: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TableQuery:
        state = params.get("state", "")
        if state not in (*TerminalState, DEGRADED):
            state = ""
        sort = params.get("sort", SEVERITY_SORT)
        if sort not in SORT_KEYS:
            sort = SEVERITY_SORT
        text = params.get("q", "").strip()[:MAX_QUERY_LENGTH]
        page_text = params.get("page", "1")
        page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 7 else 1
        cell = params.get("cell", "")
        if citymap.parse_cell(cell) is None:
            cell = ""
        return cls(state, text, sort, params.get("order") == "desc", max(page, 1), cell)

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "state": self.state,
            "q": self.text,
            "sort": self.sort,
            "order": "desc" if self.descending else "asc",
            "page": str(self.page),
            "cell": self.cell,
        }
        values.update(changes)
        defaults = {
            "state": "",
            "q": "",
            "sort": SEVERITY_SORT,
            "order": "asc",
            "page": "1",
            "cell": "",
        }
        return {key: value for key, value in values.items() if value != defaults[key]}

    def query_string(self, **changes: str) -> str:
        return urlencode(self.params(**changes))

    def sort_link(self, column: str) -> str:
        """The link of a column header: sort by it, or reverse the order if it is the sort."""
        order = "asc"
        if column == self.sort and not self.descending:
            order = "desc"
        query = self.query_string(sort=column, order=order, page="1")
        return "/?" + query if query else "/"

    def page_link(self, page: int) -> str:
        query = self.query_string(page=str(page))
        return "/?" + query if query else "/"

    def aria_sort(self, column: str) -> str:
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"

    @property
    def active(self) -> bool:
        return bool(self.state or self.text or self.cell)


def degraded_condition(limits: presence.PresenceLimits) -> ColumnElement[bool]:
    """SQL for :func:`presence.presence_of` being ``degraded`` (kept in :mod:`fleet.severity`)."""
    return severity.degraded_condition(limits)


def grid_columns(dialect: str) -> tuple[Any, Any]:
    """The plan's grid (column, row) of a terminal, in SQL: the very expressions of the index
    ``ix_terminals_plan_cell`` (migration 0016), so that counting clusters reads the index
    alone. CAST truncates on SQLite and rounds on PostgreSQL, hence FLOOR there."""
    column = f"(longitude - ({citymap.WEST!r})) * {citymap.CELLS_PER_DEGREE_LON}"
    row = f"({citymap.NORTH!r} - latitude) * {citymap.CELLS_PER_DEGREE_LAT}"
    if dialect == "postgresql":
        column, row = f"floor({column})", f"floor({row})"
    return literal_column(f"CAST({column} AS INTEGER)"), literal_column(f"CAST({row} AS INTEGER)")


def _grid_match(expression: Any, index: int, size: int) -> ColumnElement[bool]:
    """The edge cells take what lies beyond the box, as the plan draws it."""
    if index == 0:
        condition: ColumnElement[bool] = expression <= 0
    elif index == size - 1:
        condition = expression >= index
    else:
        condition = expression == index
    return condition


def cell_condition(column: int, row: int, dialect: str) -> ColumnElement[bool]:
    """Terminals in one cell of the plan's grid, with the grid's own SQL (and its index)."""
    column_sql, row_sql = grid_columns(dialect)
    columns, rows = citymap.grid_size()
    return and_(_grid_match(column_sql, column, columns), _grid_match(row_sql, row, rows))


def filter_conditions(
    query: TableQuery, limits: presence.PresenceLimits, dialect: str = "sqlite"
) -> list[Any]:
    conditions: list[Any] = []
    if query.state == DEGRADED:
        conditions.append(degraded_condition(limits))
    elif query.state:
        conditions.append(Terminal.state == query.state)
    where = citymap.parse_cell(query.cell)
    if where is not None:
        conditions.append(cell_condition(*where, dialect))
    if query.text:
        conditions.append(text_condition(query.text))
    return conditions


#: The text search's side table (migration 0017): each terminal's id, site and commune in lower
#: case, separated by a character nobody types (so that a search does not match across two of
#: them), kept current by triggers on the terminals. Not a model: SQLite makes it an FTS5 table.
SEARCH: Final = sql_table("terminal_search", sql_column("terminal_id"), sql_column("words"))
#: Trigrams serve a search of at least this many characters.
SEARCH_MIN_LENGTH: Final = 3
#: What a LIKE pattern would read as a wildcard or an escape (on either database), and the
#: separator: such a search takes the plain way.
SEARCH_PLAIN: Final = frozenset("%_\\\x1f")


def text_condition(text: str) -> ColumnElement[bool]:
    """Terminals whose id, site or commune contains ``text``, whatever the case: through the
    trigram index of ``terminal_search`` (the matching terminals only), or for a search too
    short for trigrams (or holding a LIKE wildcard) by reading each terminal's columns."""
    needle = text.lower()
    if len(needle) >= SEARCH_MIN_LENGTH and not SEARCH_PLAIN.intersection(needle):
        return Terminal.id.in_(
            select(SEARCH.c.terminal_id).where(SEARCH.c.words.like(f"%{needle}%"))
        )
    return or_(
        *(
            func.lower(column).contains(needle, autoescape=True)
            for column in (Terminal.id, Terminal.site_name, Terminal.commune)
        )
    )


def order_by(
    query: TableQuery, limits: presence.PresenceLimits | None = None, now: datetime | None = None
) -> list[Any]:
    """Missing figures always last (in terminal order), the rest in the asked order; by
    default severity first (:mod:`fleet.severity`), the best first when reversed. The one
    place where the table's ORDER BY is made (page, partial and live updates)."""
    if query.sort == SEVERITY_SORT:
        return severity.order_by(
            limits or presence.PresenceLimits(), now or crud.utc_now(), query.descending
        )
    if query.sort == "id":
        # Never missing (the key): the primary key's index serves the page, no sort at all.
        return [Terminal.id.desc() if query.descending else Terminal.id.asc()]
    column = SORT_COLUMNS[query.sort]
    then = SORT_THEN.get(query.sort)
    keys: list[Any] = [case((column.is_(None), 1), else_=0)]
    keys.append(column.desc() if query.descending else column.asc())
    if then is not None:
        keys.append(then.desc() if query.descending else then.asc())
    keys.append(case((column.is_(None), Terminal.id), else_=None).asc())
    keys.append(Terminal.id.desc() if query.descending else Terminal.id.asc())
    return keys


@dataclass(frozen=True)
class TablePage:
    """One page of the table, and where it stands among the matching terminals."""

    rows: list[Terminal]
    matching: int
    page: int
    pages: int

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def select_page(
    session: Session,
    query: TableQuery,
    limits: presence.PresenceLimits,
    now: datetime | None = None,
    total: int | None = None,
) -> TablePage:
    """The terminals the table shows: filtered, sorted and cut in SQL. ``total``: how many
    terminals the fleet has, when the caller counted them already (the unfiltered count)."""
    conditions = filter_conditions(query, limits, session.get_bind().dialect.name)
    if conditions or total is None:
        matching = int(
            session.scalar(select(func.count()).select_from(Terminal).where(*conditions)) or 0
        )
    else:
        matching = total
    pages = max((matching + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(query.page, pages)
    offset = (page - 1) * PAGE_SIZE
    if query.sort == SEVERITY_SORT:
        rows = severity_page(
            session, conditions, limits, now or crud.utc_now(), offset, query.descending
        )
    else:
        rows = list(
            session.scalars(
                select(Terminal)
                .where(*conditions)
                .order_by(*order_by(query, limits, now))
                .limit(PAGE_SIZE)
                .offset(offset)
            )
        )
    return TablePage(rows, matching, page, pages)


def severity_page(
    session: Session,
    conditions: list[Any],
    limits: presence.PresenceLimits,
    now: datetime,
    offset: int,
    descending: bool = False,
    limit: int = PAGE_SIZE,
) -> list[Terminal]:
    """A page of terminals severity first, read one rank at a time (:func:`severity.rank_ranges`)
    over the index ``ix_terminals_severity``: each rank's rows come in index order, so a page
    reads about a page of rows, not the whole fleet to rank and sort it (the ORDER BY of
    :func:`severity.order_by`, which no index can serve, read every row at 100,000 terminals).
    A rank before the page is only counted, on the same index."""
    ranges = severity.rank_ranges(limits, now)
    keys: list[Any] = [Terminal.state_since, Terminal.id]
    if descending:
        ranges = ranges[::-1]
        keys = [key.desc() for key in keys]
    rows: list[Terminal] = []
    skip = offset
    for _rank, streams in ranges:
        need = limit - len(rows)
        if need <= 0:
            break
        if skip:
            size = int(
                session.scalar(
                    select(func.count()).select_from(Terminal).where(*conditions, or_(*streams))
                )
                or 0
            )
            if size <= skip:
                skip -= size
                continue
        if len(streams) == 1:
            statement = select(Terminal).where(*conditions, streams[0]).order_by(*keys)
            rows.extend(session.scalars(statement.limit(need).offset(skip)))
        else:
            # Several ranges of the index in one rank: the first skip + need of each, merged.
            found: list[tuple[datetime, str]] = []
            for stream in streams:
                found.extend(
                    (since, terminal_id)
                    for since, terminal_id in session.execute(
                        select(Terminal.state_since, Terminal.id)
                        .where(*conditions, stream)
                        .order_by(*keys)
                        .limit(skip + need)
                    )
                )
            found.sort(reverse=descending)
            wanted = [terminal_id for _since, terminal_id in found[skip : skip + need]]
            loaded = {
                terminal.id: terminal
                for terminal in session.scalars(select(Terminal).where(Terminal.id.in_(wanted)))
            }
            rows.extend(loaded[terminal_id] for terminal_id in wanted)
        skip = 0
    return rows


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


Fingerprint = tuple[object, ...]


#: Every table whose newest row says the dashboard may read differently: a state change, a
#: health report, an event, a command's answer, an operator's action (placing a terminal,
#: enrolling one, acknowledging an alert: all audited), an alert opened.
FINGERPRINT_TABLES: Final = (StateChange, HealthSample, EventRecord, CommandAckRecord, AuditEntry)


def fingerprint(session: Session) -> Fingerprint:
    """A few aggregates that change whenever anything the dashboard shows changes.

    Run every second per open dashboard, instead of rendering the whole table: each value is
    read from an index in a few page reads whatever the fleet's size (the largest id of each
    table that grows with what the terminals say and the operators do, the unresolved alerts
    on their state index), not a scan of the terminals. What no new row tells (a terminal's
    repeated "online" without a change, time passing the grace period) shows at the stream's
    periodic refresh (``events.REFRESH_S``).
    """
    newest = [
        select(func.max(table.__table__.c.id)).scalar_subquery() for table in FINGERPRINT_TABLES
    ]
    unresolved = [
        select(func.count()).select_from(Alert).where(Alert.state == state).scalar_subquery()
        for state in (AlertState.OPEN, AlertState.ACKNOWLEDGED)
    ]
    values = session.execute(
        select(*newest, select(func.max(Alert.id)).scalar_subquery(), *unresolved)
    ).one()
    rejected = session.scalar(select(func.coalesce(func.sum(RejectedMessage.count), 0)))
    return (*tuple(values), rejected, dropped_total(session))
