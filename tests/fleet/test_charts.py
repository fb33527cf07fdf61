"""Server-drawn SVG charts: lines with min and max, bars per day, and the terminal page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from fleet import charts, retention
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import handle_message
from fleet.models import HealthHourly
from kiosk.contract.mqtt import Channel, Event, topic_for
from tests.helpers import log_in

from .conftest import health_payload, status_payload

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2025, 11, 25, 0, 0, tzinfo=UTC)


def test_line_chart_draws_every_point_and_labels_min_and_max() -> None:
    points = [charts.Point(START + timedelta(hours=h), v) for h, v in ((1, 20), (2, 80), (3, 50))]

    svg = charts.line_chart(
        "chart-cpu", points, START, START + timedelta(hours=24), "CPU", "desc", " %", "empty"
    )

    root = ElementTree.fromstring(svg)
    assert root.findtext(f"{SVG}title") == "CPU"
    assert root.findtext(f"{SVG}desc") == "desc"
    polyline = root.find(f"{SVG}polyline")
    assert polyline is not None
    assert len((polyline.get("points") or "").split()) == 3
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert "max 80 %" in texts
    assert "min 20 %" in texts
    assert charts.summarise(points) == charts.SeriesSummary(3, 20, 80, 50)


def test_line_chart_without_points_says_so() -> None:
    svg = charts.line_chart("c", [], START, START + timedelta(days=7), "t", "d", " %", "No data")
    root = ElementTree.fromstring(svg)
    assert root.find(f"{SVG}polyline") is None
    assert "No data" in svg


def test_bar_chart_has_one_bar_per_day() -> None:
    days = charts.days_back(date(2025, 11, 25), 14)
    assert days[0] == date(2025, 11, 12)
    assert days[-1] == date(2025, 11, 25)

    svg = charts.bar_chart(
        "chart-sessions", [(day, 3 if day.day == 25 else 0) for day in days], "Sessions", "3"
    )

    root = ElementTree.fromstring(svg)
    bars = root.findall(f"{SVG}rect")
    assert len(bars) == 14
    assert bars[-1].findtext(f"{SVG}title") == "25/11: 3"
    english = ElementTree.fromstring(
        charts.bar_chart("c", [(day, 3) for day in days], "Sessions", "3", locale="en")
    )
    assert english.findall(f"{SVG}rect")[-1].findtext(f"{SVG}title") == "11/25: 3"


def test_axis_labels_are_written_for_the_locale_by_babel() -> None:
    """One helper for every chart's axis: the locale's own time (24 h in French, 12 h in
    English), day and month in its order, in the instant's own time zone."""
    paris = datetime(2026, 12, 3, 14, 5, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert charts.axis_label(paris, "time", "fr") == "15:05"
    assert re.fullmatch(r"3:05\sPM", charts.axis_label(paris, "time", "en"))
    assert charts.axis_label(paris, "day", "fr") == "03/12"
    assert charts.axis_label(paris, "day", "en") == "12/3"
    assert charts.axis_label(date(2026, 12, 3), "day", "fr") == "03/12"
    assert charts.axis_label(date(2026, 12, 3), "day_of_month", "en") == "3"
    # Just after midnight in Paris is still the day before in UTC: the label is Paris's day.
    late = datetime(2026, 12, 3, 23, 30, tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))
    assert charts.axis_label(late, "day", "fr") == "04/12"
    assert charts.axis_label(late, "time", "fr") == "00:30"


