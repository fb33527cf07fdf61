"""Which places of the guide, in which order, open or not: the guide's logic, without markup.

Nearest first from the terminal's own position (straight-line distance, a direction, minutes on
foot); filters by need, specific support, language, free of charge, open now. "Open now" is
computed on the terminal from the OpenStreetMap opening hours by ``opening-hours-py``, in
Europe/Paris with French public holidays, whatever the system clock's zone. A place's QR code
carries a vCard (name, address, phone, web site) and nothing else.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

import segno
import segno.helpers
from opening_hours import OpeningHours, State, validate

from kiosk.contract.places import SERVICES, SUPPORTS, Place, PlacesFile
from kiosk.ui.i18n import N_

#: The metropole's time zone: "open now" is evaluated there, whatever the system clock's zone.
TIME_ZONE: Final = ZoneInfo("Europe/Paris")
COUNTRY: Final = "FR"
#: Walking pace for "about N minutes on foot" (straight line; said as such).
WALKING_M_PER_MIN: Final = 75.0
#: What a resident looks for, in words they use, for each service of the national format.
NEED_LABELS: Final = {
    "Aide aux démarches administratives": N_("Administrative procedures"),
    "Maîtrise des outils numériques du quotidien": N_("Using a computer or a phone"),
    "Insertion professionnelle via le numérique": N_("Finding a job"),
    "Utilisation sécurisée du numérique": N_("Staying safe online"),
    "Parentalité et éducation avec le numérique": N_("Parents and school"),
    "Loisirs et créations numériques": N_("Leisure and creation"),
    "Compréhension du monde numérique": N_("Understanding the digital world"),
    "Accès internet et matériel informatique": N_("Internet and a computer to use"),
    "Acquisition de matériel informatique à prix solidaire": N_("A low-cost computer"),
}
#: Specific support, in plain words.
SUPPORT_LABELS: Final = {
    "Surdité": N_("Deafness"),
    "Handicaps moteurs": N_("Physical disability"),
    "Handicaps mentaux": N_("Intellectual disability"),
    "Illettrisme": N_("Difficulty reading"),
    "Déficience visuelle": N_("Poor eyesight"),
}
#: The languages the national format can say a place speaks, besides French.
LANGUAGE_LABELS: Final = {
    "Langues étrangères (anglais)": N_("English"),
    "Langues étrangères (autres)": N_("Other languages"),
}
#: The eight directions a place may lie in, from north clockwise.
DIRECTIONS: Final = (
    N_("to the north"),
    N_("to the north-east"),
    N_("to the east"),
    N_("to the south-east"),
    N_("to the south"),
    N_("to the south-west"),
    N_("to the west"),
    N_("to the north-west"),
)

assert set(NEED_LABELS) == set(SERVICES.values)
assert set(SUPPORT_LABELS) | set(LANGUAGE_LABELS) == set(SUPPORTS.values)


@dataclass(frozen=True)
class Filters:
    """The conditions in the guide's address (``?need=1&support=0&lang=1&free=1&open=1``)."""

    need: str | None = None
    support: str | None = None
    language: str | None = None
    free: bool = False
    open_now: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        def pick(key: str, values: tuple[str, ...]) -> str | None:
            raw = query.get(key, "")
            return values[int(raw)] if raw.isdigit() and int(raw) < len(values) else None

        return cls(
            need=pick("need", tuple(NEED_LABELS)),
            support=pick("support", tuple(SUPPORT_LABELS)),
            language=pick("lang", tuple(LANGUAGE_LABELS)),
            free=query.get("free") == "1",
            open_now=query.get("open") == "1",
        )

    def query(self, **changes: object) -> dict[str, str]:
        """This filter set as query items, with ``changes`` applied (``None`` removes one)."""
        current: dict[str, object] = {
            "need": self.need,
            "support": self.support,
            "lang": self.language,
            "free": self.free or None,
            "open": self.open_now or None,
        }
        current.update(changes)
        positions = {
            "need": tuple(NEED_LABELS),
            "support": tuple(SUPPORT_LABELS),
            "lang": tuple(LANGUAGE_LABELS),
        }
        items: dict[str, str] = {}
        for key, value in current.items():
            if value is None or value is False:
                continue
            items[key] = str(positions[key].index(str(value))) if key in positions else "1"
        return items


@dataclass(frozen=True)
class OpenState:
    """Whether a place is open now (``None``: unknown) and when that changes."""

    is_open: bool | None
    next_change: datetime | None = None


