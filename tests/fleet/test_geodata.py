"""The communes' outlines: extraction of the 28 from a public GeoJSON, and drawing them."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from fleet import citymap
from fleet.core.config import FleetSettings
from fleet.geodata import extract
from fleet.main import create_app
from tests.helpers import log_in

SVG = "{http://www.w3.org/2000/svg}"


def square(lon: float, lat: float, jagged: bool = False) -> list[list[float]]:
    """A small square ring (test geometry only), optionally with collinear noise points."""
    ring = [[lon, lat], [lon + 0.01, lat], [lon + 0.01, lat + 0.01], [lon, lat + 0.01]]
    if jagged:
        ring = [[lon + 0.001 * i, lat + (1e-6 if i % 2 else 0)] for i in range(10)] + ring[1:]
    return [*ring, ring[0]]


def source(codes: list[str]) -> dict[str, Any]:
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [square(-0.7 + i * 0.01, 44.8, i == 0)]},
            "properties": {"code": code, "nom": "x"},
        }
        for i, code in enumerate(codes)
    ]
    return {"type": "FeatureCollection", "features": features}


def test_the_28_communes_are_kept_by_insee_code_and_simplified() -> None:
    assert len(extract.COMMUNES) == 28
    collection = extract.extract(source([*extract.COMMUNES, "33200X", "33001"]))
    codes = [feature["properties"]["code"] for feature in collection["features"]]
    assert codes == sorted(extract.COMMUNES)
    # Names from the list, not from the input; the jagged edge lost its noise.
    first = collection["features"][0]
    assert first["properties"]["nom"] == extract.COMMUNES[codes[0]]
    ring = first["geometry"]["coordinates"][0][0]
    assert len(ring) == 5


def test_an_input_missing_a_commune_is_refused() -> None:
    with pytest.raises(ValueError, match="33550 Villenave-d'Ornon"):
        extract.extract(source([code for code in extract.COMMUNES if code != "33550"]))


def test_the_plan_draws_shipped_outlines_and_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "communes.geojson"
    data.write_text(json.dumps(extract.extract(source(list(extract.COMMUNES)))), "utf-8")
    monkeypatch.setattr(citymap, "GEODATA", data)
    clear_caches()
    try:
        root = ElementTree.fromstring(citymap.render_plan([], "t", "d"))
        layer = ElementTree.fromstring(citymap.communes_svg() or "")
    finally:
        clear_caches()
    outlines = [path for path in layer.iter(f"{SVG}path") if path.get("class") == "commune-outline"]
    assert sorted(path.get("data-insee") or "" for path in outlines) == sorted(extract.COMMUNES)
    names = {text.text for text in layer.iter(f"{SVG}text") if text.get("class") == "commune-name"}
    assert names == set(extract.COMMUNES.values())
    # The plan draws them from the one cached file, on its own coordinates; no schematic river.
    images = [image for image in root.iter(f"{SVG}image") if image.get("class") == "commune-layer"]
    assert [image.get("href") for image in images] == [citymap.COMMUNES_SVG_PATH]
    assert layer.get("viewBox") == root.get("viewBox")
    assert root.find(f"{SVG}polyline") is None


def clear_caches() -> None:
    citymap._outlines_svg.cache_clear()
    citymap.communes_svg.cache_clear()


def test_without_the_data_file_no_outline_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(citymap, "GEODATA", tmp_path / "absent.geojson")
    clear_caches()
    try:
        svg = citymap.render_plan([], "t", "d")
        assert citymap.communes_svg() is None
    finally:
        clear_caches()
    assert "commune-layer" not in svg


# --- The shipped file: the 28 real outlines -----------------------------------------------


def _shipped() -> list[dict[str, Any]]:
    assert citymap.GEODATA.is_file(), "fleet/geodata/communes-bordeaux-metropole.geojson is missing"
    features: list[dict[str, Any]] = json.loads(citymap.GEODATA.read_text("utf-8"))["features"]
    return features


def _inside(lon: float, lat: float, ring: list[list[float]]) -> bool:
    """Even-odd rule: a horizontal ray from the point crosses the ring an odd number of times."""
    crossings = 0
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            crossings += 1
    return crossings % 2 == 1


def test_the_shipped_file_holds_the_28_communes_inside_the_plan() -> None:
    features = _shipped()
    assert {f["properties"]["code"]: f["properties"]["nom"] for f in features} == (extract.COMMUNES)
    assert citymap.GEODATA.stat().st_size < 150_000
    for feature in features:
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert len(ring) >= 4, feature["properties"]["nom"]
                assert ring[0] == ring[-1], feature["properties"]["nom"]
                for lon, lat in ring:
                    assert citymap.WEST < lon < citymap.EAST
                    assert citymap.SOUTH < lat < citymap.NORTH


def test_each_town_hall_on_the_plan_lies_in_its_own_commune() -> None:
    """A check of the data against independent facts: a commune's outline holds its town hall
    (fleet.citymap.COMMUNES) and no other commune's does."""
    outer = {f["properties"]["nom"]: f["geometry"]["coordinates"][0][0] for f in _shipped()}
    for name, lat, lon in citymap.COMMUNES:
        assert [n for n, ring in outer.items() if _inside(lon, lat, ring)] == [name]


def test_neighbours_share_their_borders_exactly() -> None:
    """Transcribed or simplified on their own, neighbouring outlines would leave gaps: each
    commune shares vertices with at least one other, Bordeaux with its ten neighbours."""
    owners: dict[tuple[float, float], set[str]] = {}
    for feature in _shipped():
        for polygon in feature["geometry"]["coordinates"]:
            for lon, lat in polygon[0]:
                owners.setdefault((lon, lat), set()).add(feature["properties"]["nom"])
    neighbours: dict[str, set[str]] = {name: set() for name in extract.COMMUNES.values()}
    for names in owners.values():
        for name in names:
            neighbours[name] |= names - {name}
    assert all(neighbours.values()), [n for n, near in neighbours.items() if not near]
    assert {"Mérignac", "Pessac", "Talence", "Bègles", "Le Bouscat", "Lormont", "Cenon"} <= (
        neighbours["Bordeaux"]
    )


def test_the_dashboard_serves_the_shipped_outlines_once_and_credits_them(
    settings: FleetSettings,
) -> None:
    clear_caches()
    with TestClient(create_app(settings, start_ingest=False)) as client:
        answer = client.get(citymap.COMMUNES_SVG_PATH)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert "max-age" in answer.headers["cache-control"]
        layer = ElementTree.fromstring(answer.text)
        drawn = [p for p in layer.iter(f"{SVG}path") if p.get("class") == "commune-outline"]
        assert len(drawn) == 28
        assert log_in(client).status_code == 303
        page = client.get("/").text
    assert f'href="{citymap.COMMUNES_SVG_PATH}"' in page
    assert "commune-outline" not in page  # in the cached file, not in every page
    assert "Contours des communes : IGN (GEOFLA) via france-geojson, Licence Ouverte." in page
