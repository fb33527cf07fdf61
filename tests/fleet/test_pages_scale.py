"""The dashboard at fleet scale: one page of the table at a time, counts and plan from SQL."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any
from xml.etree import ElementTree

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from fleet import crud, plan, presence
from fleet.api.routes.live import PAGE_SIZE, TableQuery, degraded_condition, select_page
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import Terminal
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


def test_a_large_fleet_is_drawn_as_one_path_per_state(
    client: TestClient, settings: FleetSettings
) -> None:
    fill(settings, 900, placed=False)
    log_in(client)

    page = client.get("/").text
    svg = page.split('<div class="plan-wrap">', 1)[1].split("</div>", 1)[0]
    root = ElementTree.fromstring(svg)
    paths = {path.get("data-state"): path for path in root.iter(f"{SVG}path")}
    assert set(paths) == set(STATES)
    placed = sum(int(path.get("data-count") or 0) for path in paths.values())
    assert placed == 600 > plan.DETAIL_MAX
    # Lost terminals stay links, on top of the dots.
    links = root.findall(f"{SVG}a")
    assert links
    assert {link.get("data-state") for link in links} == {"lost"}
    # The terminals without coordinates: a bounded list and how many more.
    assert 'id="not-placed-more"' in page
