"""Live dashboard: server-sent events against a real uvicorn, filters and sorting, the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fleet.cli import CliContext
from fleet.cli.terminals import EXIT_UNKNOWN_TERMINAL
from fleet.cli.terminals import app as terminals_app
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import handle_message
from fleet.main import create_app
from fleet.models import AuditEntry, Terminal
from kiosk.contract.mqtt import Channel, topic_for
from tests.helpers import log_in, served

from .conftest import later, status_payload

EVENT_DEADLINE_S = 5.0


def store(settings: FleetSettings, topic: str, payload: bytes) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        handle_message(session, topic, payload, later(1))
    engine.dispose()


def locate(settings: FleetSettings, terminal_id: str, **values: object) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        for name, value in values.items():
            setattr(terminal, name, value)
        session.commit()
    engine.dispose()


@pytest.fixture
def server_url(settings: FleetSettings) -> Iterator[str]:
    """The app served by a real uvicorn in a thread: streaming needs a real server."""
    with served(create_app(settings, start_ingest=False)) as url:
        yield url


def next_event(lines: Iterator[str], deadline: float) -> tuple[str, str]:
    """The next event's name and data; comments (keep-alives) and retry fields are skipped."""
    name, data = "message", []
    for line in lines:
        if time.monotonic() > deadline:
            break
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            return name, "\n".join(data)
    pytest.fail("no event before the deadline")


