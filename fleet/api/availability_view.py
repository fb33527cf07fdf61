"""Availability as the pages show it: figures, dates and durations in the reader's locale
(``Formats``), calendar months, and a terminal's availability section (its page shows it; the
fleet's page and the CSV export are ``routes/availability.py``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Final

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from babel.units import format_unit
from sqlalchemy.orm import Session

from fleet import availability
from fleet.api import formatting
from fleet.models import Terminal

#: Days of a terminal's section, and outages shown on it.
TERMINAL_DAYS: Final = 30
TERMINAL_OUTAGES: Final = 20


class Formats:
    """Figures, dates and durations as Babel writes them in the reader's locale."""

    def __init__(self, locale: str, zone: tzinfo) -> None:
        self.locale = locale
        self.zone = zone
        # The locale's own percent pattern (its spacing, its sign's side), with two decimals.
        pattern = Locale.parse(locale).percent_formats[None].pattern
        head, _zero, tail = pattern.rpartition("0")
        self._percent_pattern = f"{head}0.00{tail}"

    def share(self, ratio: float | None) -> str:
        if ratio is None:
            return formatting.MISSING
        # Two decimals: 99.9 % and 99.99 % are a month's 43 min and 4 min down.
        return format_percent(ratio, format=self._percent_pattern, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def day(self, day: date) -> str:
        return format_date(day, format="EEE d MMM", locale=self.locale)

    def long_day(self, day: date) -> str:
        return format_date(day, format="full", locale=self.locale)

    def month(self, day: date) -> str:
        return format_date(day, format="MMMM y", locale=self.locale)

    def moment(self, moment: datetime | None) -> str:
        if moment is None:
            return formatting.MISSING
        return format_datetime(moment, format="d MMM y HH:mm", tzinfo=self.zone, locale=self.locale)

    def short_moment(self, moment: datetime | None) -> str:
        """Within the last days: no year."""
        if moment is None:
            return formatting.MISSING
        return format_datetime(moment, format="d MMM HH:mm", tzinfo=self.zone, locale=self.locale)

    def duration(self, seconds: float) -> str:
        """``2 j 3 h``, ``3 h 5 min``, ``12 min``, ``40 s`` (Babel's short units)."""
        total = max(round(seconds), 0)
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        parts: list[tuple[int, str]]
        if days:
            parts = [(days, "duration-day"), (hours, "duration-hour")]
        elif hours:
            parts = [(hours, "duration-hour"), (minutes, "duration-minute")]
        elif minutes:
            parts = [(minutes, "duration-minute")]
        else:
            parts = [(secs, "duration-second")]
        # A no-break space between the parts: a duration never breaks across lines.
        return "\u00a0".join(
            format_unit(value, unit, length="short", locale=self.locale)
            for value, unit in parts
            if value or len(parts) == 1
        )


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def terminal_context(
    session: Session, terminal: Terminal, now: datetime, zone: tzinfo, locale: str
) -> dict[str, Any]:
    """The availability section of a terminal's page, computed live from its own history."""
    today = now.astimezone(zone).date()
    this_month = month_start(today)
    last_month = previous_month(this_month)
    first_day = min(last_month, today - timedelta(days=TERMINAL_DAYS - 1))
    begin = availability.day_bounds(first_day, zone)[0]
    history = availability.terminal_history(session, terminal, begin, now)
    days = []
    for offset in range(TERMINAL_DAYS - 1, -1, -1):
        day = today - timedelta(days=offset)
        start, end = availability.day_bounds(day, zone)
        days.append((day, history.figures(start, min(end, now))))
    month_begin = availability.day_bounds(this_month, zone)[0]
    outages = history.outages()
    return {
        "availability_formats": Formats(locale, zone),
        "availability_days": days,
        "availability_month": history.figures(month_begin, now),
        "availability_month_name": Formats(locale, zone).month(this_month),
        "availability_last_month": history.figures(
            availability.day_bounds(last_month, zone)[0], month_begin
        ),
        "availability_last_month_name": Formats(locale, zone).month(last_month),
        "availability_outages": list(reversed(outages))[:TERMINAL_OUTAGES],
        "availability_outage_count": len(outages),
        "availability_now": now,
    }
