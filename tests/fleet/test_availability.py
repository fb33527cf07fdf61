"""Availability: the definitions, the daily roll-ups (SQLite and PostgreSQL), the pages, the CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, event, func, select
from sqlalchemy.orm import Session

from fleet import availability
from fleet.api.availability_view import Formats
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.keeper import CommandKeeper
from fleet.main import create_app
from fleet.models import (
    Alert,
    AvailabilityDay,
    AvailabilityFleetDay,
    EventRecord,
    MaintenanceWindow,
    StateChange,
    Terminal,
)
from tests.helpers import log_in

from .conftest import make_settings, prepare_database

PARIS = ZoneInfo("Europe/Paris")
#: A plain day in Paris (UTC+1): 24 hours from 2025-11-24 23:00 UTC.
DAY = date(2025, 11, 25)
BEGIN = datetime(2025, 11, 24, 23, 0, tzinfo=UTC)
#: The pass runs on the 26th at 10:00 UTC: the 25th is complete, the 26th is today.
NOW = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def at(hours: float) -> datetime:
    return BEGIN + timedelta(hours=hours)


# --- Definitions ------------------------------------------------------------------------------


def test_online_down_and_maintenance_over_a_day() -> None:
    changes = [(at(6), "offline"), (at(7), "lost"), (at(8), "online")]
    figures = availability.figures_of("online", changes, at(0), at(24), windows=[(at(12), at(13))])
    assert figures.online_s == 21 * 3600  # 0-6 and 8-24, less the hour of maintenance
    assert figures.down_s == 2 * 3600  # offline then lost: one outage of two hours
    assert figures.maintenance_s == 3600
    assert figures.observed_s == 23 * 3600
    assert figures.outages == 1
    assert figures.ratio == pytest.approx(21 / 23)


def test_unknown_and_before_the_first_change_are_not_observed() -> None:
    figures = availability.figures_of(None, [(at(12), "online")], at(0), at(24))
    assert (figures.observed_s, figures.ratio) == (12 * 3600, 1.0)
    assert availability.figures_of(None, [], at(0), at(24)).ratio is None
    unknown = availability.figures_of("unknown", [(at(18), "online")], at(0), at(24))
    assert unknown.observed_s == 6 * 3600


def test_an_outage_inside_maintenance_is_not_counted_and_one_already_running_neither() -> None:
    figures = availability.figures_of(
        "lost",
        [(at(2), "online"), (at(10), "offline"), (at(11), "online")],
        at(0),
        at(24),
        windows=[(at(9), at(12))],
    )
    assert figures.outages == 0
    assert figures.down_s == 2 * 3600
    assert figures.maintenance_s == 3 * 3600


def test_outages_keep_their_real_start_and_say_when_they_last() -> None:
    found = availability.outages_of(
        "t1",
        (at(-5), "offline"),
        [(at(1), "lost"), (at(2), "online"), (at(5), "lost"), (at(6), "offline")],
    )
    assert found == [
        availability.Outage("t1", at(-5), at(2), "offline"),
        availability.Outage("t1", at(5), None, "lost"),
    ]
    assert found[1].duration_s(at(7)) == 2 * 3600


def test_babel_writes_shares_durations_and_dates_in_french() -> None:
    formats = Formats("fr", PARIS)
    assert formats.share(21 / 23) == "91,30\xa0%"
    assert formats.duration(3 * 3600 + 5 * 60) == "3\u202fh\xa05\xa0min"
    assert formats.duration(2 * 86400 + 3600) == "2\u202fj\xa01\u202fh"
    assert formats.duration(40) == "40\u202fs"
    assert formats.month(DAY) == "novembre 2025"
    assert formats.moment(at(6)) == "25 nov. 2025 06:00"


# --- Roll-ups, on SQLite and PostgreSQL --------------------------------------------------------


def add_terminal(
    session: Session, terminal_id: str, state: str = "online", **extra: object
) -> None:
    session.add(
        Terminal(
            id=terminal_id,
            state=state,
            state_since=at(-48),
            created_at=at(-48),
            versions={},
            **extra,
        )
    )


def history(session: Session) -> None:
    """Three terminals: one always online, one down two hours, one lost since 20:00."""
    for terminal_id in ("bdx-001", "bdx-002", "bdx-003"):
        add_terminal(session, terminal_id)
    session.flush()
    for terminal_id, moment, state in [
        ("bdx-001", at(-30), "online"),
        ("bdx-002", at(-30), "online"),
        ("bdx-002", at(6), "offline"),
        ("bdx-002", at(7), "lost"),
        ("bdx-002", at(8), "online"),
        ("bdx-003", at(-30), "online"),
        ("bdx-003", at(20), "lost"),
    ]:
        session.add(StateChange(terminal_id=terminal_id, at=moment, state=state))
    session.add(
        MaintenanceWindow(
            terminal_id="bdx-002", starts_at=at(12), ends_at=at(13), reason="", created_by="a"
        )
    )
    for seq in range(3):
        session.add(
            EventRecord(
                terminal_id="bdx-001",
                seq=seq,
                kind="session_ended",
                sent_at=at(9),
                received_at=at(9),
                data={},
            )
        )
    session.add(
        Alert(terminal_id="bdx-003", kind="down", state="open", opened_at=at(20.5), summary="x")
    )
    session.commit()


def test_a_day_rolled_up_per_terminal_and_for_the_fleet(db_session: Session) -> None:
    history(db_session)

    availability.roll_up(db_session, NOW, PARIS)

    rows = {
        row.terminal_id: row
        for row in db_session.scalars(select(AvailabilityDay).where(AvailabilityDay.day == DAY))
    }
    assert rows["bdx-001"].online_s == 24 * 3600
    assert rows["bdx-001"].sessions == 3
    assert (rows["bdx-002"].online_s, rows["bdx-002"].down_s) == (21 * 3600, 2 * 3600)
    assert rows["bdx-002"].maintenance_s == 3600
    assert rows["bdx-002"].outages == 1
    assert (rows["bdx-003"].online_s, rows["bdx-003"].down_s) == (20 * 3600, 4 * 3600)
    assert all(row.complete for row in rows.values())
    fleet = db_session.get(AvailabilityFleetDay, DAY)
    assert fleet is not None
    assert fleet.complete
    assert (fleet.terminals, fleet.outages, fleet.sessions, fleet.alerts) == (3, 2, 3, 1)
    assert fleet.online_s == (24 + 21 + 20) * 3600
    assert fleet.down_s == 6 * 3600
    assert availability.fleet_figures(fleet).ratio == pytest.approx(65 / 71)
    # Today, so far (00:00 to 11:00 Paris): bdx-003 still lost.
    today = db_session.get(AvailabilityFleetDay, DAY + timedelta(days=1))
    assert today is not None
    assert not today.complete
    assert today.down_s == 11 * 3600
    # Worst first; outages newest first, the ongoing one open-ended.
    least = availability.least_available(db_session, DAY)
    assert [row.terminal_id for row, _site in least] == ["bdx-003", "bdx-002", "bdx-001"]
    outages = availability.recent_outages(db_session, at(0))
    assert outages == [
        availability.Outage("bdx-003", at(20), None, "lost"),
        availability.Outage("bdx-002", at(6), at(8), "offline"),
    ]


def test_a_pass_is_idempotent_and_goes_on_from_the_last_complete_day(
    db_session: Session,
) -> None:
    history(db_session)
    first = availability.roll_up(db_session, NOW, PARIS)
    assert first[0] == date(2025, 11, 23)
    assert first[-1] == date(2025, 11, 26)
    again = availability.roll_up(db_session, NOW + HOUR, PARIS)
    assert again == [date(2025, 11, 26)]
    count = db_session.scalar(
        select(func.count()).select_from(AvailabilityDay).where(AvailabilityDay.day == DAY)
    )
    assert count == 3


def test_small_batches_give_the_same_figures(db_session: Session) -> None:
    history(db_session)
    whole = availability.roll_up_day(db_session, DAY, PARIS, NOW, batch=1000)
    figures = (whole.online_s, whole.down_s, whole.maintenance_s, whole.outages)
    batched = availability.roll_up_day(db_session, DAY, PARIS, NOW, batch=1)
    assert (batched.online_s, batched.down_s, batched.maintenance_s, batched.outages) == figures


def test_a_day_of_25_hours_when_the_clocks_go_back(db_session: Session) -> None:
    add_terminal(db_session, "bdx-001")
    db_session.flush()
    db_session.add(StateChange(terminal_id="bdx-001", at=at(-24 * 40), state="online"))
    db_session.commit()
    row = availability.roll_up_day(db_session, date(2025, 10, 26), PARIS, NOW)
    assert row.observed_s == 25 * 3600


def test_a_decommissioned_terminal_is_not_observed_after(db_session: Session) -> None:
    add_terminal(db_session, "bdx-001", decommissioned_at=at(12))
    db_session.flush()
    db_session.add(StateChange(terminal_id="bdx-001", at=at(-30), state="online"))
    db_session.commit()
    row = availability.roll_up_day(db_session, DAY, PARIS, NOW)
    assert (row.online_s, row.maintenance_s) == (12 * 3600, 12 * 3600)


def test_the_keeper_rolls_availability_up(migrated_engine: Engine) -> None:
    factory = make_session_factory(migrated_engine)
    with factory() as session:
        history(session)

    class NoPublisher:
        def publish_command(self, *args: object) -> None:  # pragma: no cover - unused
            raise AssertionError

    keeper = CommandKeeper(
        factory, NoPublisher(), retention_days=(7, 395), availability_zone="Europe/Paris"
    )  # type: ignore[arg-type]
    keeper.run_retention_once(NOW)
    with factory() as session:
        assert session.get(AvailabilityFleetDay, DAY) is not None


# --- The pages and the CSV ---------------------------------------------------------------------


@pytest.fixture
def fleet_client(any_database_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    settings = make_settings(tmp_path, database_url=any_database_url)
    prepare_database(settings)
    engine = make_engine(any_database_url)
    with make_session_factory(engine)() as session:
        history(session)
        availability.roll_up(session, NOW, PARIS)
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: NOW
    with TestClient(app) as client:
        log_in(client)
        yield client, engine
    engine.dispose()


def test_the_fleet_page_in_french_from_the_roll_ups_only(
    fleet_client: tuple[TestClient, Engine],
) -> None:
    client, engine = fleet_client
    page = client.get("/availability?month=2025-11&day=2025-11-25")
    assert page.status_code == 200
    html = page.text
    assert "Disponibilité du parc" in html
    assert "novembre 2025" in html
    assert "91,55\xa0%" in html  # 65 of 71 observed hours on the 25th
    assert 'id="least-available-table"' in html
    assert "bdx-003" in html
    assert "toujours hors service" in html  # bdx-003's outage still running
    assert 'id="chart-fleet-sessions"' in html
    # The fleet-wide charts of sessions and problems, each with its words beside it.
    assert 'id="chart-fleet-outages"' in html
    assert 'id="chart-fleet-alerts"' in html
    assert "Sessions terminées en novembre 2025 : 3." in html
    assert "Pannes en novembre 2025 : 2 ; alertes ouvertes : 1." in html
    assert 'role="img"' in html
    # The page reads the roll-ups: without the raw history, the figures stay.
    with make_session_factory(engine)() as session:
        session.execute(delete(StateChange).where(StateChange.at < at(0)))
        session.commit()
    assert "91,55\xa0%" in client.get("/availability?month=2025-11").text


def test_the_fleet_page_reads_as_many_rows_whatever_the_fleet_size(
    fleet_client: tuple[TestClient, Engine],
) -> None:
    client, engine = fleet_client
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    # Every engine (the app has its own): how many statements the page sends, and which.
    event.listen(Engine, "before_cursor_execute", count)
    client.get("/availability?month=2025-11")
    small = len(statements)
    with make_session_factory(engine)() as session:
        for index in range(40):
            add_terminal(session, f"zz-{index:03d}")
            session.flush()
            session.add(StateChange(terminal_id=f"zz-{index:03d}", at=at(-30), state="online"))
        session.commit()
        availability.roll_up(session, NOW + HOUR, PARIS)
    statements.clear()
    client.get("/availability?month=2025-11")
    large = len(statements)
    event.remove(Engine, "before_cursor_execute", count)
    assert small == large
    # No statement reads the whole state history: the recent outages read it since a date,
    # then each one's end on its own terminal (by the (terminal_id, at) index).
    history_reads = [s for s in statements if "FROM state_changes" in s]
    assert history_reads
    assert all("later.at >=" in s or "state_changes.terminal_id = " in s for s in history_reads)


def test_the_terminal_page_has_its_availability(fleet_client: tuple[TestClient, Engine]) -> None:
    client, _engine = fleet_client
    html = client.get("/terminals/bdx-002").text
    assert 'id="availability-section"' in html
    assert "Disponibilité" in html
    # November so far: 25 days and 11 hours observed, 2 hours down (the hour of maintenance
    # left out); bdx-002 was online from the 23rd 17:00 (first change at -30 h).
    assert 'id="terminal-outages"' in html
    assert "25 nov. 2025 06:00" in html  # 05:00 UTC, in Paris
    assert "2\u202fh" in html


def test_the_csv_has_french_headers_and_one_row_per_terminal_and_day(
    fleet_client: tuple[TestClient, Engine],
) -> None:
    client, _engine = fleet_client
    response = client.get("/availability.csv?from=2025-11-25&to=2025-11-25")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:5] == ["jour", "borne", "site", "commune", "observé (s)"]
    assert rows[0][8] == "disponibilité (%)"
    body = {row[1]: row for row in rows[1:]}
    assert set(body) == {"bdx-001", "bdx-002", "bdx-003"}
    assert body["bdx-002"][4:10] == ["82800", "75600", "7200", "3600", "91.304", "1"]
    assert body["bdx-002"][11] == "oui"
    assert client.get("/availability.csv?from=2025-11-25&to=2025-11-01").status_code == 422
    assert client.get("/availability.csv?from=2024-01-01&to=2025-11-01").status_code == 422
