"""Finding a terminal's coordinates from an address, for placing it from the dashboard.

One interface, the BAN's (Base Adresse Nationale, ``/search/?q=…&limit=…`` answering a GeoJSON
``FeatureCollection`` of points with ``label`` and ``score``): production may set
``FLEET_GEOCODER_URL`` to the public service or to its own copy. The default, in tests and the
demo, is a local stand-in: a small offline table (the town halls the plan already names), read
through the same parsing as the service's answers. Nothing leaves the machine by default.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import httpx

from fleet.citymap import COMMUNES

#: The longest address accepted (the BAN refuses queries of more than 200 characters).
MAX_QUERY_LENGTH: Final = 200
#: Seconds to wait for a configured geocoder.
TIMEOUT_S: Final = 5.0


@dataclass(frozen=True)
class Address:
    label: str
    latitude: float
    longitude: float
    score: float


class GeocoderError(Exception):
    """The geocoder could not be asked (unreachable, refused, or answered nonsense)."""


class Geocoder(Protocol):
    def search(self, query: str, limit: int = 5) -> Sequence[Address]: ...


def parse_ban(document: Mapping[str, Any]) -> list[Address]:
    """The addresses of a BAN answer (GeoJSON points), best first."""
    found = []
    try:
        for feature in document.get("features", []):
            longitude, latitude = feature["geometry"]["coordinates"][:2]
            properties = feature.get("properties", {})
            found.append(
                Address(
                    str(properties.get("label", "")),
                    float(latitude),
                    float(longitude),
                    float(properties.get("score", 0.0)),
                )
            )
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise GeocoderError(f"not a BAN answer: {error}") from error
    return sorted(found, key=lambda address: -address.score)


class BanGeocoder:
    """The BAN's API at ``base_url`` (for instance the public service, or a copy of it)."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=TIMEOUT_S)

    def search(self, query: str, limit: int = 5) -> Sequence[Address]:
        try:
            response = self.client.get(
                f"{self.base_url}/search/", params={"q": query, "limit": str(limit)}
            )
            response.raise_for_status()
            return parse_ban(response.json())[:limit]
        except (httpx.HTTPError, json.JSONDecodeError) as error:
            raise GeocoderError(str(error)) from error


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    for separator in "-',.;/":
        plain = plain.replace(separator, " ")
    return {word for word in plain.split() if len(word) > 1}


def ban_document(entries: Sequence[tuple[str, float, float]], query: str, limit: int) -> Any:
    """What the BAN would answer for ``query`` if it knew only ``entries`` (label, lat, lon):
    the score is the share of the query's words found in the label."""
    asked = _words(query)
    features: list[dict[str, Any]] = []
    for label, latitude, longitude in entries:
        if not asked:
            break
        score = len(asked & _words(label)) / len(asked)
        if score >= 0.5:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [longitude, latitude]},
                    "properties": {"label": label, "score": round(score, 3)},
                }
            )
    features.sort(key=lambda feature: -float(feature["properties"]["score"]))  # best first
    return {"type": "FeatureCollection", "features": features[:limit]}


#: The offline table: the town halls the plan names (fleet/citymap.py COMMUNES).
TOWN_HALLS: Final = tuple(
    (f"Hôtel de ville, Mairie, {name}", latitude, longitude)
    for name, latitude, longitude in COMMUNES
)


class TableGeocoder:
    """The local stand-in: answers from a small table, as the BAN would (same parsing)."""

    def __init__(self, entries: Sequence[tuple[str, float, float]] = TOWN_HALLS) -> None:
        self.entries = entries

    def search(self, query: str, limit: int = 5) -> Sequence[Address]:
        return parse_ban(ban_document(self.entries, query, limit))


def geocoder_for(url: str) -> Geocoder:
    """The configured geocoder: the BAN's API at ``url``, or the offline table."""
    return BanGeocoder(url) if url else TableGeocoder()
