"""Availability (« Disponibilité »): the fleet's page, each terminal's section, the CSV export.

The fleet's figures come from the daily roll-ups (:mod:`fleet.availability`), so the page reads
a month of one row per day and at most a few dozen terminals, whatever the fleet's size.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from fleet import availability, charts
from fleet.api import formatting
from fleet.api.availability_view import Formats, month_start, next_month, previous_month
from fleet.api.deps import PageDep, SessionDep
from fleet.models import AvailabilityDay, AvailabilityFleetDay, Terminal

#: HTML pages and the CSV a person downloads from them: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: The fleet page's outages: those started in this many days, newest first, at most so many.
FLEET_OUTAGE_DAYS: Final = 7
FLEET_OUTAGES: Final = 50
LEAST_AVAILABLE: Final = 20
#: The longest CSV export.
MAX_EXPORT_DAYS: Final = 366
CSV_BATCH: Final = 5000


def _parse_month(value: str | None, today: date) -> date:
    if value:
        try:
            chosen = datetime.strptime(value, "%Y-%m").date()
        except ValueError:
            return month_start(today)
        if chosen <= today:
            return chosen
    return month_start(today)


def _chart_days(
    rows: list[AvailabilityFleetDay], first: date, last: date, read: Callable[[Any], int]
) -> list[tuple[date, int]]:
    by_day = {row.day: read(row) for row in rows}
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [(day, by_day.get(day, 0)) for day in days]


@router.get("/availability", response_model=None)
def availability_page(page: PageDep, session: SessionDep) -> Response:
    _ = page.language.gettext
    zone = formatting.display_zone(page.settings.display_timezone)
    formats = Formats(page.language.code, zone)
    now = page.now
    today = now.astimezone(zone).date()
    month = _parse_month(page.request.query_params.get("month"), today)
    last_day = min(next_month(month) - timedelta(days=1), today)
    rows = availability.fleet_days(session, month, last_day)
    period = availability.FleetPeriod(rows)
    previous = availability.FleetPeriod(
        availability.fleet_days(session, previous_month(month), month - timedelta(days=1))
    )
    thirty = availability.FleetPeriod(
        availability.fleet_days(session, today - timedelta(days=29), today)
    )
    complete = [row for row in rows if row.complete]
    chosen_day = today - timedelta(days=1)
    day_value = page.request.query_params.get("day")
    if day_value:
        with contextlib.suppress(ValueError):
            chosen_day = min(date.fromisoformat(day_value), today)
    least = availability.least_available(session, chosen_day, LEAST_AVAILABLE)
    outages = availability.recent_outages(
        session, now - timedelta(days=FLEET_OUTAGE_DAYS), FLEET_OUTAGES
    )
    sessions_series = _chart_days(rows, month, last_day, lambda row: row.sessions)
    outage_series = _chart_days(rows, month, last_day, lambda row: row.outages)
    alert_series = _chart_days(rows, month, last_day, lambda row: row.alerts)
    month_name = formats.month(month)
    total = period.total()
    sessions_text = _("Sessions ended in %(month)s: %(count)s.") % {
        "count": formats.number(total.sessions),
        "month": month_name,
    }
    problems_text = _("Outages in %(month)s: %(outages)s; alerts opened: %(alerts)s.") % {
        "outages": formats.number(total.outages),
        "alerts": formats.number(sum(row.alerts for row in rows)),
        "month": month_name,
    }
    context: dict[str, Any] = {
        "formats": formats,
        "month": month,
        "month_name": month_name,
        "previous_month": previous_month(month),
        "next_month": next_month(month) if next_month(month) <= today else None,
        "rows": rows,
        "complete_days": len(complete),
        "total": total,
        "previous_total": previous.total(),
        "thirty_total": thirty.total(),
        "computed_at": max((row.computed_at for row in rows), default=None),
        "least": least,
        "chosen_day": chosen_day,
        "outages": outages,
        "outage_days": FLEET_OUTAGE_DAYS,
        "now": now,
        "ratio_of": availability.fleet_figures,
        "sessions_svg": charts.bar_chart(
            "chart-fleet-sessions",
            sessions_series,
            _("Sessions per day, %(month)s") % {"month": month_name},
            sessions_text,
            axis="day_of_month",
            locale=formats.locale,
            show_values=False,
        ),
        "sessions_text": sessions_text,
        "outages_svg": charts.bar_chart(
            "chart-fleet-outages",
            outage_series,
            _("Outages per day, %(month)s") % {"month": month_name},
            problems_text,
            axis="day_of_month",
            locale=formats.locale,
            show_values=False,
        ),
        "alerts_svg": charts.bar_chart(
            "chart-fleet-alerts",
            alert_series,
            _("Alerts opened per day, %(month)s") % {"month": month_name},
            problems_text,
            axis="day_of_month",
            locale=formats.locale,
            show_values=False,
        ),
        "problems_text": problems_text,
        "export_from": (month).isoformat(),
        "export_to": last_day.isoformat(),
        "today": today,
    }
    return page.render("availability.html", context)


def _csv_headers(_: Callable[[str], str]) -> list[str]:
    return [
        _("day"),
        _("terminal"),
        _("site"),
        _("commune"),
        _("observed (s)"),
        _("online (s)"),
        _("down (s)"),
        _("maintenance (s)"),
        _("availability (%)"),
        _("outages"),
        _("sessions"),
        _("complete day"),
    ]


def _csv_rows(
    bind: Engine | Connection, first: date, last: date, _: Callable[[str], str]
) -> Iterator[str]:
    """The CSV in chunks, read by keyset pages from a session of its own (the request's may be
    closed before a long download ends)."""
    with Session(bind) as session:
        yield from _csv_chunks(session, first, last, _)


def _csv_chunks(
    session: Session, first: date, last: date, _: Callable[[str], str]
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # A byte-order mark, so that a spreadsheet opens the accents as UTF-8.
    buffer.write("\ufeff")
    writer.writerow(_csv_headers(_))
    yes, no = _("yes"), _("no")
    last_key: tuple[date, str] = (first - timedelta(days=1), "")
    while True:
        rows = session.execute(
            select(AvailabilityDay, Terminal.site_name, Terminal.commune)
            .join(Terminal, Terminal.id == AvailabilityDay.terminal_id)
            .where(
                AvailabilityDay.day >= first,
                AvailabilityDay.day <= last,
                (AvailabilityDay.day > last_key[0])
                | (
                    (AvailabilityDay.day == last_key[0])
                    & (AvailabilityDay.terminal_id > last_key[1])
                ),
            )
            .order_by(AvailabilityDay.day, AvailabilityDay.terminal_id)
            .limit(CSV_BATCH)
        ).all()
        for row, site, commune in rows:
            ratio = row.share
            writer.writerow(
                [
                    row.day.isoformat(),
                    row.terminal_id,
                    site or "",
                    commune or "",
                    round(row.observed_s),
                    round(row.online_s),
                    round(row.down_s),
                    round(row.maintenance_s),
                    "" if ratio is None else f"{ratio * 100:.3f}",
                    row.outages,
                    row.sessions,
                    yes if row.complete else no,
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CSV_BATCH:
            return
        last_key = (rows[-1][0].day, rows[-1][0].terminal_id)


@router.get("/availability.csv", response_model=None)
def availability_csv(
    page: PageDep,
    session: SessionDep,
    first_day: Annotated[date, Query(alias="from")],
    last_day: Annotated[date, Query(alias="to")],
) -> Response:
    """Daily availability per terminal, one row per terminal and day (see the docs' columns)."""
    _ = page.language.gettext
    if last_day < first_day:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, _("The last day is before the first.")
        )
    if (last_day - first_day).days >= MAX_EXPORT_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            _("At most %(days)d days per export.") % {"days": MAX_EXPORT_DAYS},
        )
    filename = f"disponibilite-{first_day.isoformat()}-{last_day.isoformat()}.csv"
    return StreamingResponse(
        _csv_rows(session.get_bind(), first_day, last_day, _),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