def test_event_stream_needs_a_login(server_url: str) -> None:
    with httpx.Client(base_url=server_url, timeout=5) as client:
        response = client.get("/events/terminals", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_a_change_in_the_database_is_pushed_within_the_deadline(
    server_url: str, settings: FleetSettings
) -> None:
    topic = topic_for("bdx-live-001", Channel.STATUS)
    store(settings, topic, status_payload("online"))
    with httpx.Client(base_url=server_url, timeout=5) as client:
        assert log_in(client).status_code == 303
        with client.stream("GET", "/events/terminals") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.iter_lines()
            name, first = next_event(lines, time.monotonic() + EVENT_DEADLINE_S)
            assert name == "terminals"
            assert 'id="terminal-bdx-live-001" data-state="online"' in first
            assert 'id="count-online">1<' in first

            store(settings, topic, status_payload("lost", at=later(5)))
            changed_at = time.monotonic()
            _name, second = next_event(lines, changed_at + EVENT_DEADLINE_S)
            assert time.monotonic() - changed_at < EVENT_DEADLINE_S
    assert 'id="terminal-bdx-live-001" data-state="lost"' in second
    assert 'id="count-lost">1<' in second
    # The plan is pushed too, with the terminal listed as not placed.
    assert 'id="not-placed"' in second


def test_the_stream_keeps_the_filter_of_the_page(server_url: str, settings: FleetSettings) -> None:
    store(settings, topic_for("bdx-live-001", Channel.STATUS), status_payload("online"))
    store(settings, topic_for("bdx-live-002", Channel.STATUS), status_payload("offline"))
    with httpx.Client(base_url=server_url, timeout=5) as client:
        log_in(client)
        with client.stream("GET", "/events/terminals?state=offline") as stream:
            _name, data = next_event(stream.iter_lines(), time.monotonic() + EVENT_DEADLINE_S)
    assert "terminal-bdx-live-002" in data
    assert "terminal-bdx-live-001" not in data


def test_the_table_filters_and_sorts_without_javascript(
    client: TestClient, settings: FleetSettings
) -> None:
    for number, state in (("001", "online"), ("002", "lost"), ("003", "online")):
        store(settings, topic_for(f"bdx-f-{number}", Channel.STATUS), status_payload(state))
    locate(settings, "bdx-f-003", site_name="Mairie de Bègles", commune="Bègles")
    log_in(client)

    def row_ids(path: str) -> list[str]:
        page = client.get(path)
        assert page.status_code == 200
        body = page.text.split('id="terminal-rows"', 1)[1]
        return [part.split('"', 1)[0] for part in body.split('<tr id="terminal-')[1:]]

    # Severity first by default: the lost terminal leads, then the rest by id.
    assert row_ids("/") == ["bdx-f-002", "bdx-f-001", "bdx-f-003"]
    assert row_ids("/?sort=id") == ["bdx-f-001", "bdx-f-002", "bdx-f-003"]
    assert row_ids("/?sort=id&order=desc") == ["bdx-f-003", "bdx-f-002", "bdx-f-001"]
    assert row_ids("/?state=lost") == ["bdx-f-002"]
    assert row_ids("/?q=b%C3%A8gles") == ["bdx-f-003"]
    assert row_ids("/?q=BDX-F-00&state=online&sort=site&order=desc") == [
        "bdx-f-003",
        "bdx-f-001",
    ]
    # Unknown values are ignored rather than refused.
    assert row_ids("/?state=bogus&sort=nope") == ["bdx-f-002", "bdx-f-001", "bdx-f-003"]
    assert "Aucune borne ne correspond à ce filtre." in client.get("/?q=nothing").text
    page = client.get("/?sort=cpu")
    assert 'aria-sort="ascending"' in page.text
    assert 'href="/?sort=cpu&amp;order=desc"' in page.text


def test_the_plan_places_located_terminals_with_a_link(
    client: TestClient, settings: FleetSettings
) -> None:
    store(settings, topic_for("bdx-p-001", Channel.STATUS), status_payload("online"))
    store(settings, topic_for("bdx-p-002", Channel.STATUS), status_payload("online"))
    locate(settings, "bdx-p-001", latitude=44.8086, longitude=-0.5478, site_name="Mairie")
    log_in(client)

    page = client.get("/").text

    assert 'id="plan-bdx-p-001" href="/terminals/bdx-p-001" data-state="online"' in page
    assert "<title>bdx-p-001 · Mairie · en ligne</title>" in page
    assert "plan-bdx-p-002" not in page
    not_placed = page.split('id="not-placed"', 1)[1].split("</ul>", 1)[0]
    assert "bdx-p-002" in not_placed


runner = CliRunner()


def invoke_locate(settings: FleetSettings, *args: str) -> tuple[int, str]:
    result = runner.invoke(
        terminals_app,
        ["locate", *args],
        obj=CliContext(None),
        env={"FLEET_DATABASE_URL": settings.database_url},
    )
    return result.exit_code, result.output


def test_cli_locates_a_terminal(settings: FleetSettings) -> None:
    store(settings, topic_for("bdx-c-001", Channel.STATUS), status_payload("online"))

    code, output = invoke_locate(
        settings,
        "bdx-c-001",
        "--site",
        "Mairie de Bègles",
        "--commune",
        "Bègles",
        "--lat",
        "44.80",
        "--lon",
        "-0.55",
    )

    assert code == 0, output
    assert "bdx-c-001" in output
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        terminal = session.get(Terminal, "bdx-c-001")
        assert terminal is not None
        assert (terminal.site_name, terminal.commune) == ("Mairie de Bègles", "Bègles")
        assert (terminal.latitude, terminal.longitude) == (44.80, -0.55)
        actions = list(session.scalars(select(AuditEntry.action)))
    engine.dispose()
    assert actions == ["terminal_located"]


@pytest.mark.parametrize(
    ("args", "expected_code", "message"),
    [
        (("bdx-c-001", "--lat", "-0.55", "--lon", "44.80"), 2, "en dehors de Bordeaux Métropole"),
        (("bdx-c-001", "--lat", "95", "--lon", "0"), 2, "pas un lieu sur Terre"),
        (("bdx-c-404", "--lat", "44.80", "--lon", "-0.55"), EXIT_UNKNOWN_TERMINAL, "bdx-c-404"),
        (("bdx-c-001", "--lat", "44.8", "--lon", "-0.55", "--site", " "), 2, "1 à 120"),
    ],
)
def test_cli_refuses_bad_input_and_says_why(
    settings: FleetSettings, args: tuple[str, ...], expected_code: int, message: str
) -> None:
    store(settings, topic_for("bdx-c-001", Channel.STATUS), status_payload("online"))

    code, output = invoke_locate(settings, *args)

    assert code == expected_code, output
    assert message in output
