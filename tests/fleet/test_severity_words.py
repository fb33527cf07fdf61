"""Severity first and every word in the operator's language (issue 15), on SQLite and PostgreSQL.

The overview, its phone cards and the alerts page put the worst first, ordered in SQL by
:mod:`fleet.severity`; a row says its state and its duration in words; a lost terminal's page
marks its readings stale with their age and says commands wait for its return, until when;
alert details are facts rendered in the reader's language (pages and e-mails).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fleet import crud, severity
from fleet.alerts.labels import alert_details, english_summary
from fleet.alerts.notifiers import EmailNotifier, Notification
from fleet.alerts.rules import ALERT_KINDS
from fleet.api import formatting
from fleet.core.config import FleetSettings
from fleet.i18n import Words
from fleet.main import create_app
from fleet.models import Alert, CommandRecord, Terminal
from fleet.presence import PresenceLimits
from tests.helpers import log_in

#: A sample of every kind's facts, as the rules store them.
SAMPLE_DETAILS: dict[str, dict[str, Any]] = {
    "down": {"state": "lost", "since": "2026-12-03T14:00:00+00:00"},
    "flapping": {"changes": 8, "window_min": 15, "state": "lost"},
    "disk_full": {"used": 95.4, "limit": 90.0},
    "temperature": {"reading": 74.5, "min": -10.0, "max": 70.0},
    "ui_not_responding": {},
    "ui_crash_loop": {"crashes": 3, "window_min": 10},
    "wipe_failed": {},
    "door_open": {},
    "content_failed": {"at": "2026-12-03T14:00:00+00:00"},
}


@pytest.fixture
def web(web_settings: FleetSettings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, start_ingest=False)) as client:
        assert log_in(client).status_code == 303
        yield client


def add_terminal(
    session: Session, terminal_id: str, state: str, since_s: float, **figures: Any
) -> Terminal:
    now = crud.utc_now()
    terminal = Terminal(
        id=terminal_id,
        state=state,
        state_since=now - timedelta(seconds=since_s),
        last_seen_at=now - timedelta(seconds=since_s),
        created_at=now - timedelta(days=1),
        versions={},
        **figures,
    )
    session.add(terminal)
    return terminal


#: (id, state, seconds in that state, figures) in the order severity wants them.
FLEET: tuple[tuple[str, str, float, dict[str, Any]], ...] = (
    ("z-lost-long", "lost", 3600, {}),
    ("y-lost", "lost", 240, {"cpu_percent": 95.0, "uptime_s": 480.0}),
    ("x-offline", "offline", 7200, {}),
    ("w-degraded", "online", 600, {"disk_percent": 95.0}),
    ("b-unknown", "unknown", 60, {}),
    ("a-lost-in-grace", "lost", 30, {}),
    ("c-healthy", "online", 600, {"disk_percent": 40.0}),
    ("d-healthy", "online", 60, {}),
)
EXPECTED_ORDER = [row[0] for row in FLEET]


@pytest.fixture
def fleet(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        for terminal_id, state, since_s, figures in FLEET:
            now = crud.utc_now()
            add_terminal(session, terminal_id, state, since_s, health_at=now, **figures)
        session.commit()


def row_ids(html: str) -> list[str]:
    body = html.split('id="terminal-rows"', 1)[1] if 'id="terminal-rows"' in html else html
    return re.findall(r'<tr id="terminal-([^"]+)"', body)


def visible(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.usefixtures("fleet")
def test_the_database_orders_worst_first_like_python_ranks(
    factory: sessionmaker[Session],
) -> None:
    limits, now = PresenceLimits(), crud.utc_now()
    with factory() as session:
        rows = session.execute(
            select(Terminal, severity.severity_rank(limits, now)).order_by(
                *severity.order_by(limits, now)
            )
        ).all()
        assert [terminal.id for terminal, _rank in rows] == EXPECTED_ORDER
        for terminal, rank in rows:
            assert severity.rank_of(terminal, limits, now) == rank, terminal.id
        ranks = [rank for _terminal, rank in rows]
        assert ranks == sorted(ranks)
        assert ranks[:4] == [
            severity.Severity.LOST,
            severity.Severity.LOST,
            severity.Severity.OFFLINE,
            severity.Severity.DEGRADED,
        ]
        best_first = session.scalars(
            select(Terminal.id).order_by(*severity.order_by(limits, now, descending=True))
        ).all()
        assert best_first[-1] == "z-lost-long"


@pytest.mark.usefixtures("fleet")
def test_the_overview_and_its_phone_cards_put_the_worst_first(web: TestClient) -> None:
    page = web.get("/").text
    assert row_ids(page) == EXPECTED_ORDER
    # The live partial (which also draws the phone cards: the same rows) keeps the order.
    assert row_ids(web.get("/partials/terminals").text) == EXPECTED_ORDER
    # The alert column's header sorts by severity; reversed, the healthy come first.
    assert 'data-sort="severity"' in page
    assert row_ids(web.get("/?sort=severity&order=desc").text)[-1] == "z-lost-long"
    # Another order still works, and the severity stays one click away.
    assert row_ids(web.get("/?sort=id").text) == sorted(EXPECTED_ORDER)
    # Within a rank, in that state the longest first: the order is not the ids'.
    assert EXPECTED_ORDER[:2] == ["z-lost-long", "y-lost"]


@pytest.mark.usefixtures("fleet")
def test_a_row_says_its_state_and_duration_in_words(web: TestClient) -> None:
    page = web.get("/").text

    def alert_column(terminal_id: str) -> str:
        row = page.split(f'<tr id="terminal-{terminal_id}"', 1)[1].split("</tr>", 1)[0]
        return visible(row.split('class="warnings"', 1)[1].split(">", 1)[1])

    assert alert_column("y-lost").startswith("Perdue depuis 4 minutes")
    assert alert_column("z-lost-long").startswith("Perdue depuis 1 heure")
    assert alert_column("x-offline").startswith("Hors ligne depuis 2 heures")
    assert "Disque presque plein : 95 %" in alert_column("w-degraded")
    assert "reconnexion attendue" in alert_column("a-lost-in-grace")
    assert alert_column("c-healthy") == "Rien à signaler"
    # A lost terminal never reads like a healthy one.
    assert alert_column("y-lost") != alert_column("c-healthy")
    assert "row-alert-lost" in page
    assert "row-alert-ok" in page
    # The degraded count says of what.
    summary = visible(page.split('id="summary"', 1)[1].split("</section>", 1)[0])
    assert "1 borne en ligne mais dégradée (problème de santé)" in summary


def add_alert(
    session: Session, terminal_id: str, kind: str, opened_ago_s: float, state: str = "open"
) -> None:
    details = SAMPLE_DETAILS[kind]
    session.add(
        Alert(
            terminal_id=terminal_id,
            kind=kind,
            state=state,
            active_key=f"{terminal_id}:{kind}",
            opened_at=crud.utc_now() - timedelta(seconds=opened_ago_s),
            summary=english_summary(kind, details),
            details=details,
        )
    )


@pytest.mark.usefixtures("fleet")
def test_the_alerts_page_lists_the_worst_first_then_the_newest(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        add_alert(session, "c-healthy", "content_failed", 10)
        add_alert(session, "w-degraded", "disk_full", 500)
        add_alert(session, "y-lost", "down", 100)
        add_alert(session, "z-lost-long", "down", 3000)
        add_alert(session, "z-lost-long", "door_open", 20)
        session.commit()
    page = web.get("/alerts").text
    order = re.findall(r'<th scope="row" data-label="Borne"><a href="/terminals/([^"]+)"', page)
    kinds = re.findall(r'data-kind="([^"]+)"', page)
    # Lost terminals first (the worse kind first within one, then the newest alert first)...
    assert list(zip(order, kinds, strict=True)) == [
        ("y-lost", "down"),
        ("z-lost-long", "down"),
        ("z-lost-long", "door_open"),
        ("w-degraded", "disk_full"),
        ("c-healthy", "content_failed"),
    ]
    assert "les plus graves d’abord" in page
    text = visible(page)
    assert "perdue : la connexion est tombée sans au revoir" in text
    assert "disque occupé à 95 % (limite 90 %)" in text


@pytest.mark.parametrize("kind", ALERT_KINDS)
def test_every_alert_kind_reads_in_french_without_english(kind: str) -> None:
    french = alert_details(kind, SAMPLE_DETAILS[kind], Words("fr"))
    english = alert_details(kind, SAMPLE_DETAILS[kind], Words("en"))
    assert french != english, kind
    assert english_summary(kind, SAMPLE_DETAILS[kind]) == english
    # No duration inside the details: the line that shows them has the only one.
    assert not re.search(r"\bdepuis\b|\bfor \d", french + english), kind


def test_numbers_and_plurals_follow_the_language() -> None:
    fr, en = Words("fr"), Words("en")
    assert alert_details("temperature", SAMPLE_DETAILS["temperature"], fr) == (
        "74,5 °C, hors de la plage de -10 à 70 °C"
    )
    assert alert_details("temperature", SAMPLE_DETAILS["temperature"], en).startswith("74.5 °C")
    one = {"changes": 1, "window_min": 15, "state": "online"}
    assert alert_details("flapping", one, fr).startswith("1 changement de présence en 15 min")
    assert alert_details("flapping", SAMPLE_DETAILS["flapping"], fr).startswith("8 changements")
    assert alert_details("flapping", one, en).startswith("1 change of presence")
    assert formatting.decimal(1234.5, "fr") == "1\u202f234,5"
    assert formatting.decimal(1234.5, "en") == "1,234.5"


def test_dates_are_written_for_the_locale() -> None:
    moment = datetime(2026, 2, 11, 14, 5, 9, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    assert formatting.Clock(moment, paris, str, "fr").timestamp(moment) == "11/02/2026 15:05:09"
    english = formatting.Clock(moment, paris, str, "en").timestamp(moment)
    assert english.startswith("Feb 11, 2026")
    assert formatting.Clock(moment, paris, str, "fr").day(moment.date()) == "11 février 2026"


def test_an_alert_e_mail_speaks_french() -> None:
    notification = Notification(
        alert_id=1,
        terminal_id="bdx-1",
        kind="disk_full",
        state="open",
        summary=english_summary("disk_full", SAMPLE_DETAILS["disk_full"]),
        opened_at=datetime(2026, 2, 11, 14, 5, tzinfo=UTC),
        at=datetime(2026, 2, 11, 14, 5, tzinfo=UTC),
        details=SAMPLE_DETAILS["disk_full"],
    )
    french = Words("fr")
    body = (
        EmailNotifier("127.0.0.1", 25, "a@b", ["c@d"], french.gettext, language="fr")
        .message(notification)
        .get_content()
    )
    assert "disque occupé à 95 % (limite 90 %)" in body
    assert "disk" not in body
    assert notification.as_json()["details"] == SAMPLE_DETAILS["disk_full"]


@pytest.mark.usefixtures("fleet")
def test_a_lost_terminal_s_page_marks_its_readings_stale_and_says_commands_wait(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        add_alert(session, "y-lost", "down", 100)
        terminal = session.get(Terminal, "y-lost")
        assert terminal is not None
        terminal.health_at = crud.utc_now() - timedelta(minutes=12)
        now = crud.utc_now()
        session.add(
            CommandRecord(
                id="c1",
                terminal_id="y-lost",
                name="reboot",
                args={},
                issued_at=now,
                expires_at=now + timedelta(minutes=5),
                issued_by="admin",
                state="pending",
                published_at=now,
                updated_at=now,
            )
        )
        session.commit()
        expires = session.scalars(select(CommandRecord.expires_at)).one()
    page = web.get("/terminals/y-lost").text
    text = visible(page)
    assert "Relevés périmés :" in text
    assert "La borne est perdue depuis 4 min" in text
    figures = visible(page.split('id="latest-figures"', 1)[1].split("</dl>", 1)[0])
    assert "95 % relevé il y a 12 min" in figures
    assert "relevé il y a 12 min" in figures.split("Allumée depuis", 1)[1]
    # Commands: they wait until it is back, until when.
    notice = visible(page.split('id="unreachable-notice"', 1)[1].split("</p>", 1)[0])
    assert "attend son retour et expire si elle n’est pas revenue à" in notice
    clock = formatting.Clock(crud.utc_now(), ZoneInfo("Europe/Paris"), str, "fr")
    assert f"attend le retour de la borne, jusqu’au {clock.timestamp(expires)}" in text
    # The lost alert: one duration on its line, no English.
    alert_line = visible(page.split('id="terminal-alerts"', 1)[1].split("</ul>", 1)[0])
    assert alert_line.count("depuis") == 1, alert_line
    assert "lost" not in alert_line
    assert "connection" not in alert_line

    healthy = web.get("/terminals/c-healthy").text
    assert "Relevés périmés" not in healthy
    assert 'id="unreachable-notice"' not in healthy
    assert "relevé il y a" not in healthy


def row_cells(html: str, terminal_id: str) -> dict[str, str]:
    """A row's cells by their phone-card label (data-label), as read."""
    row = html.split(f'<tr id="terminal-{terminal_id}"', 1)[1].split("</tr>", 1)[0]
    return {
        label: visible(cell)
        for label, cell in re.findall(r'data-label="([^"]+)">(.*?)</t[dh]>', row, re.DOTALL)
    }


