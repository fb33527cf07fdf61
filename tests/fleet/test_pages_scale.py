"""The dashboard at fleet scale: one page of the table at a time, counts and plan from SQL."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session

from fleet import citymap, crud, presence, severity
from fleet.api.overview.changes import fingerprint
from fleet.api.overview.map import cluster_cells
from fleet.api.overview.table import (
    PAGE_SIZE,
    TableQuery,
    cell_condition,
    degraded_condition,
    grid_columns,
    select_page,
    text_condition,
)
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import Alert, Terminal
from tests.helpers import log_in

SVG = "{http://www.w3.org/2000/svg}"
STATES = ("online", "offline", "lost", "unknown")


def fill(settings: FleetSettings, count: int, placed: bool = True) -> list[dict[str, Any]]:
    rng = random.Random(count)
    now = crud.utc_now()
    rows = []
    for index in range(count):
        reported = index % 7 != 0
        rows.append(
            {
                "id": f"bdx-s-{index:04d}",
                "state": STATES[index % 4],
                "state_since": now - timedelta(minutes=index),
                "versions": {},
                "cpu_percent": rng.uniform(0, 100) if reported else None,
                "disk_percent": rng.uniform(50, 99) if reported else None,
                "temperature_c": rng.uniform(-20, 80) if reported else None,
                "enclosure_temperature_c": rng.uniform(-20, 80) if index % 3 == 0 else None,
                "ui_alive": rng.random() > 0.2 if reported else None,
                "clock_synced": rng.random() > 0.2 if reported else None,
                "commune": rng.choice(["Bègles", "Bordeaux", "Pessac"]),
                "site_name": f"Arrêt {index}",
                "latitude": rng.uniform(44.75, 44.95) if placed or index % 3 else None,
                "longitude": rng.uniform(-0.75, -0.45) if placed or index % 3 else None,
                "created_at": now,
            }
        )
    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(insert(Terminal), rows)
    engine.dispose()
    return rows


def row_ids(client: TestClient, path: str) -> list[str]:
    page = client.get(path)
    assert page.status_code == 200
    body = page.text.split('id="terminal-rows"', 1)[1].split("</tbody>", 1)[0]
    return [part.split('"', 1)[0] for part in body.split('<tr id="terminal-')[1:]]


def test_the_table_is_cut_in_pages_with_links(client: TestClient, settings: FleetSettings) -> None:
    fill(settings, 250)
    log_in(client)

    first = client.get("/").text
    assert len(row_ids(client, "/")) == PAGE_SIZE
    assert "Bornes 1–100 sur 250" in first or "1–100" in first
    assert 'href="/?page=2"' in first
    by_id = [f"bdx-s-{index:04d}" for index in range(200, 250)]
    assert row_ids(client, "/?sort=id&page=3") == by_id
    # Past the end: the last page; nonsense: the first.
    assert row_ids(client, "/?page=99") == row_ids(client, "/?page=3")
    assert row_ids(client, "/?sort=id&page=-2")[0] == "bdx-s-0000"
    # By default severity first across pages: the lost terminals (down the longest first) lead.
    assert row_ids(client, "/")[:2] == ["bdx-s-0246", "bdx-s-0242"]
    assert row_ids(client, "/?page=-2") == row_ids(client, "/")
    # Sorting goes back to page 1 and keeps the filter.
    page = client.get("/?state=lost&page=2&sort=cpu").text
    assert 'href="/?state=lost&amp;sort=cpu&amp;order=desc"' in page
    # Counts cover the whole fleet, not the page.
    counts = {
        state: int(page.split(f'id="count-{state}">', 1)[1].split("<")[0]) for state in STATES
    }
    assert counts == {"online": 63, "offline": 63, "lost": 62, "unknown": 62}


def test_sql_sort_keeps_missing_figures_last_in_terminal_order(
    client: TestClient, settings: FleetSettings
) -> None:
    rows = fill(settings, 60)
    log_in(client)
    for order in ("asc", "desc"):
        known = sorted(
            (row for row in rows if row["cpu_percent"] is not None),
            key=lambda row: (row["cpu_percent"], row["id"]),
            reverse=order == "desc",
        )
        missing = sorted(row["id"] for row in rows if row["cpu_percent"] is None)
        expected = [row["id"] for row in known] + missing
        assert row_ids(client, f"/?sort=cpu&order={order}") == expected


def test_the_degraded_filter_in_sql_agrees_with_presence(settings: FleetSettings) -> None:
    fill(settings, 300)
    limits = presence.PresenceLimits.from_settings(settings)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        terminals = crud.list_terminals(session)
        expected = {t.id for t in terminals if presence.presence_of(t, limits) == "degraded"}
        found = set(session.scalars(select(Terminal.id).where(degraded_condition(limits))))
        page = select_page(session, TableQuery(state="degraded"), limits)
    engine.dispose()
    assert expected
    assert found == expected
    assert page.matching == len(expected)


def plan_svg(page: str) -> ElementTree.Element:
    return ElementTree.fromstring(page.split('<div class="plan-wrap">', 1)[1].split("</div>", 1)[0])


def python_cell(latitude: float, longitude: float) -> str:
    column, row = citymap.cell_of(latitude, longitude)
    return f"{column}-{row}"


def test_a_large_fleet_is_drawn_as_clusters_counted_in_sql(
    client: TestClient, settings: FleetSettings
) -> None:
    rows = fill(settings, 900, placed=False)
    log_in(client)

    page = client.get("/").text
    root = plan_svg(page)
    # Links in the drawing: a group, not an image (axe: nested interactive element).
    assert root.get("role") == "group"
    cells = root.findall(f"{SVG}a")
    assert all(cell.get("class") == "plan-cell" for cell in cells)
    placed = [row for row in rows if row["latitude"] is not None]
    assert len(placed) == 600 > citymap.DETAIL_MAX
    assert sum(int(cell.get("data-count") or 0) for cell in cells) == 600
    # Python over every row, here only to check what the database counted.
    expected: dict[str, list[str]] = {}
    for row in placed:
        expected.setdefault(python_cell(row["latitude"], row["longitude"]), []).append(row["id"])
    assert len(cells) == len(expected) <= citymap.grid_size()[0] * citymap.grid_size()[1]
    severity = {state: index for index, state in enumerate(citymap.SEVERITY)}
    by_id = {row["id"]: row for row in rows}
    for cell in cells:
        key = (cell.get("href") or "").split("cell=", 1)[1]
        ids = expected[key]
        assert int(cell.get("data-count") or 0) == len(ids)
        worst = min((by_id[i]["state"] for i in ids), key=severity.__getitem__)
        assert cell.get("data-state") == worst
        title = cell.find(f"{SVG}title")
        assert title is not None
        noun = "borne :" if len(ids) == 1 else "bornes :"
        assert (title.text or "").startswith(f"{len(ids)} {noun}")
    # A click on a cluster lists exactly its terminals, and the plan still shows them all.
    busiest = max(expected, key=lambda key: len(expected[key]))
    listed = client.get(f"/?cell={busiest}").text
    assert sorted(row_ids(client, f"/?cell={busiest}")) == sorted(expected[busiest])
    assert 'id="cell-filter"' in listed
    assert len(plan_svg(listed).findall(f"{SVG}a")) == len(cells)
    # Nonsense cells are ignored.
    assert len(row_ids(client, "/?cell=999-1")) == PAGE_SIZE
    # The terminals without coordinates: a bounded list and how many more.
    assert 'id="not-placed-more"' in page


def test_a_small_fleet_keeps_a_link_per_terminal(
    client: TestClient, settings: FleetSettings
) -> None:
    fill(settings, 40)
    log_in(client)
    root = plan_svg(client.get("/").text)
    links = root.findall(f"{SVG}a")
    assert len(links) == 40
    assert {link.get("class") for link in links} == {"plan-terminal"}


def test_the_cluster_grid_is_the_same_on_sqlite_and_postgresql(db_session: Session) -> None:
    """CAST rounds on PostgreSQL and truncates on SQLite: the grid must agree with floor()."""
    now = crud.utc_now()
    rng = random.Random(3)
    rows: list[dict[str, Any]] = []
    for index in range(400):
        # Half of them near a cell's edge, where rounding would move them.
        lat_step, lon_step = citymap.cell_degrees()
        if index % 2:
            lat = citymap.NORTH - lat_step * rng.randint(1, 20) + rng.choice((-1e-6, 1e-6))
            lon = citymap.WEST + lon_step * rng.randint(1, 18) + rng.choice((-1e-6, 1e-6))
        else:
            lat, lon = (
                rng.uniform(citymap.SOUTH, citymap.NORTH),
                rng.uniform(citymap.WEST, citymap.EAST),
            )
        rows.append(
            {
                "id": f"bdx-g-{index:04d}",
                "state": STATES[index % 4],
                "state_since": now,
                "versions": {},
                "latitude": lat,
                "longitude": lon,
                "created_at": now,
            }
        )
    rows.append(
        {**rows[0], "id": "bdx-g-corner", "latitude": citymap.SOUTH, "longitude": citymap.EAST}
    )
    rows.append({**rows[0], "id": "bdx-g-away", "latitude": 48.85, "longitude": 2.35})
    db_session.execute(insert(Terminal), rows)
    db_session.commit()

    cells = cluster_cells(db_session, [])
    expected: dict[str, int] = {}
    for terminal in rows:
        key = python_cell(terminal["latitude"], terminal["longitude"])
        expected[key] = expected.get(key, 0) + 1
    assert {cell.key: cell.count for cell in cells} == expected
    # The table's filter of a cell selects the same terminals as the grid.
    dialect = db_session.get_bind().dialect.name
    for cell in cells:
        found = db_session.scalar(
            select(func.count(Terminal.id)).where(cell_condition(cell.column, cell.row, dialect))
        )
        assert found == cell.count


def make_settings_for_limits() -> FleetSettings:
    return FleetSettings.model_validate({"secret_key": "x" * 32, "broker_password": "x"})


def test_the_clusters_and_counts_read_indexes(db_session: Session) -> None:
    """At 100,000 terminals a table scan per request is what made the overview slow."""
    dialect = db_session.get_bind().dialect.name
    if dialect != "sqlite":
        pytest.skip("PostgreSQL's planner scans a small table whatever its indexes")
    column, row = grid_columns(dialect)
    for statement in (
        select(column, row, Terminal.state, func.count())
        .where(column.is_not(None), row.is_not(None))
        .group_by(column, row, Terminal.state),
        select(func.count()).select_from(Terminal).where(cell_condition(3, 4, dialect)),
        select(Terminal.state, func.count()).group_by(Terminal.state),
        select(func.count())
        .select_from(Terminal)
        .where(
            degraded_condition(presence.PresenceLimits.from_settings(make_settings_for_limits()))
        ),
    ):
        sql = str(statement.compile(db_session.get_bind(), compile_kwargs={"literal_binds": True}))
        plan_rows = db_session.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
        detail = " ".join(str(part[-1]) for part in plan_rows)
        assert "COVERING INDEX ix_terminals_" in detail, detail


def test_the_alerts_page_is_cut_in_pages(client: TestClient, settings: FleetSettings) -> None:
    rows = fill(settings, 250)
    now = crud.utc_now()
    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(
            insert(Alert),
            [
                {
                    "terminal_id": row["id"],
                    "kind": "lost",
                    "state": "open",
                    "active_key": f"{row['id']}:lost",
                    "opened_at": now - timedelta(minutes=index),
                    "summary": "lost",
                }
                for index, row in enumerate(rows)
            ],
        )
    engine.dispose()
    log_in(client)
    first = client.get("/alerts").text
    assert first.count('<tr id="alert-') == 100
    assert "Alertes 1–100 sur 250" in first
    assert 'href="/alerts?page=2"' in first
    last = client.get("/alerts?page=3").text
    assert last.count('<tr id="alert-') == 50
    assert client.get("/alerts?page=99").text.count('<tr id="alert-') == 50


def explained_statements(engine: Engine, action: Callable[[], object]) -> list[tuple[str, str]]:
    """Every statement ``action`` runs on ``engine``, with SQLite's plan for it (same values)."""
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    explained = []
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        for statement, parameters in seen:
            rows = cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            explained.append((statement, " | ".join(str(row[-1]) for row in rows)))
    return explained


