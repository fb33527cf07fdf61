"""The observatory's SVG charts, drawn as :mod:`fleet.charts` draws the dashboard's.

Only published figures are drawn: a hidden cell is a gap marked "s" (secret), never a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from fleet.charts import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, _frame


def labelled_bars(
    chart_id: str,
    bars: Sequence[tuple[str, int | None]],
    title: str,
    description: str,
    secret: str = "s",
) -> str:
    """One bar per label; ``None`` (a figure under the secret) is drawn as ``secret``."""
    parts = _frame(chart_id, title, description)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    highest = max((v for _label, v in bars if v is not None), default=0) or 1
    slot = plot_w / max(len(bars), 1)
    bar_w = round(slot * 0.7, 1)
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{highest}</text>'
    )
    parts.append(
        f'<text class="tick" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>'
    )
    every = max(1, len(bars) // 12)
    for index, (label, value) in enumerate(bars):
        x = round(LEFT + index * slot + (slot - bar_w) / 2, 1)
        shown = escape(label)
        middle = round(x + bar_w / 2, 1)
        if value is None:
            parts.append(
                f'<text class="bar-secret" x="{middle}" y="{HEIGHT - BOTTOM - 4}"'
                f' text-anchor="middle">{escape(secret)}<title>{shown}: {escape(secret)}</title>'
                "</text>"
            )
        else:
            bar_h = max(round(value / highest * plot_h, 1), 1.0)
            y = round(HEIGHT - BOTTOM - bar_h, 1)
            parts.append(
                f'<rect class="bar" x="{x}" y="{y}" width="{bar_w}" height="{bar_h}">'
                f"<title>{shown}: {value}</title></rect>"
            )
            if value and len(bars) <= 16:
                parts.append(
                    f'<text class="bar-value" x="{middle}" y="{y - 3}"'
                    f' text-anchor="middle">{value}</text>'
                )
        if index % every == 0:
            parts.append(
                f'<text class="tick" x="{middle}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(label[:10])}</text>"
            )
    parts.append("</svg>")
    return "\n".join(parts)
