"""Server time and HTML size of the dashboard's pages with 10,000 terminals (or ``--sizes``).

Builds a throwaway database (SQLite file by default, PostgreSQL with ``--pg URL``: a database
``fleet_bench_<random>`` is created on that server and dropped afterwards), migrated to head, with:

- ``--terminals`` terminals (10,000) in random states (80 % online, 8 % offline, 7 % lost,
  5 % unknown), 97 % of them placed at random in the metropole's box with a site and a commune,
  each with its latest health figures (about 4 % degraded);
- a week of raw health history (one sample every 5 minutes: 2,016 per terminal) for
  ``--history`` terminals (100), i.e. 201,600 health rows, plus 20 ``session_ended`` events a
  day, a few state changes and 90 days of hourly roll-ups (2,160) for each of them.

The database is then analysed (and vacuumed on PostgreSQL, as autovacuum keeps a running
fleet's). Then times, in process with Starlette's TestClient logged in as an admin, ``--requests``
requests (50, after 5 for warm-up) of each page: the overview ``/``, a filtered and sorted
overview, page 50 of the table, the live partial, the live fingerprint (what each open dashboard
runs every second), and a terminal page with history, 24 h, 7 d (raw reports) and 90 d (hourly
roll-ups). Prints one JSON object with p50/p95/max in milliseconds.

Floors, interleaved request by request with the overview and the 7-day terminal page (A/B/A/B):
a static file (``/static/fleet.css``) served by the same app through the same client, plus the
bare SQL of what the page shows, on the same database: for the overview, the state counts, the
row count and one page of terminals (100, ``ORDER BY id``); for the terminal page, the terminal's
row and its 7 days of raw reports (``sent_at`` and payload, as the page reads them).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, text

from bench.floor import emit, figure
from fleet import crud
from fleet.api.overview.changes import fingerprint
from fleet.citymap import COMMUNES, EAST, NORTH, SOUTH, WEST
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.main import create_app, freeze_startup_heap
from fleet.models import Alert, EventRecord, HealthHourly, HealthSample, StateChange, Terminal
from tests.throwaway_pg import throwaway_database

USERNAME = "bench-admin"
PASSWORD = "bench-password-long-enough"
STATES = (("online", 0.80), ("offline", 0.08), ("lost", 0.07), ("unknown", 0.05))
SAMPLE_EVERY = timedelta(minutes=5)
HISTORY = timedelta(days=7)
ROLLUP_HISTORY = timedelta(days=90)
SESSIONS_PER_DAY = 20
BATCH = 5000


def health_payload(rng: random.Random, seq: int, at: datetime) -> dict[str, Any]:
    return {
        "seq": seq,
        "sent_at": at.isoformat(),
        "uptime_s": 3600.0 * rng.randint(1, 200),
        "cpu_percent": round(rng.uniform(2, 90), 1),
        "load_1m": round(rng.uniform(0, 2), 2),
        "memory_percent": round(rng.uniform(20, 80), 1),
        "memory_total_bytes": 4 * 1024**3,
        "disks": [
            {"mount": "/", "total_bytes": 32 * 1024**3, "used_percent": rng.uniform(30, 70)},
            {"mount": "/var", "total_bytes": 8 * 1024**3, "used_percent": rng.uniform(30, 95)},
        ],
        "temperatures_c": {"cpu": rng.uniform(35, 75), "board": rng.uniform(25, 50)},
    }


def chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def populate(engine: Engine, terminals: int, history: int, now: datetime) -> dict[str, int]:
    rng = random.Random(5)
    states = [state for state, _share in STATES]
    weights = [share for _state, share in STATES]
    rows: list[dict[str, Any]] = []
    for index in range(terminals):
        state = rng.choices(states, weights)[0]
        commune, _lat, _lon = rng.choice(COMMUNES)
        placed = rng.random() < 0.97
        reported = state != "unknown"
        rows.append(
            {
                "id": f"bdx-{index:05d}",
                "state": state,
                "state_since": now - timedelta(seconds=rng.randint(60, 30 * 86400)),
                "last_seen_at": now - timedelta(seconds=rng.randint(0, 3600)) if reported else None,
                "versions": {"agent": "1.4.0", "kiosk": "2.1.0"},
                "cpu_percent": round(rng.uniform(2, 90), 1) if reported else None,
                "memory_percent": round(rng.uniform(20, 80), 1) if reported else None,
                "disk_percent": round(rng.uniform(30, 93), 1) if reported else None,
                "temperature_c": round(rng.uniform(35, 72), 1) if reported else None,
                "uptime_s": float(rng.randint(60, 10**6)) if reported else None,
                "ui_alive": (rng.random() > 0.01) if reported else None,
                "door_open": (rng.random() < 0.01) if reported else None,
                "clock_synced": (rng.random() > 0.01) if reported else None,
                "health_at": now - timedelta(seconds=rng.randint(0, 600)) if reported else None,
                "site_name": f"Arrêt {index:05d}",
                "commune": commune,
                "latitude": rng.uniform(SOUTH + 0.02, NORTH - 0.02) if placed else None,
                "longitude": rng.uniform(WEST + 0.02, EAST - 0.02) if placed else None,
                "created_at": now - timedelta(days=60),
            }
        )
    samples: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    count = {
        "terminals": terminals,
        "health_samples": 0,
        "events": 0,
        "state_changes": 0,
        "health_hourly": 0,
    }
    hourly: list[dict[str, Any]] = []
    # Every lost terminal has its open "lost" alert, as the alert keeper would have opened.
    alerts = [
        {
            "terminal_id": row["id"],
            "kind": "lost",
            "state": "open",
            "active_key": f"{row['id']}:lost",
            "opened_at": row["state_since"],
            "summary": "lost (connection lost)",
        }
        for row in rows
        if row["state"] == "lost"
    ]
    count["alerts"] = len(alerts)
    with engine.begin() as connection:
        for chunk in chunks(rows):
            connection.execute(insert(Terminal), chunk)
        for chunk in chunks(alerts):
            connection.execute(insert(Alert), chunk)
    steps = int(HISTORY / SAMPLE_EVERY)
    for index in range(history):
        terminal_id = f"bdx-{index:05d}"
        samples.clear()
        events.clear()
        changes.clear()
        for step in range(steps):
            at = now - HISTORY + step * SAMPLE_EVERY
            samples.append(
                {
                    "terminal_id": terminal_id,
                    "seq": step + 1,
                    "sent_at": at,
                    "received_at": at + timedelta(milliseconds=200),
                    "payload": health_payload(rng, step + 1, at),
                }
            )
        for seq in range(SESSIONS_PER_DAY * HISTORY.days):
            at = now - timedelta(seconds=rng.randint(0, int(HISTORY.total_seconds())))
            events.append(
                {
                    "terminal_id": terminal_id,
                    "seq": seq + 1,
                    "kind": "session_ended",
                    "sent_at": at,
                    "received_at": at,
                    "data": {"duration_s": rng.randint(20, 600), "tiles": ["transport"]},
                }
            )
        for number in range(10):
            changes.append(
                {
                    "terminal_id": terminal_id,
                    "state": "offline" if number % 2 else "online",
                    "at": now - timedelta(hours=12 * number + 1),
                }
            )
        hourly.clear()
        first_hour = now.replace(minute=0, second=0, microsecond=0) - ROLLUP_HISTORY
        for hour in range(int(ROLLUP_HISTORY.total_seconds() // 3600)):
            cpu, memory, disk = rng.uniform(2, 90), rng.uniform(20, 80), rng.uniform(30, 93)
            hourly.append(
                {
                    "terminal_id": terminal_id,
                    "hour": first_hour + timedelta(hours=hour),
                    "count": 12,
                    "cpu_avg": cpu,
                    "cpu_max": min(100.0, cpu + 10),
                    "memory_avg": memory,
                    "memory_max": memory + 2,
                    "disk_avg": disk,
                    "disk_max": disk,
                    "temperature_avg": rng.uniform(35, 70),
                    "temperature_max": rng.uniform(40, 75),
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(HealthSample), samples)
            connection.execute(insert(EventRecord), events)
            connection.execute(insert(StateChange), changes)
            for chunk in chunks(hourly):
                connection.execute(insert(HealthHourly), chunk)
        count["health_hourly"] += len(hourly)
        count["health_samples"] += len(samples)
        count["events"] += len(events)
        count["state_changes"] += len(changes)
    return count


def percentiles(timings: list[float]) -> dict[str, float]:
    ordered = sorted(timings)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
        "requests": len(ordered),
    }


def timed(action: Callable[[], object], requests: int, warmup: int = 5) -> dict[str, float]:
    """Wall time per request, and this process's CPU time per request (``cpu_*``): on a
    machine shared with other jobs, the second moves much less with their load. On SQLite it
    is the whole server time of a request (client and server threads, database included);
    on PostgreSQL the database server's own share is not in it."""
    for _ in range(warmup):
        action()
    timings = []
    cpu = []
    for _ in range(requests):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    figures = percentiles(timings)
    cpu_figures = percentiles(cpu)
    figures.update(cpu_p50_ms=cpu_figures["p50_ms"], cpu_p95_ms=cpu_figures["p95_ms"])
    return figures


