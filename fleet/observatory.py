"""Anonymous usage figures for the observatory of digital inclusion (see docs/observatory.md).

One row per terminal, day and tile: how many sessions used that tile and their median
duration. Rows with fewer than ``min_sessions`` sessions are suppressed (count ``"<5"``, no
median), and no totals are published, so a suppressed row cannot be recomputed by subtraction.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet.models import EventRecord, Terminal
from kiosk.contract.mqtt import MAX_HELP_COUNT, HelpUsage

SESSION_ENDED: Final = "session_ended"
#: The tile of sessions that opened none (the resident only looked at the home screen).
NO_TILE: Final = ""
CSV_FIELDS: Final = ("day", "terminal_id", "commune", "tile", "sessions", "median_duration_s")
#: The longest range one export may cover.
MAX_DAYS: Final = 400
EARLIEST_DAY: Final = date(1970, 1, 2)
LATEST_DAY: Final = date(9999, 12, 30)


@dataclass(frozen=True)
class UsageRow:
    """One cell; ``sessions`` is ``None`` and ``median_duration_s`` too when suppressed."""

    day: date
    terminal_id: str
    commune: str | None
    tile: str
    sessions: int | None
    median_duration_s: float | None

    def as_json(self, min_sessions: int) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "terminal_id": self.terminal_id,
            "commune": self.commune,
            "tile": self.tile,
            "sessions": self.sessions if self.sessions is not None else f"<{min_sessions}",
            "median_duration_s": self.median_duration_s,
        }


def _tiles(data: dict[str, Any]) -> list[str]:
    raw = data.get("tiles")
    tiles = [t.strip() for t in raw.split(",") if t.strip()] if isinstance(raw, str) else []
    # A tile opened twice in one session counts once for that session.
    return list(dict.fromkeys(tiles)) or [NO_TILE]


def _duration(data: dict[str, Any]) -> float | None:
    value = data.get("duration_s")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _ended_sessions(
    session: Session, first_day: date, last_day: date, zone: tzinfo
) -> Iterator[tuple[date, str, str | None, dict[str, Any]]]:
    """Each "session ended" report of the range: its day (in ``zone``), terminal, commune, data."""
    # Days at the ends of the calendar exist but hold no session, and would overflow in UTC.
    first_day, last_day = max(first_day, EARLIEST_DAY), min(last_day, LATEST_DAY)
    start = datetime.combine(first_day, time(), zone)
    end = datetime.combine(last_day + timedelta(days=1), time(), zone)
    query = (
        select(EventRecord.terminal_id, Terminal.commune, EventRecord.sent_at, EventRecord.data)
        .join(Terminal, Terminal.id == EventRecord.terminal_id)
        .where(
            EventRecord.kind == SESSION_ENDED,
            EventRecord.sent_at >= start,
            EventRecord.sent_at < end,
        )
    )
    for terminal_id, commune, sent_at, data in session.execute(query):
        yield (
            sent_at.astimezone(zone).date(),
            terminal_id,
            commune,
            (data if isinstance(data, dict) else {}),
        )


def usage(
    session: Session, first_day: date, last_day: date, zone: tzinfo, min_sessions: int
) -> list[UsageRow]:
    """The cells from ``first_day`` to ``last_day`` (included, days in ``zone``)."""
    sessions: dict[tuple[date, str, str | None, str], list[float | None]] = defaultdict(list)
    for day, terminal_id, commune, payload in _ended_sessions(session, first_day, last_day, zone):
        for tile in _tiles(payload):
            sessions[(day, terminal_id, commune, tile)].append(_duration(payload))
    rows = []
    for (day, terminal_id, commune, tile), durations in sorted(
        sessions.items(), key=lambda item: (item[0][0], item[0][1], item[0][3])
    ):
        known = [d for d in durations if d is not None]
        if len(durations) < min_sessions:
            rows.append(UsageRow(day, terminal_id, commune, tile, None, None))
            continue
        median = round(statistics.median(known), 1) if known else None
        rows.append(UsageRow(day, terminal_id, commune, tile, len(durations), median))
    return rows


def to_csv(rows: Sequence[UsageRow], min_sessions: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in rows:
        cell = row.as_json(min_sessions)
        writer.writerow(
            [
                cell["day"],
                cell["terminal_id"],
                cell["commune"] or "",
                cell["tile"],
                cell["sessions"],
                "" if cell["median_duration_s"] is None else cell["median_duration_s"],
            ]
        )
    return buffer.getvalue()


def to_json(
    rows: Sequence[UsageRow] | Sequence[HelpRow], first_day: date, last_day: date, min_sessions: int
) -> dict[str, Any]:
    """Either table as the JSON document of the export."""
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "min_sessions": min_sessions,
        "rows": [row.as_json(min_sessions) for row in rows],
    }


# --------------------------------------------------------------------------------------------
# The help pages (guide, places, numbers): counts per day and terminal, never which one.

HELP_FIELDS: Final = tuple(HelpUsage.model_fields)
HELP_CSV_FIELDS: Final = ("day", "terminal_id", "commune", "sessions", *HELP_FIELDS)


def _help_usage(data: dict[str, Any]) -> HelpUsage:
    """The counts an event carries; an older terminal (or an odd value) counts as none."""
    counts = {key: data.get(key) for key in HELP_FIELDS}
    usable = {
        key: value
        for key, value in counts.items()
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_HELP_COUNT
    }
    return HelpUsage.model_validate(usable)


@dataclass(frozen=True)
class HelpRow:
    """One day and terminal: how many sessions, and how the help pages were used.

    ``counts`` is ``None`` when the row is suppressed (fewer sessions than the minimum).
    """

    day: date
    terminal_id: str
    commune: str | None
    sessions: int
    counts: HelpUsage | None

    def as_json(self, min_sessions: int) -> dict[str, Any]:
        hidden = f"<{min_sessions}"
        cell: dict[str, Any] = {
            "day": self.day.isoformat(),
            "terminal_id": self.terminal_id,
            "commune": self.commune,
            "sessions": self.sessions if self.counts is not None else hidden,
        }
        for key in HELP_FIELDS:
            value = getattr(self.counts, key) if self.counts is not None else None
            # A small count could point at a person, like a small number of sessions.
            cell[key] = value if value is not None and not 0 < value < min_sessions else hidden
        return cell


def help_usage(
    session: Session, first_day: date, last_day: date, zone: tzinfo, min_sessions: int
) -> list[HelpRow]:
    """Help page use from ``first_day`` to ``last_day`` (included), per day and terminal."""
    cells: dict[tuple[date, str, str | None], list[HelpUsage]] = defaultdict(list)
    for day, terminal_id, commune, payload in _ended_sessions(session, first_day, last_day, zone):
        cells[(day, terminal_id, commune)].append(_help_usage(payload))
    rows = []
    for (day, terminal_id, commune), usages in sorted(cells.items(), key=lambda i: i[0][:2]):
        total = HelpUsage(
            **{
                key: min(sum(getattr(u, key) for u in usages), MAX_HELP_COUNT)
                for key in HELP_FIELDS
            }
        )
        shown = total if len(usages) >= min_sessions else None
        rows.append(HelpRow(day, terminal_id, commune, len(usages), shown))
    return rows


def help_to_csv(rows: Sequence[HelpRow], min_sessions: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HELP_CSV_FIELDS)
    for row in rows:
        cell = row.as_json(min_sessions)
        writer.writerow(["" if cell[key] is None else cell[key] for key in HELP_CSV_FIELDS])
    return buffer.getvalue()
