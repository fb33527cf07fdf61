"""The help-places guide (``kiosk://guide/``): places near the terminal where a person helps.

Drawn by the kiosk from the bundle's ``places.json`` (see :mod:`kiosk.places`), in the resident's
language, without any script: each filter is a link to the same page with one more condition
in its address, so Back undoes it and read-aloud reads what is shown. Nearest first from the
terminal's own position (settings ``latitude``/``longitude``); "open now" is computed here, on
the terminal, from the OpenStreetMap opening hours in Europe/Paris, public holidays included,
by the ``opening-hours-py`` library. A place's page carries a QR code (a vCard: name, address,
phone, web site) that the resident's phone reads without any account; nothing is recorded.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
import segno.helpers
from babel.dates import format_date, format_time
from babel.numbers import format_decimal
from opening_hours import OpeningHours, State, validate

from kiosk.places import SERVICES, SUPPORTS, Place, PlacesFile
from kiosk.ui.browser.numbers import T_BACK, T_NUMBERS
from kiosk.ui.browser.pagestyle import ICON_HELP, ICON_PHONE, page_document
from kiosk.ui.i18n import N_

#: The metropole's time zone: "open now" is evaluated there, whatever the system clock's zone.
TIME_ZONE: Final = ZoneInfo("Europe/Paris")
COUNTRY: Final = "FR"
#: Walking pace for "about N minutes on foot" (straight line; said as such).
WALKING_M_PER_MIN: Final = 75.0
GUIDE_URL: Final = "kiosk://guide/"

Gettext = Callable[[str], str]


# Texts shown inside the pages' markup (marked here, where the extractor sees them).
T_FILTERS = N_("Filters")
T_NEED = N_("What do you need?")
T_MORE = N_("Choose a need, a specific support, a language")
T_NO_PLACE = N_("No place is listed on this terminal yet.")
T_NONE_MATCH = N_("No place matches: remove a filter.")
T_HOW = N_("How to get there")
T_PHONE = N_("Phone")
T_APPOINTMENT = N_("Appointment")
T_HOURS = N_("Opening hours")
T_ON_PHONE = N_("On your phone")

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


def _data(text: str) -> str:
    """A value of the data (French): isolated, so an Arabic page keeps "13 place Canteloup"."""
    return f"<bdi lang='fr'>{html.escape(text)}</bdi>"


def _href(path: str, items: Mapping[str, str]) -> str:
    return html.escape(path + ("?" + urlencode(items) if items else ""), quote=True)


class GuideRenderer:
    """Draws the guide's pages in one language (a new one at each language switch)."""

    def __init__(
        self,
        translate: Gettext,
        language: str,
        direction: str,
        *,
        high_contrast: bool = False,
    ) -> None:
        self._ = translate
        self.language = language
        self.direction = direction
        self.high_contrast = high_contrast
        # Babel's locale for dates and numbers (Ukrainian "uk", Arabic "ar"...).
        self.locale = language

    # ----- words -------------------------------------------------------------------------

    def distance_text(self, listed: Listed, position: tuple[float, float] | None) -> str:
        _ = self._
        place = listed.place
        if listed.distance is None or position is None or place.latitude is None:
            return _("Distance unknown")
        metres = listed.distance
        if metres < 1000:
            amount = _("%(metres)s m") % {
                "metres": format_decimal(round(metres, -1), locale=self.locale)
            }
        else:
            amount = _("%(km)s km") % {
                "km": format_decimal(round(metres / 1000, 1), locale=self.locale)
            }
        minutes = max(1, round(metres / WALKING_M_PER_MIN))
        towards = _(
            DIRECTIONS[
                bearing_index(position[0], position[1], place.latitude, place.longitude or 0.0)
            ]
        )
        return _("%(amount)s %(direction)s (as the crow flies), about %(minutes)d min on foot") % {
            "amount": amount,
            "direction": towards,
            "minutes": minutes,
        }

    def open_text(self, state: OpenState, now: datetime) -> str:
        _ = self._
        if state.is_open is None:
            return _("Opening hours not given")
        change = state.next_change.astimezone(TIME_ZONE) if state.next_change else None
        when = ""
        if change is not None:
            clock = format_time(change, "HH:mm", locale=self.locale)
            if change.date() == now.astimezone(TIME_ZONE).date():
                when = clock
            else:
                when = _("%(day)s at %(time)s") % {
                    "day": format_date(change.date(), "EEEE", locale=self.locale),
                    "time": clock,
                }
        if state.is_open:
            return _("Open now, until %(when)s") % {"when": when} if when else _("Open now")
        return _("Closed now, opens %(when)s") % {"when": when} if when else _("Closed now")

    def fee_text(self, place: Place) -> str:
        _ = self._
        if "Gratuit" in place.fees:
            return _("Free of charge")
        if "Gratuit sous condition" in place.fees:
            return _("Free under conditions")
        if "Payant" in place.fees:
            return _("Paying")
        return ""

    def booking_text(self, place: Place) -> str:
        _ = self._
        access = set(place.access)
        if "Ce lieu n'accueille pas de public" in access:
            return _("This place does not receive the public.")
        if "Se présenter" in access:
            return _("No appointment needed: you can go there.")
        if access & {"Téléphoner", "Prendre un RDV en ligne", "Contacter par mail"} or (
            place.prise_rdv
        ):
            return _("Make an appointment first (by phone or online).")
        return _("Whether to book is not said: call before going.")

    # ----- pages -------------------------------------------------------------------------

    def _filters_html(self, filters: Filters) -> str:
        _ = self._

        def chip(label: str, key: str, value: object, current: object) -> str:
            on = value == current
            items = filters.query(**{key: None if on else value})
            pressed = "true" if on else "false"
            return (
                f"<a href='{_href(GUIDE_URL, items)}' aria-pressed='{pressed}'>"
                f"{html.escape(label)}</a>"
            )

        def group(title: str, key: str, labels: Mapping[str, str], current: object) -> str:
            chips = "".join(chip(_(label), key, value, current) for value, label in labels.items())
            return f"<h2>{html.escape(title)}</h2><div>{chips}</div>"

        quick = chip(_("Open now"), "open", True, filters.open_now) + chip(
            _("Free of charge"), "free", True, filters.free
        )
        more = (
            group(_(T_NEED), "need", NEED_LABELS, filters.need)
            + group(_("Specific support"), "support", SUPPORT_LABELS, filters.support)
            + group(_("Languages spoken besides French"), "lang", LANGUAGE_LABELS, filters.language)
        )
        # A native disclosure: no script, and open as soon as one of its filters is chosen.
        opened = " open" if filters.need or filters.support or filters.language else ""
        return (
            f"<nav class='chips' aria-label='{html.escape(_(T_FILTERS))}'>"
            f"<div>{quick}</div>"
            f"<details{opened}><summary>{html.escape(_(T_MORE))}</summary>{more}</details></nav>"
        )

    def _data_line(self, guide: PlacesFile) -> str:
        _ = self._
        day = guide.data_date or guide.imported_at
        return _(
            "Data: %(source)s, updated on %(date)s, in the national format of places of digital"
            " mediation (La MedNum), licence Etalab 2.0."
        ) % {"source": guide.source, "date": format_date(day, "long", locale=self.locale)}

    def list_page(
        self,
        guide: PlacesFile | None,
        filters: Filters,
        position: tuple[float, float] | None,
        now: datetime,
    ) -> str:
        _ = self._
        title = _("Help near here")
        intro = _("Places where a person helps you with computers, phones and online procedures.")
        head = (
            f"<header class='title'><span class='icon' aria-hidden='true'>{ICON_HELP}</span>"
            f"<div><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p></div></header>"
        )
        if guide is None or not guide.places:
            body = (
                f"<main>{head}<p id='empty'>"
                f"{html.escape(_(T_NO_PLACE))}</p>"
                f"{self._numbers_link()}</main>"
            )
            return page_document(
                title, body, self.language, self.direction, high_contrast=self.high_contrast
            )
        listed = select_places(guide, filters, position, now)
        if position is None:
            order = _("The terminal's position is not set: places are in alphabetical order.")
        else:
            order = _("Nearest first.")
        cards = []
        for item in listed:
            place = item.place
            link = _href("kiosk://guide/place", {"id": place.id, **filters.query()})
            badges = "".join(
                f"<span class='badge'>{html.escape(text)}</span>"
                for text in (self.open_text(item.state, now), self.fee_text(place))
                if text
            )
            cards.append(
                f"<li><a class='place' href='{link}' data-place='{html.escape(place.id)}'>"
                f"<span class='what'><h3>{_data(place.nom)}</h3>"
                f"<span class='meta'>{_data(place.adresse + ', ' + place.commune)}"
                f"</span><span class='meta'>{html.escape(self.distance_text(item, position))}"
                f"</span><span>{badges}</span></span></a></li>"
            )
        found = (
            f"<ul class='places' id='places'>{''.join(cards)}</ul>"
            if cards
            else f"<p id='none'>{html.escape(_(T_NONE_MATCH))}</p>"
        )
        count = _("%(count)d place(s)") % {"count": len(listed)}
        body = (
            f"<main>{head}{self._filters_html(filters)}"
            f"<h2>{html.escape(count)} · {html.escape(order)}</h2>{found}"
            f"{self._numbers_link()}<p class='source'>{html.escape(self._data_line(guide))}</p>"
            f"</main>"
        )
        return page_document(
            title, body, self.language, self.direction, high_contrast=self.high_contrast
        )

    def _numbers_link(self) -> str:
        return (
            f"<p><a class='button' href='kiosk://numbers/'>{ICON_PHONE}"
            f"{html.escape(self._(T_NUMBERS))}</a></p>"
        )

    def place_page(
        self,
        guide: PlacesFile | None,
        place_id: str,
        filters: Filters,
        position: tuple[float, float] | None,
        now: datetime,
    ) -> str | None:
        """A place's page (``None`` when the id is not in the guide)."""
        _ = self._
        place = next((p for p in guide.places if p.id == place_id), None) if guide else None
        if place is None or guide is None:
            return None
        distance = None
        if position is not None and place.latitude is not None and place.longitude is not None:
            distance = distance_m(position[0], position[1], place.latitude, place.longitude)
        item = Listed(place, distance, open_state(place, now))
        state_text = html.escape(self.open_text(item.state, now))
        fee = self.fee_text(place)
        badges = f"<span class='badge'>{state_text}</span>" + (
            f"<span class='badge'>{html.escape(fee)}</span>" if fee else ""
        )
        # What a resident needs first (the number to call, whether it is open, whether to book)
        # comes first: with large text the rest is a scroll away.
        lines = [
            f"<h1>{_data(place.nom)}</h1>",
            f"<p class='address'>{_data(place.adresse)}<br>"
            f"{_data(place.code_postal + ' ' + place.commune)}</p>",
        ]
        if place.telephone:
            lines.append(
                f"<p class='phone' id='phone' aria-label='{html.escape(_(T_PHONE))}'>"
                f"<bdi dir='ltr'>{html.escape(national_phone(place.telephone))}</bdi></p>"
            )
        lines.append(f"<p id='open'>{badges}</p>")
        lines.append(f"<h2>{html.escape(_(T_APPOINTMENT))}</h2>")
        lines.append(f"<p id='booking'>{html.escape(self.booking_text(place))}</p>")
        lines.append(f"<h2>{html.escape(_(T_HOW))}</h2>")
        lines.append(f"<p>{html.escape(self.distance_text(item, position))}</p>")
        if place.complement_adresse:
            lines.append(f"<p>{_data(place.complement_adresse)}</p>")
        if place.presentation_resume:
            lines.append(f"<p>{_data(place.presentation_resume)}</p>")
        week = week_hours(place, now.astimezone(TIME_ZONE).date())
        if week:
            rows = "".join(
                f"<tr><td>{html.escape(format_date(day, 'EEEE d MMMM', locale=self.locale))}</td>"
                f"<td>{html.escape(self._periods(periods))}</td></tr>"
                for day, periods in week
            )
            lines.append(f"<h2>{html.escape(_(T_HOURS))}</h2><table class='week'>{rows}</table>")
        scan = _(
            "Scan this code with your phone camera to keep the address and the phone number."
            " No account, nothing is recorded on the terminal."
        )
        qr = (
            f"<div><h2>{html.escape(_(T_ON_PHONE))}</h2>"
            f"<div class='qr' id='qr'>{place_qr_svg(place)}</div>"
            f"<p>{html.escape(scan)}</p></div>"
        )
        back = _href(GUIDE_URL, filters.query())
        body = (
            f"<main><div class='columns'><div>{''.join(lines)}</div>{qr}</div>"
            f"<p><a class='button prominent' id='back' href='{back}'>"
            f"{html.escape(_(T_BACK))}</a></p>"
            f"<p class='source'>{html.escape(self._data_line(guide))}</p></main>"
        )
        return page_document(
            place.nom, body, self.language, self.direction, high_contrast=self.high_contrast
        )

    def _periods(self, periods: list[tuple[time, time]]) -> str:
        if not periods:
            return self._("Closed")

        def clock(moment: time) -> str:
            return str(format_time(moment, "HH:mm", locale=self.locale))

        return ", ".join(f"{clock(a)}–{clock(b)}" for a, b in periods)


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