def ticks(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return [text.text or "" for text in root.iter(f"{SVG}text") if text.get("class") == "tick"]


def test_line_chart_axes_read_in_french_and_in_english() -> None:
    start, end = START + timedelta(hours=13), START + timedelta(hours=37, minutes=5)
    points = [charts.Point(start + timedelta(hours=1), 10.0)]
    french = ticks(charts.line_chart("c", points, start, end, "t", "d", " %", "e", locale="fr"))
    assert french[:2] == ["13:00", "13:05"]
    english = ticks(charts.line_chart("c", points, start, end, "t", "d", " %", "e", locale="en"))
    assert re.fullmatch(r"1:00\sPM", english[0])
    assert re.fullmatch(r"1:05\sPM", english[1])
    week = ticks(
        charts.line_chart("c", points, start, end, "t", "d", " %", "e", axis="day", locale="en")
    )
    assert week[:2] == ["11/25", "11/26"]


def chart_svg(page: str, chart_id: str) -> str:
    """One chart's SVG, out of a page."""
    start = page.index(f'<svg class="chart" id="{chart_id}"')
    return page[start : page.index("</svg>", start) + len("</svg>")]


def test_terminal_page_shows_charts_sessions_and_state_history(
    client: TestClient, settings: FleetSettings
) -> None:
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session:
        terminal = "bdx-chart-001"
        handle_message(session, topic_for(terminal, Channel.STATUS), status_payload(at=now), now)
        for seq in range(1, 6):
            at = now - timedelta(minutes=10 * seq)
            handle_message(
                session,
                topic_for(terminal, Channel.HEALTH),
                health_payload(seq=seq, at=at, cpu=10.0 * seq),
                at,
            )
    engine.dispose()
    log_in(client)

    page = client.get("/terminals/bdx-chart-001").text
    week = client.get("/terminals/bdx-chart-001?period=7d").text

    for chart_id in ("chart-cpu", "chart-memory", "chart-disk", "chart-temperature"):
        assert f'id="{chart_id}"' in page
    assert "Processeur, dernières 24 heures : min 10 %, max 50 %, dernière valeur 10 %." in page
    assert 'id="chart-sessions"' in page
    assert "0 session ces 14 derniers jours." in page  # French: 0 takes the singular
    history = page.split('id="state-history"', 1)[1].split("</ol>", 1)[0]
    assert 'data-state="online"' in history
    assert "7 derniers jours" in week
    # The axes in the reader's locale: 24 h and day/month in French, 12 h and month/day in
    # English (Babel, charts.axis_label).
    cpu_ticks = ticks(chart_svg(page, "chart-cpu"))
    assert all(re.fullmatch(r"\d{2}:\d{2}", tick) for tick in cpu_ticks[:2]), cpu_ticks
    english = client.get("/terminals/bdx-chart-001?lang=en").text
    english_ticks = ticks(chart_svg(english, "chart-cpu"))
    assert all(re.fullmatch(r"\d{1,2}:\d{2}\s[AP]M", tick) for tick in english_ticks[:2])
    week_ticks = ticks(chart_svg(week, "chart-cpu"))
    assert all(re.fullmatch(r"\d{2}/\d{2}", tick) for tick in week_ticks[:2]), week_ticks
    english_week = ticks(
        chart_svg(client.get("/terminals/bdx-chart-001?period=7d&lang=en").text, "chart-cpu")
    )
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}", tick) for tick in english_week[:2])


def test_ninety_days_are_drawn_from_the_hourly_roll_ups(
    client: TestClient, settings: FleetSettings
) -> None:
    """Raw reports live 7 days; the 90-day view reads the roll-ups the retention pass made,
    from months ago up to the last complete hour."""
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    terminal = "bdx-chart-090"
    hour = retention.hour_start(now)
    with make_session_factory(engine)() as session:
        handle_message(session, topic_for(terminal, Channel.STATUS), status_payload(at=now), now)
        for days_ago, cpu, hottest in ((80, 12.0, 41.0), (40, 64.0, 58.0), (1, 30.0, 45.0)):
            session.add(
                HealthHourly(
                    terminal_id=terminal,
                    hour=hour - timedelta(days=days_ago),
                    count=60,
                    cpu_avg=cpu,
                    cpu_max=cpu + 20,
                    memory_avg=50.0,
                    memory_max=55.0,
                    disk_avg=None,
                    disk_max=None,
                    temperature_avg=hottest - 5,
                    temperature_max=hottest,
                )
            )
        # Older than the period: not drawn.
        session.add(HealthHourly(terminal_id=terminal, hour=hour - timedelta(days=120), count=1))
        session.commit()
    engine.dispose()
    log_in(client)

    page = client.get(f"/terminals/{terminal}?period=90d").text

    period = "90 derniers jours, moyennes horaires"
    assert f"Processeur, {period} : min 12 %, max 64 %, dernière valeur 30 %." in page
    assert f"Température max., {period} : min 41 °C, max 58 °C, dernière valeur 45 °C." in page
    assert f"Disque, {period} : aucun relevé de santé." in page
    svg = re.search(r'<svg class="chart" id="chart-cpu".*?</svg>', page, flags=re.DOTALL)
    assert svg is not None
    polyline = ElementTree.fromstring(svg.group(0)).find(f"{SVG}polyline")
    assert polyline is not None
    assert len((polyline.get("points") or "").split()) == 3
    assert '?period=90d" aria-current="true"' in page


def test_terminal_page_lists_recent_events_newest_first(
    client: TestClient, settings: FleetSettings
) -> None:
    engine = make_engine(settings.database_url)
    now = datetime.now(UTC)
    terminal = "bdx-events-001"
    with make_session_factory(engine)() as session:
        handle_message(session, topic_for(terminal, Channel.STATUS), status_payload(at=now), now)
        for seq, kind in ((1, "session_ended"), (2, "wipe_done")):
            at = now + timedelta(seconds=seq)
            event = Event(seq=seq, sent_at=at, kind=kind, data={"tiles_count": 2})
            handle_message(session, topic_for(terminal, Channel.EVENT), event.to_bytes(), at)
    engine.dispose()
    log_in(client)

    events = client.get(f"/terminals/{terminal}").text.split('id="events"', 1)[1].split("</ol>")[0]
    assert events.index('data-kind="wipe_done"') < events.index('data-kind="session_ended"')
    assert "tiles_count=2" in events
