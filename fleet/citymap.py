"""The city map: Bordeaux Métropole drawn as SVG on the server, no map tiles, nothing from a CDN.

Terminals are placed by an equirectangular projection inside the metropole's bounding box,
corrected by the cosine of the latitude so that a kilometre east reads as long as one north.

Over 400 lines because the projection, the drawing at each scale (detail, compact, clusters),
the communes' outlines and the placement picker all draw on the same box and projection: one
module keeps them from drifting apart.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from fleet.states import TerminalState

#: The metropole's bounding box (degrees), holding its 28 communes' outlines (fleet/geodata:
#: -0.884 to -0.455 east, 44.741 to 45.040 north) with room for their names; terminals outside are
#: drawn on the edge.
SOUTH: Final = 44.73
NORTH: Final = 45.05
WEST: Final = -0.90
EAST: Final = -0.42
#: The drawing's width in SVG units; the height follows from the box's true proportions.
WIDTH: Final = 800.0
MARGIN: Final = 20.0
GRATICULE_STEP_DEG: Final = 0.05
#: Above this many placed terminals, the plan draws each state as one compact SVG path of dots
#: (a few hundred kilobytes fewer than a link per terminal, and fast to draw); only the lost
#: terminals, up to ``LINKED_LOST_MAX``, stay individual links on top.
DETAIL_MAX: Final = 200
LINKED_LOST_MAX: Final = 200
COMPACT_DOT_RADIUS: Final = 2.5

#: A few communes, at their town hall, so that the plan can be read without a map.
COMMUNES: Final = (
    ("Bordeaux", 44.8378, -0.5792),
    ("Mérignac", 44.8386, -0.6436),
    ("Pessac", 44.8067, -0.6311),
    ("Talence", 44.8060, -0.5880),
    ("Bègles", 44.8086, -0.5478),
    ("Villenave-d'Ornon", 44.7806, -0.5658),
    ("Le Bouscat", 44.8651, -0.5986),
    ("Bruges", 44.8833, -0.6122),
    ("Eysines", 44.8839, -0.6497),
    ("Blanquefort", 44.9106, -0.6364),
    ("Lormont", 44.8792, -0.5217),
    ("Cenon", 44.8578, -0.5317),
    ("Floirac", 44.8361, -0.5289),
    ("Saint-Médard-en-Jalles", 44.8967, -0.7200),
    ("Ambarès-et-Lagrave", 44.9258, -0.4853),
)

#: The Garonne through the metropole, roughly (south to north), for orientation.
GARONNE: Final = (
    (44.700, -0.520),
    (44.760, -0.545),
    (44.800, -0.548),
    (44.825, -0.556),
    (44.845, -0.567),
    (44.862, -0.555),
    (44.880, -0.540),
    (44.910, -0.548),
    (44.950, -0.560),
    (45.000, -0.590),
)

STATE_COLOURS: Final[Mapping[str, str]] = {
    TerminalState.ONLINE: "#0f6b2f",
    TerminalState.OFFLINE: "#4a5563",
    TerminalState.LOST: "#a3120b",
    TerminalState.UNKNOWN: "#b07d00",
}


@dataclass(frozen=True)
class PlacedTerminal:
    """What the plan needs of a terminal."""

    terminal_id: str
    state: str
    state_text: str
    site_name: str | None
    commune: str | None
    latitude: float | None
    longitude: float | None

    @property
    def placed(self) -> bool:
        return self.latitude is not None and self.longitude is not None


def _x_scale() -> float:
    """Degrees of longitude are shorter than degrees of latitude by cos(latitude)."""
    return math.cos(math.radians((SOUTH + NORTH) / 2))


@cache
def height() -> float:
    inner_width = WIDTH - 2 * MARGIN
    return inner_width * (NORTH - SOUTH) / ((EAST - WEST) * _x_scale()) + 2 * MARGIN


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """SVG coordinates of a point, clamped to the box (north up)."""
    lat = min(max(latitude, SOUTH), NORTH)
    lon = min(max(longitude, WEST), EAST)
    x = MARGIN + (lon - WEST) / (EAST - WEST) * (WIDTH - 2 * MARGIN)
    y = MARGIN + (NORTH - lat) / (NORTH - SOUTH) * (height() - 2 * MARGIN)
    return round(x, 1), round(y, 1)


def in_box(latitude: float, longitude: float) -> bool:
    return SOUTH <= latitude <= NORTH and WEST <= longitude <= EAST


def _graticule() -> Iterable[str]:
    steps_lat = round((NORTH - SOUTH) / GRATICULE_STEP_DEG)
    steps_lon = round((EAST - WEST) / GRATICULE_STEP_DEG)
    for index in range(steps_lat + 1):
        lat = SOUTH + index * GRATICULE_STEP_DEG
        x1, y = project(lat, WEST)
        x2, _y = project(lat, EAST)
        yield f'<line class="graticule" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}"/>'
        yield f'<text class="graticule-label" x="{x1 + 2}" y="{y - 2}">{lat:.2f}°</text>'
    for index in range(steps_lon + 1):
        lon = WEST + index * GRATICULE_STEP_DEG
        x, y1 = project(NORTH, lon)
        _x, y2 = project(SOUTH, lon)
        yield f'<line class="graticule" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}"/>'
        if 0 < index < steps_lon:  # the corners already carry a latitude
            yield f'<text class="graticule-label" x="{x + 2}" y="{y2 - 2}">{lon:.2f}°</text>'


def _river() -> str:
    points = " ".join(f"{x},{y}" for x, y in (project(lat, lon) for lat, lon in GARONNE))
    return f'<polyline class="river" points="{points}"/>'


def _communes() -> Iterable[str]:
    for name, lat, lon in COMMUNES:
        x, y = project(lat, lon)
        yield f'<circle class="commune-dot" cx="{x}" cy="{y}" r="2"/>'
        yield f'<text class="commune-label" x="{x + 4}" y="{y - 4}">{escape(name)}</text>'


def terminal_label(terminal: PlacedTerminal) -> str:
    parts = [terminal.terminal_id]
    if terminal.site_name:
        parts.append(terminal.site_name)
    if terminal.commune:
        parts.append(terminal.commune)
    parts.append(terminal.state_text)
    return " · ".join(parts)


def _terminal_dot(terminal: PlacedTerminal) -> str:
    if terminal.latitude is None or terminal.longitude is None:
        raise ValueError(f"{terminal.terminal_id} has no coordinates")
    x, y = project(terminal.latitude, terminal.longitude)
    colour = STATE_COLOURS.get(terminal.state, STATE_COLOURS[TerminalState.UNKNOWN])
    label = terminal_label(terminal)
    return (
        f'<a class="plan-terminal" id="plan-{escape(terminal.terminal_id)}"'
        f' href="/terminals/{escape(terminal.terminal_id)}" data-state={quoteattr(terminal.state)}'
        f" aria-label={quoteattr(label)}>"
        f"<title>{escape(label)}</title>"
        f'<circle class="plan-dot state-{escape(terminal.state)}" cx="{x}" cy="{y}" r="7"'
        f' fill="{colour}"/>'
        f'<text class="plan-terminal-label" x="{x + 9}" y="{y + 4}">'
        f"{escape(terminal.terminal_id)}</text></a>"
    )


Dot = tuple[str, float | None, float | None]


def compact_dots(dots: Iterable[Dot]) -> Iterable[str]:
    """One path per state, each dot a zero-length round-capped segment: thousands of dots in
    a few elements. ``dots`` are (state, latitude, longitude); lost terminals come last, on top.
    """
    x_step = (WIDTH - 2 * MARGIN) / (EAST - WEST)
    y_step = (height() - 2 * MARGIN) / (NORTH - SOUTH)
    by_state: dict[str, set[tuple[int, int]]] = {}
    counts: dict[str, int] = {}
    for state, latitude, longitude in dots:
        if latitude is None or longitude is None:
            continue
        counts[state] = counts.get(state, 0) + 1
        # project(), inlined and to the whole unit (a dot is 5 units wide): this loop runs
        # once per terminal of the fleet, and dots on the same unit are drawn once.
        x = round(MARGIN + (min(max(longitude, WEST), EAST) - WEST) * x_step)
        y = round(MARGIN + (NORTH - min(max(latitude, SOUTH), NORTH)) * y_step)
        by_state.setdefault(state, set()).add((x, y))
    order = sorted(by_state, key=lambda state: (state == TerminalState.LOST, state))
    for state in order:
        colour = STATE_COLOURS.get(state, STATE_COLOURS[TerminalState.UNKNOWN])
        yield (
            f'<path class="plan-dots state-{escape(state)}" data-state={quoteattr(state)}'
            f' data-count="{counts[state]}" stroke="{colour}"'
            f' stroke-width="{2 * COMPACT_DOT_RADIUS}" stroke-linecap="round" fill="none"'
            f' d="{"".join(f"M{x} {y}h0" for x, y in sorted(by_state[state]))}"/>'
        )


def _frame(title: str, description: str, interactive: bool = False) -> list[str]:
    """The drawing's frame, graticule and communes. ``interactive``: it holds links, so it is
    a group, not an image (an image's content is presentational: links in it are the "nested
    interactive" that axe reports)."""
    view_height = round(height(), 1)
    role = "group" if interactive else "img"
    background: tuple[str, ...] = ()
    foreground: tuple[str, ...] = ()
    if communes_svg() is not None:
        background = (_communes_layer(),)
    else:
        foreground = (_river(), *_communes())
    return [
        f'<svg class="plan" id="plan-svg" viewBox="0 0 {WIDTH:.0f} {view_height}"'
        f' role="{role}" aria-labelledby="plan-title plan-desc"'
        ' xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="plan-title">{escape(title)}</title>',
        f'<desc id="plan-desc">{escape(description)}</desc>',
        f'<rect class="plan-frame" x="{MARGIN}" y="{MARGIN}" width="{WIDTH - 2 * MARGIN}"'
        f' height="{round(view_height - 2 * MARGIN, 1)}"/>',
        *background,
        *_graticule(),
        *foreground,
    ]


def render_compact_plan(
    dots: Iterable[Dot],
    linked: Iterable[PlacedTerminal],
    title: str,
    description: str,
) -> str:
    """The plan of a large fleet: every dot in one path per state, ``linked`` terminals (the
    lost ones, a bounded number) as titled links on top."""
    parts = _frame(title, description, interactive=True)
    parts.extend(compact_dots(dots))
    parts.extend(_terminal_dot(terminal) for terminal in linked if terminal.placed)
    parts.append("</svg>")
    return "\n".join(parts)


def render_plan(
    terminals: Iterable[PlacedTerminal],
    title: str,
    description: str,
    detail_max: int = DETAIL_MAX,
) -> str:
    """The SVG document (inline in the page) with every placed terminal as a coloured dot.

    Up to ``detail_max`` placed terminals, each is a titled link to its page; beyond, the dots
    are drawn as one path per state and only the lost terminals stay links.
    """
    parts = _frame(title, description, interactive=True)
    # Lost terminals last, so that they are drawn on top of their neighbours.
    placed = [terminal for terminal in terminals if terminal.placed]
    placed.sort(key=lambda terminal: (terminal.state == TerminalState.LOST, terminal.terminal_id))
    if len(placed) <= detail_max:
        parts.extend(_terminal_dot(terminal) for terminal in placed)
    else:
        parts.extend(
            compact_dots(
                (terminal.state, terminal.latitude, terminal.longitude)
                for terminal in placed
                if terminal.latitude is not None and terminal.longitude is not None
            )
        )
        lost = [terminal for terminal in placed if terminal.state == TerminalState.LOST]
        parts.extend(_terminal_dot(terminal) for terminal in lost[:LINKED_LOST_MAX])
    parts.append("</svg>")
    return "\n".join(parts)


# --- Clusters: a grid at the map's scale, counted in the database --------------------------

#: The cluster grid, in whole fractions of a degree so that the database's expression (and
#: its index) is exact and readable: 1/40° of longitude (2.0 km here) by 1/60° of latitude
#: (1.9 km): 16 × 18 cells over the metropole's box, so the plan of any fleet, 50 terminals or
#: 100,000, has at most 288 clusters (a few tens of kilobytes of SVG).
CELLS_PER_DEGREE_LON: Final = 40
CELLS_PER_DEGREE_LAT: Final = 60
#: States from the worst: a cluster takes the colour of the worst state among its terminals.
SEVERITY: Final[tuple[str, ...]] = (
    TerminalState.LOST,
    TerminalState.OFFLINE,
    TerminalState.UNKNOWN,
    TerminalState.ONLINE,
)


def cell_degrees() -> tuple[float, float]:
    """(latitude, longitude) span of one cell, in degrees."""
    return 1 / CELLS_PER_DEGREE_LAT, 1 / CELLS_PER_DEGREE_LON


def grid_size() -> tuple[int, int]:
    """(columns, rows) of the cluster grid."""
    return (
        round((EAST - WEST) * CELLS_PER_DEGREE_LON),
        round((NORTH - SOUTH) * CELLS_PER_DEGREE_LAT),
    )


def cell_of(latitude: float, longitude: float) -> tuple[int, int]:
    """The cell of a point, as the database computes it, clamped: a terminal outside the
    box counts in the edge cell, where the plan has always drawn it."""
    columns, rows = grid_size()
    column = math.floor((longitude - WEST) * CELLS_PER_DEGREE_LON)
    row = math.floor((NORTH - latitude) * CELLS_PER_DEGREE_LAT)
    return min(max(column, 0), columns - 1), min(max(row, 0), rows - 1)


def cell_centre(column: int, row: int) -> tuple[float, float]:
    """(latitude, longitude) of a cell's centre."""
    lat_step, lon_step = cell_degrees()
    return NORTH - (row + 0.5) * lat_step, WEST + (column + 0.5) * lon_step


def parse_cell(text: str) -> tuple[int, int] | None:
    """``"column-row"`` of a cell of the grid, or None for anything else."""
    parts = text.split("-")
    if len(parts) != 2 or not all(part.isdigit() and len(part) <= 3 for part in parts):
        return None
    column, row = int(parts[0]), int(parts[1])
    columns, rows = grid_size()
    if column >= columns or row >= rows:
        return None
    return column, row


@dataclass(frozen=True)
class Cell:
    """One cluster: how many terminals of each state stand in a cell, and where on average."""

    column: int
    row: int
    by_state: Mapping[str, int]

    @property
    def count(self) -> int:
        return sum(self.by_state.values())

    @property
    def worst(self) -> str:
        return next(
            (state for state in SEVERITY if self.by_state.get(state)), TerminalState.UNKNOWN
        )

    @property
    def key(self) -> str:
        return f"{self.column}-{self.row}"


def merge_cells(rows: Iterable[tuple[int, int, str, int]]) -> list[Cell]:
    """Cells from the database's GROUP BY (column, row, state) → count: at most cells ×
    states rows, whatever the fleet's size. Cells outside the box are clamped to its edge."""
    columns, grid_rows = grid_size()
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for column, row, state, count in rows:
        key = (min(max(int(column), 0), columns - 1), min(max(int(row), 0), grid_rows - 1))
        by_state = counts.setdefault(key, {})
        by_state[state] = by_state.get(state, 0) + int(count)
    return [Cell(key[0], key[1], by_state) for key, by_state in sorted(counts.items())]


def cluster_radius(count: int) -> float:
    """From 7 units for one terminal to about the half cell for thousands (log scale)."""
    return round(min(7 + 3 * math.log10(max(count, 1)), 16), 1)


def render_cluster_plan(
    cells: Iterable[Cell],
    title: str,
    description: str,
    cell_label: Callable[[Cell], str],
    count_text: Callable[[int], str],
    cell_link: Callable[[Cell], str],
) -> str:
    """The plan of a large fleet: one titled link per non-empty cell of the grid (a circle
    whose size grows with the count, coloured by the worst state, the count written in it),
    each opening the table filtered to that cell. Bounded by the grid, not by the fleet."""
    parts = _frame(title, description, interactive=True)
    for cell in cells:
        # Whole units: a cluster is at least 14 units wide, and a few hundred of them are
        # a good part of the page's bytes.
        x, y = (round(value) for value in project(*cell_centre(cell.column, cell.row)))
        worst = cell.worst
        parts.append(
            f'<a class="plan-cell" href={quoteattr(cell_link(cell))} data-state="{worst}"'
            f' data-count="{cell.count}"><title>{escape(cell_label(cell))}</title>'
            f'<circle cx="{x}" cy="{y}" r="{cluster_radius(cell.count):g}"'
            f' fill="{STATE_COLOURS.get(worst, STATE_COLOURS[TerminalState.UNKNOWN])}"/>'
            f'<text x="{x}" y="{y + 4}">{escape(count_text(cell.count))}</text></a>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


# --- Commune outlines, from open boundary data shipped with the fleet ----------------------

#: The 28 communes' outlines (see fleet/geodata/README.md for the source and the licence).
GEODATA: Final = Path(__file__).resolve().parent / "geodata" / "communes-bordeaux-metropole.geojson"


@dataclass(frozen=True)
class CommuneOutline:
    code: str
    name: str
    rings: tuple[tuple[tuple[float, float], ...], ...] = field(repr=False)


def _rings(geometry: Mapping[str, Any]) -> Iterable[tuple[tuple[float, float], ...]]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    for polygon in polygons:
        for ring in polygon:
            yield tuple((float(lon), float(lat)) for lon, lat, *_rest in ring)


def load_outlines(path: Path = GEODATA) -> tuple[CommuneOutline, ...]:
    """The communes in the shipped GeoJSON file; none when the file is not there."""
    if not path.is_file():
        return ()
    collection = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        CommuneOutline(
            str(feature["properties"]["code"]),
            str(feature["properties"]["nom"]),
            tuple(_rings(feature["geometry"])),
        )
        for feature in collection["features"]
    )


def _label_point(ring: tuple[tuple[float, float], ...]) -> tuple[float, float]:
    """Where a commune's name goes: its outer ring's centroid (by area, not the mean of its
    vertices, which the long river banks pull aside); inside for these compact shapes."""
    area = lon_sum = lat_sum = 0.0
    for (x1, y1), (x2, y2) in pairwise(ring):
        cross = x1 * y2 - x2 * y1
        area += cross
        lon_sum += (x1 + x2) * cross
        lat_sum += (y1 + y2) * cross
    if area == 0:
        return ring[0]
    return lon_sum / (3 * area), lat_sum / (3 * area)


#: Where the dashboard serves :func:`communes_svg` (fleet.api.routes.placement): one cached file
#: instead of some 21 kB of outlines in every page that draws the plan.
COMMUNES_SVG_PATH: Final = "/plan/communes.svg"
#: Its colours, inline (the page's style sheet does not reach inside an image).
OUTLINE_STYLE: Final = 'fill="#eef2f5" stroke="#8a94a0" stroke-width="1"'
NAME_STYLE: Final = (
    'font-family="system-ui, sans-serif" font-size="10" fill="#4a5563" paint-order="stroke"'
    ' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" text-anchor="middle"'
)


@cache
def _outlines_svg() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The communes' outlines, and their names (drawn last, above the outlines)."""
    outlines: list[str] = []
    names: list[str] = []
    for commune in load_outlines(GEODATA):
        path = "".join(
            "M" + "L".join(f"{x},{y}" for x, y in (project(lat, lon) for lon, lat in ring)) + "Z"
            for ring in commune.rings
        )
        outlines.append(
            f'<path class="commune-outline" data-insee="{commune.code}" {OUTLINE_STYLE}'
            f' d="{path}"/>'
        )
        lon, lat = _label_point(commune.rings[0])
        x, y = project(lat, lon)
        names.append(
            f'<text class="commune-name" x="{x}" y="{y}" {NAME_STYLE}>{escape(commune.name)}</text>'
        )
    return tuple(outlines), tuple(names)


@cache
def communes_svg() -> str | None:
    """The communes' outlines and names as a standalone SVG on the plan's own coordinates (its
    viewBox is the plan's), or None without the shipped data file."""
    outlines, names = _outlines_svg()
    if not outlines:
        return None
    return "\n".join(
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:.0f}'
            f' {round(height(), 1)}" width="{WIDTH:.0f}" height="{round(height(), 1)}">',
            *outlines,
            *names,
            "</svg>",
        )
    )