def full_reads(explained: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Statements that read every row of the terminals table or sort every matching row: a
    table scan, or a temporary B-tree for an ORDER BY (what ranking the fleet costs). A scan
    of a covering index (the counts by state) reads index entries only, not rows; the partial
    index of the terminals not placed holds only those."""
    return [
        (statement, plan_text)
        for statement, plan_text in explained
        if re.search(
            r"SCAN terminals(?! USING (COVERING INDEX|INDEX ix_terminals_not_placed\b))", plan_text
        )
        or ("terminals" in statement and "TEMP B-TREE FOR ORDER BY" in plan_text)
    ]


def test_the_overview_reads_a_page_of_rows_not_the_fleet(
    client: TestClient, settings: FleetSettings
) -> None:
    """Severity first without ranking every terminal: each rank is a range of an index, read
    in order and cut at a page (fleet.severity.rank_ranges); the live fingerprint reads only
    indexes. Had the overview gone back to ORDER BY a CASE over every row (or the fingerprint
    to sums over the table), its plan would say SCAN terminals or TEMP B-TREE FOR ORDER BY."""
    rows = fill(settings, 1200, placed=False)
    log_in(client)
    engine: Engine = client.app.state.session_factory.kw["bind"]  # type: ignore[attr-defined]
    # Unfiltered: a filter reads the terminals it matches (a state's range, or all for a text).
    for path in ("/", "/?page=2", "/?page=9", "/?order=desc", "/partials/terminals"):
        explained = explained_statements(engine, lambda path=path: client.get(path))
        terminal_reads = [entry for entry in explained if "FROM terminals" in entry[0]]
        assert terminal_reads, path
        assert full_reads(explained) == [], path
    # And the page holds what ranking every row in Python says, in that order.
    limits = presence.PresenceLimits.from_settings(settings)
    with make_session_factory(engine)() as session:
        now = crud.utc_now()
        ranked = sorted(
            crud.list_terminals(session),
            key=lambda t: (severity.rank_of(t, limits, now), t.state_since, t.id),
        )
        for page in (1, 2, 7, 12):
            shown = select_page(session, TableQuery(page=page), limits, now)
            start = (page - 1) * PAGE_SIZE
            assert [t.id for t in shown.rows] == [t.id for t in ranked[start : start + PAGE_SIZE]]
            backwards = select_page(session, TableQuery(page=page, descending=True), limits, now)
            reverse = ranked[::-1][start : start + PAGE_SIZE]
            assert [t.id for t in backwards.rows] == [t.id for t in reverse]
    assert len(rows) == 1200

    def live_fingerprint() -> object:
        with make_session_factory(engine)() as session:
            return fingerprint(session)

    explained = explained_statements(engine, live_fingerprint)
    assert any("FROM health_samples" in statement for statement, _plan in explained)
    # Only the rejected messages' counters are summed (a row per terminal and reason that
    # ever sent something unreadable: a handful); every other value is an index seek.
    scans = [
        (statement, plan_text)
        for statement, plan_text in explained
        if re.search(r"SCAN (?!CONSTANT ROW|rejected_messages\b)", plan_text)
    ]
    assert scans == []


def test_the_text_search_reads_a_trigram_index_and_matches_as_contains(
    db_session: Session,
) -> None:
    """The overview's search ("contains", any case, in the id, the site or the commune) goes
    through the trigram-indexed side table ``terminal_search`` kept by triggers (migration
    0017): the same terminals as reading every row would give, without reading every row."""
    now = crud.utc_now()
    sites = ("Gare Saint-Jean", "Place de la Victoire", "Arrêt 00042", None, "Mairie 50%")
    communes = ("Bordeaux", "Bègles", "Pessac", None)
    rows = [
        {
            "id": f"bdx-t-{index:04d}",
            "state": STATES[index % 4],
            "state_since": now - timedelta(minutes=index),
            "versions": {},
            "site_name": sites[index % len(sites)],
            "commune": communes[index % len(communes)],
            "created_at": now,
        }
        for index in range(300)
    ]
    db_session.execute(insert(Terminal), rows)
    db_session.commit()

    def expected(needle: str) -> set[str]:
        lowered = needle.lower()
        return {
            row["id"]
            for row in rows
            if any(lowered in (row[key] or "").lower() for key in ("id", "site_name", "commune"))
        }

    def found(needle: str) -> set[str]:
        return set(db_session.scalars(select(Terminal.id).where(text_condition(needle))))

    for needle in ("gare", "GARE", "bègles", "t-002", "00042", "saint-jean", "e s", "ab", "50%"):
        assert found(needle) == expected(needle), needle
    assert found("gare")
    # Not across two fields: the id's end and the site's start are apart.
    assert found("0000gare") == set()
    # Kept by triggers: a site renamed, a terminal added, a terminal deleted.
    terminal = db_session.get(Terminal, "bdx-t-0000")
    assert terminal is not None
    terminal.site_name = "Quai des Chartrons"
    db_session.add(
        Terminal(
            id="bdx-t-new",
            state="unknown",
            state_since=now,
            versions={},
            created_at=now,
            commune="Lormont",
        )
    )
    db_session.commit()
    assert found("chartrons") == {"bdx-t-0000"}
    assert "bdx-t-0000" not in found("gare saint")
    assert found("lormont") == {"bdx-t-new"}
    db_session.delete(db_session.get(Terminal, "bdx-t-new"))
    db_session.commit()
    assert found("lormont") == set()
    if db_session.get_bind().dialect.name == "sqlite":
        sql = str(
            select(func.count())
            .select_from(Terminal)
            .where(text_condition("gare"))
            .compile(db_session.get_bind(), compile_kwargs={"literal_binds": True})
        )
        detail = " ".join(
            str(row[-1]) for row in db_session.execute(text("EXPLAIN QUERY PLAN " + sql))
        )
        assert "VIRTUAL TABLE" in detail, detail
        assert not re.search(r"SCAN terminals(?! USING COVERING INDEX)", detail), detail