@lru_cache(maxsize=8192)
def _parsed(expression: str) -> OpeningHours | None:
    # The same syntax check as the fleet's import: a guide may come from an older fleet.
    if not validate(expression):
        return None
    return OpeningHours(expression, timezone=TIME_ZONE, country=COUNTRY)


def open_state(place: Place, now: datetime) -> OpenState:
    """Open or closed at ``now`` (an aware datetime), from the place's OpenStreetMap hours."""
    hours = _parsed(place.horaires) if place.horaires else None
    if hours is None:
        return OpenState(None)
    # The library wants the zone as a ZoneInfo (``datetime.UTC`` is refused).
    local = now.astimezone(TIME_ZONE)
    state, _comment = hours.state(local)
    if state is State.UNKNOWN:
        return OpenState(None)
    change = hours.next_change(local)
    return OpenState(state is State.OPEN, change)


def week_hours(place: Place, today: date) -> list[tuple[date, list[tuple[time, time]]]]:
    """Opening periods for the 7 days from ``today`` (an empty list: closed that day)."""
    hours = _parsed(place.horaires) if place.horaires else None
    if hours is None:
        return []
    start = datetime.combine(today, time(), TIME_ZONE)
    days: list[tuple[date, list[tuple[time, time]]]] = [
        (today + timedelta(days=i), []) for i in range(7)
    ]
    for begin, end, state, _comments in hours.intervals(start, start + timedelta(days=7)):
        if state is not State.OPEN or end is None:
            continue
        begin_local, end_local = begin.astimezone(TIME_ZONE), end.astimezone(TIME_ZONE)
        index = (begin_local.date() - today).days
        if 0 <= index < 7:
            last = end_local.time() if end_local.date() == begin_local.date() else time(23, 59)
            days[index][1].append((begin_local.time(), last))
    return days


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def bearing_index(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Which of the eight :data:`DIRECTIONS` the second point lies in, seen from the first."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    x = math.sin(dlambda) * math.cos(phi2)
    y = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    degrees = (math.degrees(math.atan2(x, y)) + 360) % 360
    return round(degrees / 45) % 8


def national_phone(phone: str) -> str:
    """``+33556102613`` as a French resident dials it: ``05 56 10 26 13``."""
    if phone.startswith("+33") and len(phone) == 12:
        digits = "0" + phone[3:]
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return phone


@dataclass(frozen=True)
class Listed:
    """A place as the list shows it: the place, its distance, whether it is open."""

    place: Place
    distance: float | None
    state: OpenState


def select_places(
    guide: PlacesFile, filters: Filters, position: tuple[float, float] | None, now: datetime
) -> list[Listed]:
    """The places matching ``filters``, nearest first (places without coordinates last)."""
    chosen: list[Listed] = []
    for place in guide.places:
        if filters.need and filters.need not in place.services:
            continue
        if filters.support and filters.support not in place.supports:
            continue
        if filters.language and filters.language not in place.supports:
            continue
        if filters.free and not ({"Gratuit", "Gratuit sous condition"} & set(place.fees)):
            continue
        state = open_state(place, now)
        if filters.open_now and state.is_open is not True:
            continue
        distance = None
        if position is not None and place.latitude is not None and place.longitude is not None:
            distance = distance_m(position[0], position[1], place.latitude, place.longitude)
        chosen.append(Listed(place, distance, state))
    chosen.sort(key=lambda item: (item.distance is None, item.distance or 0.0, item.place.nom))
    return chosen


def place_vcard(place: Place) -> str:
    """What the QR code carries: a vCard the phone's camera offers to keep, nothing else."""
    return segno.helpers.make_vcard_data(
        name=place.nom,
        displayname=place.nom,
        phone=place.telephone,
        street=place.adresse,
        city=place.commune,
        zipcode=place.code_postal,
        country="France",
        url=list(place.site_web) or None,
        lat=place.latitude if place.located else None,
        lng=place.longitude if place.located else None,
    )


@lru_cache(maxsize=256)
def _qr_svg(data: str) -> str:
    return str(segno.make(data, error="m").svg_inline(scale=5, dark="#000000", light="#ffffff"))


def place_qr_svg(place: Place) -> str:
    """The place's QR code as inline SVG (black on white, whatever the theme)."""
    return _qr_svg(place_vcard(place))
