"""One terminal's page: its figures, its commands, and buttons to send the common ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet import charts, commands, crud, see_terminal
from fleet.alerts import store
from fleet.api import availability_view, formatting, placement_view
from fleet.api.command_form import FLASH_SESSION_KEY, CommandFormDep
from fleet.api.deps import (
    BrokerDep,
    FormText,
    PageDep,
    SessionDep,
    may_send_commands,
)
from fleet.api.labels import alert_words, rollout_labels
from fleet.models import EventRecord, HealthHourly, HealthSample, StateChange, Terminal
from fleet.presence import PresenceLimits
from fleet.rollouts.progress import latest_target
from fleet.states import TerminalState

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: The commands the page offers as buttons, in this order.
BUTTON_COMMANDS: Final = ("reboot", "restart_ui", "wipe_session", "refresh_content")
#: The chart periods the page offers: query value → length.
PERIODS: Final = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "90d": timedelta(days=90),
}
#: Periods drawn from the hourly roll-ups (raw reports are kept only 7 days by default).
HOURLY_PERIODS: Final = frozenset({"90d"})
#: At most this many points per line: samples are averaged per slot beyond it.
MAX_POINTS: Final = 240
SESSION_DAYS: Final = 14
STATE_HISTORY_LENGTH: Final = 20
EVENTS_SHOWN: Final = 20
SESSION_EVENT: Final = "session_ended"


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _disk(payload: dict[str, Any]) -> float | None:
    disks = payload.get("disks")
    if not isinstance(disks, list):
        return None
    used = [_number(disk.get("used_percent")) for disk in disks if isinstance(disk, dict)]
    return max((value for value in used if value is not None), default=None)


def _temperature(payload: dict[str, Any]) -> float | None:
    readings = payload.get("temperatures_c")
    if not isinstance(readings, dict):
        return None
    values = [_number(value) for value in readings.values()]
    return max((value for value in values if value is not None), default=None)


#: The charted figures: key, how to read it from a health payload, unit.
FIGURES: Final[tuple[tuple[str, Callable[[dict[str, Any]], float | None], str], ...]] = (
    ("cpu", lambda payload: _number(payload.get("cpu_percent")), " %"),
    ("memory", lambda payload: _number(payload.get("memory_percent")), " %"),
    ("disk", _disk, " %"),
    ("temperature", _temperature, " °C"),
)


def _downsample(points: list[charts.Point], start: datetime, span: timedelta) -> list[charts.Point]:
    """The mean of each of ``MAX_POINTS`` slots, so that a week stays a light drawing."""
    if len(points) <= MAX_POINTS:
        return points
    slot_s = span.total_seconds() / MAX_POINTS
    slots: dict[int, list[charts.Point]] = {}
    for point in points:
        slots.setdefault(int((point.at - start).total_seconds() // slot_s), []).append(point)
    return [
        charts.Point(members[len(members) // 2].at, sum(p.value for p in members) / len(members))
        for _index, members in sorted(slots.items())
    ]


def figure_series(
    session: Session, terminal_id: str, start: datetime, span: timedelta
) -> dict[str, list[charts.Point]]:
    rows = session.execute(
        select(HealthSample.sent_at, HealthSample.payload)
        .where(HealthSample.terminal_id == terminal_id, HealthSample.received_at >= start)
        .order_by(HealthSample.sent_at)
    ).all()
    series: dict[str, list[charts.Point]] = {key: [] for key, _read, _unit in FIGURES}
    for sent_at, payload in rows:
        for key, read, _unit in FIGURES:
            value = read(payload) if isinstance(payload, dict) else None
            if value is not None:
                series[key].append(charts.Point(sent_at, value))
    return {key: _downsample(points, start, span) for key, points in series.items()}


#: The roll-up column charted for each figure: the hour's mean, the hottest probe's maximum.
HOURLY_COLUMNS: Final = {
    "cpu": HealthHourly.cpu_avg,
    "memory": HealthHourly.memory_avg,
    "disk": HealthHourly.disk_avg,
    "temperature": HealthHourly.temperature_max,
}


def hourly_series(
    session: Session, terminal_id: str, start: datetime, span: timedelta
) -> dict[str, list[charts.Point]]:
    """The figures from the hourly roll-ups (one point per hour, at its middle), downsampled."""
    rows = session.execute(
        select(HealthHourly.hour, *HOURLY_COLUMNS.values())
        .where(HealthHourly.terminal_id == terminal_id, HealthHourly.hour >= start)
        .order_by(HealthHourly.hour)
    ).all()
    series: dict[str, list[charts.Point]] = {key: [] for key in HOURLY_COLUMNS}
    for hour, *values in rows:
        for key, value in zip(HOURLY_COLUMNS, values, strict=True):
            if value is not None:
                series[key].append(charts.Point(hour + timedelta(minutes=30), float(value)))
    return {key: _downsample(points, start, span) for key, points in series.items()}


def sessions_per_day(
    session: Session, terminal_id: str, today: date, zone: tzinfo
) -> list[tuple[date, int]]:
    days = charts.days_back(today, SESSION_DAYS)
    since = datetime.combine(days[0], datetime.min.time(), zone)
    counts = dict.fromkeys(days, 0)
    for (sent_at,) in session.execute(
        select(EventRecord.sent_at).where(
            EventRecord.terminal_id == terminal_id,
            EventRecord.kind == SESSION_EVENT,
            EventRecord.sent_at >= since,
        )
    ):
        day = sent_at.astimezone(zone).date()
        if day in counts:
            counts[day] += 1
    return list(counts.items())


def recent_events(session: Session, terminal_id: str) -> Sequence[EventRecord]:
    """What the terminal reported lately (sessions, wipes, crashes, content updates...)."""
    return session.scalars(
        select(EventRecord)
        .where(EventRecord.terminal_id == terminal_id)
        .order_by(EventRecord.received_at.desc(), EventRecord.id.desc())
        .limit(EVENTS_SHOWN)
    ).all()


def state_history(session: Session, terminal_id: str) -> Sequence[StateChange]:
    return session.scalars(
        select(StateChange)
        .where(StateChange.terminal_id == terminal_id)
        .order_by(StateChange.at.desc(), StateChange.id.desc())
        .limit(STATE_HISTORY_LENGTH)
    ).all()


def chart_context(
    session: Session,
    terminal_id: str,
    period: str,
    now: datetime,
    zone: tzinfo,
    _: Callable[[str], str],
    ngettext: Callable[[str, str, int], str],
    locale: str = "fr",
) -> dict[str, Any]:
    """The SVG charts of the terminal page, each with its text summary; their axes written
    for ``locale``."""
    span = PERIODS[period]
    start = now - span
    titles = {
        "cpu": _("CPU"),
        "memory": _("Memory"),
        "disk": _("Disk"),
        "temperature": _("Max temperature"),
    }
    period_text = {
        "24h": _("last 24 hours"),
        "7d": _("last 7 days"),
        "90d": _("last 90 days, hourly averages"),
    }[period]
    axis: charts.AxisUnit = "time" if period == "24h" else "day"
    if period in HOURLY_PERIODS:
        series = hourly_series(session, terminal_id, start, span)
    else:
        series = figure_series(session, terminal_id, start, span)
    drawn = []
    for key, _read, unit in FIGURES:
        points = [charts.Point(p.at.astimezone(zone), p.value) for p in series[key]]
        summary = charts.summarise(points)
        if summary.count:
            text = _(
                "%(figure)s, %(period)s: min %(min).0f%(unit)s, max %(max).0f%(unit)s, "
                "latest %(latest).0f%(unit)s."
            ) % {
                "figure": titles[key],
                "period": period_text,
                "min": summary.minimum,
                "max": summary.maximum,
                "latest": summary.latest,
                "unit": unit,
            }
        else:
            text = _("%(figure)s, %(period)s: no health report.") % {
                "figure": titles[key],
                "period": period_text,
            }
        svg = charts.line_chart(
            f"chart-{key}",
            points,
            start.astimezone(zone),
            now.astimezone(zone),
            f"{titles[key]} ({period_text})",
            text,
            unit,
            _("No health report in this period."),
            axis=axis,
            locale=locale,
        )
        drawn.append({"key": key, "title": titles[key], "svg": svg, "summary": text})
    today = now.astimezone(zone).date()
    per_day = sessions_per_day(session, terminal_id, today, zone)
    total = sum(count for _day, count in per_day)
    sessions_text = ngettext(
        "%(total)d session in the last %(days)d days.",
        "%(total)d sessions in the last %(days)d days.",
        total,
    ) % {
        "total": total,
        "days": SESSION_DAYS,
    }
    return {
        "period": period,
        "charts": drawn,
        "sessions_svg": charts.bar_chart(
            "chart-sessions", per_day, _("Sessions per day"), sessions_text, locale=locale
        ),
        "sessions_text": sessions_text,
        "state_history": state_history(session, terminal_id),
        "events": recent_events(session, terminal_id),
    }


def reach_context(terminal: Terminal, clock: formatting.Clock) -> dict[str, Any]:
    """Whether the terminal can hear now: if not, its figures are its last words (stale) and a
    command waits for its return, at most until it expires."""
    _ = clock.gettext
    reachable = terminal.state == TerminalState.ONLINE
    read_at = formatting.stale_reading_age(terminal.state, terminal.health_at, clock)
    since = clock.since(terminal.state_since)
    sentences = {
        TerminalState.LOST: _("The terminal is lost %(since)s (gone without a goodbye).")
        % {"since": since},
        TerminalState.OFFLINE: _("The terminal is offline %(since)s (stopped).") % {"since": since},
    }
    return {
        "reachable": reachable,
        "stale": read_at is not None,
        "read_at": read_at,
        "unreachable_sentence": sentences.get(
            terminal.state, _("The terminal has never said it is online.")
        ),
        "expires_if_sent_now": clock.now + timedelta(seconds=commands.DEFAULT_TTL_S),
    }


def _flash_expiry(flash: object) -> datetime | None:
    if not isinstance(flash, dict) or not isinstance(flash.get("expires_at"), str):
        return None
    try:
        return datetime.fromisoformat(flash["expires_at"])
    except ValueError:
        return None


@router.get("/terminals/{terminal_id}", response_model=None)
def terminal_page(
    terminal_id: str, page: PageDep, session: SessionDep, broker: BrokerDep
) -> Response:
    _ = page.language.gettext
    user = page.user
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("No such terminal."))
    now = page.now
    commands.expire_overdue(session, now)
    session.commit()
    zone = formatting.display_zone(page.settings.display_timezone)
    flash = page.request.session.pop(FLASH_SESSION_KEY, None)
    period = page.request.query_params.get("period", "24h")
    if period not in PERIODS:
        period = "24h"
    latest_rollout = latest_target(session, terminal_id)
    limits = PresenceLimits.from_settings(page.settings)
    context: dict[str, Any] = {
        **reach_context(terminal, page.clock),
        **chart_context(
            session, terminal_id, period, now, zone, _, page.language.ngettext, page.language.code
        ),
        **availability_view.terminal_context(session, terminal, now, zone, page.language.code),
        **rollout_labels(page.language),
        "rollout": None if latest_rollout is None else latest_rollout[0],
        "target": None if latest_rollout is None else latest_rollout[1],
        "terminal": terminal,
        "commands": commands.recent_commands(session, terminal_id),
        "buttons": BUTTON_COMMANDS if may_send_commands(user) else (),
        "ttl_minutes": commands.DEFAULT_TTL_S // 60,
        "flash": flash if isinstance(flash, dict) else None,
        "flash_expires": _flash_expiry(flash),
        "broker": broker,
        "alerts": store.unresolved_alerts(session, terminal_id, limits, now),
        "maintenance": store.current_window(session, terminal_id, now),
        "may_maintain": may_send_commands(user),
        **alert_words(page.language.code),
        "state_label": lambda state: formatting.state_label(state, _),
        "command_label": lambda name: formatting.command_label(name, _),
        "event_kind_label": lambda kind: formatting.event_kind_label(kind, _),
        "command_state_label": lambda state: formatting.command_state_label(state, _),
        "command_reason": lambda reason: formatting.command_reason(reason, _),
        "ui_alive": lambda value: formatting.ui_alive(value, _),
        "door": lambda value: formatting.door(value, _),
        "clock_sync": lambda value: formatting.clock_sync(value, _),
        "percent": formatting.percent,
        "temperature": formatting.temperature,
        "milliseconds": formatting.milliseconds,
        "count": formatting.count,
        "clock_error": lambda seconds: formatting.clock_error(seconds, _),
        # See the terminal (its logs, a picture of its idle screen): _see_terminal.html.
        **see_terminal.context(session, terminal_id),
        **placement_view.placement_context(page.request, terminal, page.language),
    }
    return page.render("terminal.html", context)


@router.post("/terminals/{terminal_id}/commands", response_model=None)
def send_command_form(terminal_id: str, form: CommandFormDep, name: FormText = "") -> Response:
    """A button of the terminal page; back to the page, which says what became of it."""
    row = form.send(terminal_id, name, BUTTON_COMMANDS)
    terminal = crud.get_terminal(form.session, terminal_id)
    form.request.session[FLASH_SESSION_KEY] = {
        "name": row.name,
        "held": row.published_at is None,
        "unreachable": terminal is not None and terminal.state != TerminalState.ONLINE,
        "expires_at": row.expires_at.isoformat(),
    }
    return RedirectResponse(f"/terminals/{terminal_id}", status.HTTP_303_SEE_OTHER)
