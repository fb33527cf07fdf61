"""Make ``communes-bordeaux-metropole.geojson`` from a public GeoJSON of the Gironde's communes.

    python -m fleet.geodata.extract communes-33-gironde.geojson

keeps the 28 communes of Bordeaux Métropole by INSEE code, simplifies their outlines
(Douglas-Peucker, ``--tolerance`` degrees), rounds coordinates to 5 decimals (about a metre) and
writes the file beside this script. It refuses an input that lacks any of the 28. The source,
its licence and the list's own source are in README.md. The fleet draws the file when it is
there (``fleet.citymap.load_outlines``) and the plain plan when it is not: no outline is invented.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

#: Bordeaux Métropole (EPCI SIREN 243300316): its 28 communes by INSEE code, as listed by
#: Etalab's ``@etalab/decoupage-administratif`` 6.0.0 (data/epci.json), Licence Ouverte.
COMMUNES: Final = {
    "33003": "Ambarès-et-Lagrave",
    "33004": "Ambès",
    "33013": "Artigues-près-Bordeaux",
    "33032": "Bassens",
    "33039": "Bègles",
    "33056": "Blanquefort",
    "33063": "Bordeaux",
    "33065": "Bouliac",
    "33069": "Le Bouscat",
    "33075": "Bruges",
    "33096": "Carbon-Blanc",
    "33119": "Cenon",
    "33162": "Eysines",
    "33167": "Floirac",
    "33192": "Gradignan",
    "33200": "Le Haillan",
    "33249": "Lormont",
    "33273": "Martignas-sur-Jalle",
    "33281": "Mérignac",
    "33312": "Parempuyre",
    "33318": "Pessac",
    "33376": "Saint-Aubin-de-Médoc",
    "33434": "Saint-Louis-de-Montferrand",
    "33449": "Saint-Médard-en-Jalles",
    "33487": "Saint-Vincent-de-Paul",
    "33519": "Le Taillan-Médoc",
    "33522": "Talence",
    "33550": "Villenave-d'Ornon",
}
OUTPUT: Final = Path(__file__).resolve().parent / "communes-bordeaux-metropole.geojson"
DEFAULT_TOLERANCE: Final = 0.0004

Point = tuple[float, float]


def _distance(point: Point, start: Point, end: Point) -> float:
    """Distance of ``point`` to the segment ``start``–``end`` (degrees, flat: small areas)."""
    (x, y), (x1, y1), (x2, y2) = point, start, end
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(x - x1, y - y1)
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - (x1 + t * dx), y - (y1 + t * dy))


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker, iterative (rings of thousands of points)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        index, farthest = first, 0.0
        for middle in range(first + 1, last):
            distance = _distance(points[middle], points[first], points[last])
            if distance > farthest:
                index, farthest = middle, distance
        if farthest > tolerance:
            keep[index] = True
            stack.extend(((first, index), (index, last)))
    return [point for point, kept in zip(points, keep, strict=True) if kept]


def simplify_ring(ring: Sequence[Sequence[float]], tolerance: float) -> list[list[float]]:
    points = [(float(point[0]), float(point[1])) for point in ring]
    simplified = simplify(points, tolerance)
    if len(simplified) < 4:  # a ring needs 3 distinct points and its closing one
        simplified = points
    return [[round(x, 5), round(y, 5)] for x, y in simplified]


def _polygons(geometry: Mapping[str, Any]) -> list[Any]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return list(geometry["coordinates"])
    raise ValueError(f"not a polygon: {geometry['type']}")


def extract(source: Mapping[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The 28 communes of ``source`` (a FeatureCollection with ``code``/``nom`` properties, as
    in the public extracts of IGN's boundaries), simplified."""
    found: dict[str, Any] = {}
    for feature in source["features"]:
        properties = feature.get("properties", {})
        code = str(properties.get("code") or properties.get("INSEE_COM") or "")
        if code in COMMUNES:
            polygons = [
                [simplify_ring(ring, tolerance) for ring in polygon]
                for polygon in _polygons(feature["geometry"])
            ]
            found[code] = {
                "type": "Feature",
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                "properties": {"code": code, "nom": COMMUNES[code]},
            }
    missing = sorted(set(COMMUNES) - set(found))
    if missing:
        raise ValueError("missing communes: " + ", ".join(f"{c} {COMMUNES[c]}" for c in missing))
    return {"type": "FeatureCollection", "features": [found[code] for code in sorted(found)]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("source", type=Path, help="GeoJSON of the Gironde's communes")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    collection = extract(json.loads(args.source.read_text(encoding="utf-8")), args.tolerance)
    text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
    args.output.write_text(text + "\n", encoding="utf-8")
    print(f"{args.output}: {len(collection['features'])} communes, {len(text)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
