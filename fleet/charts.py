"""Small SVG charts drawn on the server: a line of figures over time, bars of counts per day.

Pure functions returning SVG text, so that the terminal page needs no JavaScript library and
the drawing can be tested without a browser.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from xml.sax.saxutils import escape

from babel.dates import format_skeleton, format_time

WIDTH: Final = 600.0
HEIGHT: Final = 180.0
LEFT: Final = 48.0
RIGHT: Final = 12.0
TOP: Final = 14.0
BOTTOM: Final = 28.0


#: What an axis label says of its instant: the time of day (``15:05``; ``3:05 PM`` in English),
#: the day and month (``03/12``; ``12/3`` in English), or the day of the month (``3``).
AxisUnit = Literal["time", "day", "day_of_month"]
#: Babel's skeletons: the fields wanted, the locale's CLDR data picks their order and signs.
AXIS_SKELETONS: Final[dict[str, str]] = {"day": "dM", "day_of_month": "d"}


def axis_label(moment: date | datetime, unit: AxisUnit, locale: str) -> str:
    """An axis label of every chart (terminal page, fleet-wide, availability), written for the
    reader's locale by Babel: the time in the locale's short time (its own 12 or 24 hours), a
    day from a skeleton. An aware instant is written in its own time zone."""
    if unit == "time":
        if not isinstance(moment, datetime):
            raise TypeError("a time of day needs an instant")
        return format_time(moment, "short", tzinfo=moment.tzinfo, locale=locale)
    if isinstance(moment, datetime):
        return format_skeleton(AXIS_SKELETONS[unit], moment, tzinfo=moment.tzinfo, locale=locale)
    return format_skeleton(AXIS_SKELETONS[unit], moment, locale=locale)


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class SeriesSummary:
    """What a reader who cannot see the chart is told."""

    count: int
    minimum: float | None
    maximum: float | None
    latest: float | None


def summarise(points: Sequence[Point]) -> SeriesSummary:
    if not points:
        return SeriesSummary(0, None, None, None)
    values = [point.value for point in points]
    return SeriesSummary(len(values), min(values), max(values), points[-1].value)


def _frame(chart_id: str, title: str, description: str) -> list[str]:
    return [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH:.0f} {HEIGHT:.0f}"'
        f' role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc"'
        ' xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}"'
        f' y2="{HEIGHT - BOTTOM}"/>',
    ]


def _value_range(values: Sequence[float], floor: float | None) -> tuple[float, float]:
    low = min(values) if floor is None else min(floor, *values)
    high = max(values)
    if high - low < 1e-9:
        high = low + 1.0
    return low, high


def line_chart(
    chart_id: str,
    points: Sequence[Point],
    start: datetime,
    end: datetime,
    title: str,
    description: str,
    unit: str,
    empty_text: str,
    axis: AxisUnit = "time",
    locale: str = "fr",
    floor: float | None = 0.0,
) -> str:
    """A polyline of ``points`` between ``start`` and ``end``, with min and max labelled; the
    time axis's ends written by :func:`axis_label`."""
    parts = _frame(chart_id, title, description)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    span_s = max((end - start).total_seconds(), 1.0)
    parts.append(
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 8}">'
        f"{escape(axis_label(start, axis, locale))}</text>"
    )
    parts.append(
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" text-anchor="end">'
        f"{escape(axis_label(end, axis, locale))}</text>"
    )
    inside = [point for point in points if start <= point.at <= end]
    if not inside:
        parts.append(
            f'<text class="chart-empty" x="{LEFT + plot_w / 2}" y="{TOP + plot_h / 2}"'
            f' text-anchor="middle">{escape(empty_text)}</text>'
        )
        parts.append("</svg>")
        return "\n".join(parts)
    low, high = _value_range([point.value for point in inside], floor)

    def x_of(moment: datetime) -> float:
        return round(LEFT + (moment - start).total_seconds() / span_s * plot_w, 1)

    def y_of(value: float) -> float:
        return round(TOP + (high - value) / (high - low) * plot_h, 1)

    coordinates = " ".join(f"{x_of(point.at)},{y_of(point.value)}" for point in inside)
    parts.append(f'<polyline class="series" points="{coordinates}"/>')
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">'
        f"{high:.0f}{escape(unit)}</text>"
    )
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">'
        f"{low:.0f}{escape(unit)}</text>"
    )
    highest = max(inside, key=lambda point: point.value)
    lowest = min(inside, key=lambda point: point.value)
    for kind, point in (("max", highest), ("min", lowest)):
        x, y = x_of(point.at), y_of(point.value)
        parts.append(f'<circle class="extreme {kind}" cx="{x}" cy="{y}" r="3"/>')
        offset = -6 if kind == "max" else 14
        anchor = "end" if x > LEFT + plot_w * 0.8 else "start"
        parts.append(
            f'<text class="extreme-label {kind}" x="{x}" y="{y + offset}" text-anchor="{anchor}">'
            f"{kind} {point.value:.0f}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def days_back(today: date, count: int) -> list[date]:
    """The ``count`` days ending with ``today``, oldest first."""
    return [today - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def bar_chart(
    chart_id: str,
    counts: Sequence[tuple[date, int]],
    title: str,
    description: str,
    axis: AxisUnit = "day",
    locale: str = "fr",
    show_values: bool = True,
) -> str:
    """One bar per day, its count above it (zero days drawn as a thin line).

    ``show_values=False`` leaves the counts to each bar's tooltip and the page's table, for
    a month of bars too narrow for their numbers."""
    parts = _frame(chart_id, title, description)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    highest = max((count for _day, count in counts), default=0) or 1
    slot = plot_w / max(len(counts), 1)
    bar_w = round(slot * 0.7, 1)
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{highest}</text>'
    )
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>'
    )
    for index, (day, count) in enumerate(counts):
        bar_h = max(round(count / highest * plot_h, 1), 1.0)
        x = round(LEFT + index * slot + (slot - bar_w) / 2, 1)
        y = round(HEIGHT - BOTTOM - bar_h, 1)
        label = escape(axis_label(day, axis, locale))
        parts.append(
            f'<rect class="bar" x="{x}" y="{y}" width="{bar_w}" height="{bar_h}">'
            f"<title>{label}: {count}</title></rect>"
        )
        if count and show_values:
            parts.append(
                f'<text class="bar-value" x="{round(x + bar_w / 2, 1)}" y="{y - 3}"'
                f' text-anchor="middle">{count}</text>'
            )
        if index % 2 == 0 or len(counts) <= 7:
            parts.append(
                f'<text class="tick" x="{round(x + bar_w / 2, 1)}" y="{HEIGHT - 8}"'
                f' text-anchor="middle">{label}</text>'
            )
    parts.append("</svg>")
    return "\n".join(parts)