@pytest.mark.usefixtures("fleet")
def test_the_overview_marks_a_lost_terminal_s_readings_stale_with_their_age(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    """The table and its phone cards (the same cells) say how old a lost or offline terminal's
    figures are, with the terminal page's own helper (formatting.stale_reading_age)."""
    with factory() as session:
        terminal = session.get(Terminal, "y-lost")
        assert terminal is not None
        terminal.health_at = crud.utc_now() - timedelta(minutes=12)
        session.commit()
    for path in ("/", "/partials/terminals"):
        page = web.get(path).text
        cells = row_cells(page, "y-lost")
        assert cells["Processeur"] == "95 % relevé il y a 12 min", cells
        assert cells["Allumée depuis"] == "8 min relevé il y a 12 min", cells
        assert cells["Mémoire"] == "— relevé il y a 12 min", cells
        row = page.split('<tr id="terminal-y-lost"', 1)[1].split("</tr>", 1)[0]
        assert row.count("<small>relevé il y a 12 min</small>") == 5
        # An online terminal's figures are current: no age, no mark.
        healthy = page.split('<tr id="terminal-c-healthy"', 1)[1].split("</tr>", 1)[0]
        assert "<small>" not in healthy
        assert "relevé" not in healthy
    # The same words as on the terminal page, and in English for an English reader.
    assert "relevé il y a 12 min" in web.get("/terminals/y-lost").text
    english = row_cells(web.get("/?lang=en").text, "y-lost")
    assert english["CPU"] == "95 % read 12 min ago", english


@pytest.mark.usefixtures("fleet")
def test_sessions_and_export_dates_read_in_french(web: TestClient) -> None:
    page = web.get("/terminals/c-healthy").text
    assert "0 session ces 14 derniers jours." in page
    dashboard = visible(web.get("/").text)
    assert re.search(r"Du \d{1,2} \w+ \d{4} au \d{1,2} \w+ \d{4} \(30 jours\)\.", dashboard)