def timed_pair(
    project: Callable[[], object], floor: Callable[[], object], requests: int, warmup: int = 5
) -> tuple[dict[str, float], dict[str, float]]:
    """Time ``project`` and ``floor`` alternately (A/B/A/B), after ``warmup`` of each."""
    for _ in range(warmup):
        project()
        floor()
    a: list[float] = []
    b: list[float] = []
    for _ in range(requests):
        for action, timings in ((project, a), (floor, b)):
            started = time.perf_counter()
            action()
            timings.append((time.perf_counter() - started) * 1000)
    return percentiles(a), percentiles(b)


def overview_sql(engine: Engine) -> Callable[[], object]:
    table = Terminal.__table__

    def query() -> object:
        with engine.connect() as connection:
            counts = connection.execute(
                select(table.c.state, func.count()).group_by(table.c.state)
            ).all()
            total = connection.execute(select(func.count()).select_from(table)).scalar_one()
            rows = connection.execute(select(table).order_by(table.c.id).limit(100)).all()
        return counts, total, rows

    return query


def terminal_sql(engine: Engine, terminal_id: str, now: datetime) -> Callable[[], object]:
    terminals, samples = Terminal.__table__, HealthSample.__table__

    def query() -> object:
        with engine.connect() as connection:
            row = connection.execute(select(terminals).where(terminals.c.id == terminal_id)).one()
            history = connection.execute(
                select(samples.c.sent_at, samples.c.payload)
                .where(samples.c.terminal_id == terminal_id)
                .where(samples.c.received_at >= now - timedelta(days=7))
                .order_by(samples.c.sent_at)
            ).all()
        return row, history

    return query


