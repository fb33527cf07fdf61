"""The overview's table: the reader's filter and order from the query string, and one page of
terminals read in SQL (sorted, filtered and cut by the database, never in Python).

The table is filtered and sorted on the server from query parameters, so that it works without
JavaScript and the live updates keep the reader's choice. The plan's cluster grid is here too,
because a click on a cluster filters the table to its cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

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
from fleet.models import Terminal
from fleet.states import TerminalState

MAX_QUERY_LENGTH: Final = 80
#: Rows per page of the table: the page is sorted, filtered and cut in SQL.
PAGE_SIZE: Final = 100
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
