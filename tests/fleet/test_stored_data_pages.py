"""No page can be broken by stored data (hypothesis).

Whatever the contract accepts, a terminal may send: every such payload (strategies built from
the contract's bounds) goes through the ingest's real writer into SQLite and PostgreSQL, the
alert engine runs over it, then every dashboard page and API route that shows that terminal is
rendered. None may answer 500, and the figures shown are those of the report filed last.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from fleet import commands, crud
from fleet.alerts.engine import AlertEngine
from fleet.alerts.rules import AlertLimits
from fleet.api import formatting
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import DEFAULT_CLOCK, Received
from fleet.ingest.writer import BatchWriter
from fleet.main import create_app
from kiosk.contract.mqtt import Channel, Health, Message, topic_for
from tests import strategies
from tests.helpers import log_in

from .conftest import make_settings, prepare_database

_ids = itertools.count(1)


@dataclass
class Fleet:
    client: TestClient
    factory: sessionmaker[Session]
    settings: FleetSettings
    token: str


@pytest.fixture
def fleet(any_database_url: str, tmp_path: Path) -> Iterator[Fleet]:
    fleet_settings = make_settings(tmp_path, database_url=any_database_url)
    prepare_database(fleet_settings)
    engine = make_engine(any_database_url)
    factory = make_session_factory(engine)
    with factory() as session:
        _, token = crud.create_api_token(session, "pages", "viewer", "admin", crud.utc_now())
        session.commit()
    try:
        with TestClient(create_app(fleet_settings, start_ingest=False)) as client:
            assert log_in(client).status_code == 303
            yield Fleet(client, factory, fleet_settings, token)
    finally:
        engine.dispose()


def pages(terminal_id: str, today: str) -> list[str]:
    """Every page and API route that shows this terminal (or counts it)."""
    return [
        "/",
        f"/?q={terminal_id}",
        f"/?q={terminal_id}&state=degraded",
        "/?sort=temperature&order=desc",
        "/?sort=cpu",
        "/partials/terminals",
        f"/partials/terminals?q={terminal_id}",
        f"/terminals/{terminal_id}",
        f"/terminals/{terminal_id}?period=7d",
        f"/terminals/{terminal_id}?period=90d",
        f"/terminals/{terminal_id}/rollout",
        "/alerts",
        "/api/v1/terminals",
        f"/api/v1/terminals/{terminal_id}/commands",
        "/healthz",
        f"/api/v1/observatory?from={today}&to={today}",
    ]


def filed_last(reports: list[tuple[Health, datetime]]) -> Health:
    """The report whose figures the fleet shows: filed last (its own time when believed, the
    fleet's otherwise), the first copy of a duplicate only."""
    latest: tuple[datetime, Health] | None = None
    seen: set[tuple[int, datetime]] = set()
    for health, received_at in reports:
        if (health.seq, health.sent_at) in seen:
            continue
        seen.add((health.seq, health.sent_at))
        believed = DEFAULT_CLOCK.believes(health.sent_at, received_at)
        filed = health.sent_at if believed else received_at
        if latest is None or filed >= latest[0]:
            latest = (filed, health)
    assert latest is not None
    return latest[1]


@pytest.mark.timeout(600)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_stored_data_breaks_a_page_and_the_last_figures_are_shown(
    fleet: Fleet, data: st.DataObject
) -> None:
    terminal_id = f"bdx-prop-{next(_ids):04d}"
    now = crud.utc_now()
    received = (now + timedelta(microseconds=step) for step in itertools.count())
    birth = data.draw(strategies.status(now), label="status")
    reports = data.draw(st.lists(strategies.health(now), min_size=1, max_size=3), label="health")
    events = data.draw(st.lists(strategies.event(now), max_size=3), label="events")

    def item(channel: Channel, message: Message) -> Received:
        return Received(topic_for(terminal_id, channel), message.to_bytes(), next(received), 1, 1)

    batch = [item(Channel.STATUS, birth)]
    batch += [item(Channel.HEALTH, report) for report in reports]
    batch += [item(Channel.EVENT, event) for event in events]
    committed: list[Received] = []
    writer = BatchWriter(fleet.factory, on_committed=committed.extend)
    writer.write(batch)
    assert committed == batch, "every message stored (or counted) and acknowledged"
    with fleet.factory() as session:
        command = commands.send_command(session, None, terminal_id, "restart_ui", {}, "admin")
    ack = data.draw(strategies.command_ack(command.id, now), label="ack")
    writer.write([item(Channel.CMD_ACK, ack)])
    AlertEngine(fleet.factory, AlertLimits.from_settings(fleet.settings), []).run_once()

    headers = {"Authorization": f"Bearer {fleet.token}"}
    for path in pages(terminal_id, now.date().isoformat()):
        response = fleet.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
    metrics = fleet.client.get("/metrics", headers=headers)
    assert metrics.status_code == 200, metrics.text[:500]

    # The figures shown are those of the report filed last, in the API and on the page.
    latest = filed_last([(h, b.received_at) for h, b in zip(reports, batch[1:], strict=False)])
    [shown] = [t for t in fleet.client.get("/api/v1/terminals").json() if t["id"] == terminal_id]
    assert shown["cpu_percent"] == latest.cpu_percent
    assert shown["memory_percent"] == latest.memory_percent
    assert shown["uptime_s"] == latest.uptime_s
    assert shown["dropped_samples"] == latest.dropped_samples
    page = fleet.client.get(f"/terminals/{terminal_id}").text
    # (Followed by its age when the terminal is not online: stale.)
    for label, value in (("Processeur", latest.cpu_percent), ("Mémoire", latest.memory_percent)):
        shown_here = f"<dt>{label}</dt><dd>{formatting.percent(value)}"
        assert f"{shown_here}</dd>" in page or f'{shown_here} <span class="stale-age">' in page