def get_page(client: TestClient, path: str) -> Callable[[], object]:
    def fetch() -> object:
        response = client.get(path)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code}")
        return response

    return fetch


def run(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    engine = make_engine(database_url)
    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        crud.create_user(session, USERNAME, PASSWORD, role="admin")
        session.commit()
    started = time.perf_counter()
    generated = populate(engine, args.terminals, args.history, now)
    if database_url.startswith("postgresql"):
        # VACUUM as autovacuum would have on a fleet that has been running: it sets the
        # visibility map, without which no index-only scan is possible (the counts by state
        # and the plan's clusters read their indexes only), after a bulk load.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    build_s = time.perf_counter() - started
    settings = FleetSettings.model_validate(
        {
            "database_url": database_url,
            "secret_key": secrets.token_hex(16),
            "broker_password": "unused",
            "default_language": "fr",
        }
    )
    results: dict[str, Any] = {}
    # HTTPS, as in production: the session cookie is Secure, and a client on plain HTTP would
    # drop it and time the login page instead of the dashboard.
    app = create_app(settings, start_ingest=False)
    with TestClient(app, base_url="https://testserver") as client:
        login = client.get("/login").text
        token = login.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed_in = client.post(
            "/login",
            data={"username": USERNAME, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        if signed_in.status_code != 303:
            raise SystemExit(f"the benchmark's login failed: {signed_in.status_code}")
        # As `fleet serve` does once its app is built (fleet.main.freeze_startup_heap).
        freeze_startup_heap()
        sizes = {
            "overview": "/",
            "terminal_7d": "/terminals/bdx-00042?period=7d",
            "alerts": "/alerts",
        }
        results["html_bytes"] = {
            name: len(client.get(path).content) for name, path in sizes.items()
        }
        results["overview_bytes"] = results["html_bytes"]["overview"]
        pages = {
            "overview": "/",
            "overview_filtered_sorted": "/?state=online&q=bordeaux&sort=cpu&order=desc",
            "overview_page_50": "/?page=50&sort=last_seen",
            "live_partial": "/partials/terminals",
            "terminal_24h": "/terminals/bdx-00042",
            "terminal_7d": "/terminals/bdx-00042?period=7d",
            "terminal_90d": "/terminals/bdx-00042?period=90d",
            "alerts": "/alerts",
            "overview_cluster": "/?cell=7-8",
        }
        for name, path in pages.items():
            results[name] = timed(get_page(client, path), args.requests)
        factory = make_session_factory(engine)

        def live_fingerprint() -> object:
            with factory() as session:
                return fingerprint(session)

        results["live_fingerprint"] = timed(live_fingerprint, args.requests)

        static = get_page(client, "/static/fleet.css")
        floors: dict[str, Any] = {}
        for name, path, sql in (
            ("overview", "/", overview_sql(engine)),
            (
                "terminal_7d",
                "/terminals/bdx-00042?period=7d",
                terminal_sql(engine, "bdx-00042", now),
            ),
        ):

            def bare(sql: Callable[[], object] = sql) -> object:
                return static(), sql()

            project, floor = timed_pair(get_page(client, path), bare, args.requests)
            floors[name] = figure(
                f"server time of {path}, median",
                "ms",
                project["p50_ms"],
                floor["p50_ms"],
                "a static file served by the same app, plus the bare SQL of what the page shows",
                project_p95_ms=project["p95_ms"],
                floor_p95_ms=floor["p95_ms"],
            )
        results["floor"] = floors["overview"]
        results["floor_terminal_7d"] = floors["terminal_7d"]
    engine.dispose()
    return {
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "generated": generated,
        "history": "7 days, one health sample every 5 min, 20 sessions/day, and 90 days of "
        "hourly roll-ups, per history terminal",
        "build_s": round(build_s, 1),
        "targets_ms_p95": {"overview": 200, "terminal": 150, "alerts": 200},
        "targets_html_bytes": 200_000,
        "python": sys.version.split()[0],
        **results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg", help="PostgreSQL server URL (a throwaway database is made)")
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument(
        "--sizes",
        help="comma-separated fleet sizes, each on its own database (e.g. 1000,10000,100000);"
        " overrides --terminals",
    )
    parser.add_argument("--history", type=int, default=100)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")] if args.sizes else [args.terminals]
    for size in sizes:
        args.terminals = size
        if args.pg:
            with throwaway_database(args.pg) as url:
                result = run(url, args)
        else:
            with tempfile.TemporaryDirectory() as directory:
                result = run(f"sqlite:///{Path(directory) / 'fleet.db'}", args)
        emit({"benchmark": "fleet_pages", **result}, indent=2)


if __name__ == "__main__":
    main()