def _communes_layer() -> str:
    """The plan's background of communes: the cached file, drawn over the whole frame."""
    return (
        f'<image class="commune-layer" href="{COMMUNES_SVG_PATH}" x="0" y="0"'
        f' width="{WIDTH:.0f}" height="{round(height(), 1)}"/>'
    )


def render_picker(
    latitude: float | None, longitude: float | None, title: str, description: str
) -> str:
    """The plan to click on to place a terminal (fleet/static/placement.js reads the box from
    its data attributes to turn a click into coordinates), with the terminal's current place."""
    parts = _frame(title, description)
    box = (
        f' id="place-svg" data-south="{SOUTH}" data-north="{NORTH}" data-west="{WEST}"'
        f' data-east="{EAST}" data-margin="{MARGIN}" data-width="{WIDTH}"'
        f' data-height="{round(height(), 3)}"'
    )
    parts[0] = parts[0].replace(' id="plan-svg"', box, 1)
    parts[0] = parts[0].replace(
        'aria-labelledby="plan-title plan-desc"', 'aria-labelledby="place-title place-desc"'
    )
    parts[1] = parts[1].replace('id="plan-title"', 'id="place-title"')
    parts[2] = parts[2].replace('id="plan-desc"', 'id="place-desc"')
    hidden = "" if latitude is not None and longitude is not None else ' visibility="hidden"'
    x, y = (
        project(latitude, longitude) if latitude is not None and longitude is not None else (0, 0)
    )
    parts.append(
        f'<circle id="place-marker" class="place-marker" cx="{x}" cy="{y}" r="9"{hidden}/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
