"""Availability at fleet scale: how long a day's roll-up takes, and the /availability page.

Builds a throwaway SQLite database (or, with ``--pg URL``, a database ``fleet_bench_<random>`` on
that server, dropped afterwards) migrated to head, with ``--terminals`` terminals (10,000)
online since three days before the benchmark's "now", 30 % of them with one outage (lost for 1 to
90 minutes) on the day before. Then times one day's roll-up, a whole pass (the days since the first
change, and today so far), and ``--requests`` requests (after 2 for warm-up) of ``/availability``
and of one terminal's page, in process with Starlette's TestClient logged in as an admin.
Prints one JSON object (seconds for the roll-ups, p50/p95/max in milliseconds for the pages).

Not a test and not part of ``make bench`` (it has no floor yet, and ``bench/`` holds only
benchmarks with floors): ``.venv/bin/python tests/fleet/scale_availability.py --terminals 100000``.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from fleet import availability
from fleet.api.formatting import display_zone
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import StateChange, Terminal
from tests.fleet.conftest import make_settings, prepare_database
from tests.helpers import log_in
from tests.throwaway_pg import throwaway_database

ROOT = Path(__file__).resolve().parents[2]

NOW = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)
DAY = date(2025, 11, 25)


def fill(url: str, terminals: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    start = NOW - timedelta(days=3)
    engine = make_engine(url)
    ids = [f"t{index:06d}" for index in range(terminals)]
    rows: list[dict[str, Any]] = [{"terminal_id": i, "at": start, "state": "online"} for i in ids]
    for terminal_id in ids:
        if rng.random() < 0.3:
            down = start + timedelta(hours=rng.uniform(30, 60))
            back = down + timedelta(minutes=rng.uniform(1, 90))
            rows.append({"terminal_id": terminal_id, "at": down, "state": "lost"})
            rows.append({"terminal_id": terminal_id, "at": back, "state": "online"})
    with engine.begin() as connection:
        connection.execute(
            insert(Terminal),
            [
                {
                    "id": i,
                    "state": "online",
                    "state_since": start,
                    "created_at": start,
                    "versions": {},
                }
                for i in ids
            ],
        )
        connection.execute(insert(StateChange), rows)
    engine.dispose()
    return len(rows)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def run(url: str, terminals: int, requests: int, tmp: Path) -> dict[str, Any]:
    settings = make_settings(tmp, database_url=url)
    prepare_database(settings)
    changes = fill(url, terminals)
    zone = display_zone("Europe/Paris")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        began = time.perf_counter()
        availability.roll_up_day(session, DAY, zone, NOW)
        one_day = time.perf_counter() - began
        began = time.perf_counter()
        days = availability.roll_up(session, NOW, zone)
        whole = time.perf_counter() - began
    engine.dispose()
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: NOW
    result: dict[str, Any] = {
        "terminals": terminals,
        "state_changes": changes,
        "roll_up_one_day_s": round(one_day, 2),
        "roll_up_pass_s": round(whole, 2),
        "roll_up_pass_days": len(days),
    }
    with TestClient(app) as client:
        log_in(client)
        for name, path in (
            ("availability", "/availability?month=2025-11"),
            ("terminal", "/terminals/t000001"),
        ):
            for _ in range(2):
                client.get(path)
            samples = []
            size = 0
            for _ in range(requests):
                began = time.perf_counter()
                response = client.get(path)
                samples.append(time.perf_counter() - began)
                assert response.status_code == 200, (path, response.status_code)
                size = len(response.content)
            result[name] = {**percentiles(samples), "html_kb": round(size / 1000, 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--pg", help="a PostgreSQL server URL (postgresql+psycopg://...)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        if args.pg is None:
            url = f"sqlite:///{tmp / 'fleet.db'}"
            print(
                json.dumps({"database": "sqlite", **run(url, args.terminals, args.requests, tmp)})
            )
            return
        with throwaway_database(args.pg, "fleet_bench") as url:
            print(
                json.dumps(
                    {"database": "postgresql", **run(url, args.terminals, args.requests, tmp)}
                )
            )


if __name__ == "__main__":
    main()
