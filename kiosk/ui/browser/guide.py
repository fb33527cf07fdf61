"""The help-places guide (``kiosk://guide/``): places near the terminal where a person helps.

Drawn by the kiosk from the bundle's ``places.json`` (see :mod:`kiosk.contract.places`), in the
resident's
language, without any script: each filter is a link to the same page with one more condition
in its address, so Back undoes it and read-aloud reads what is shown. Which places, in which
order and whether they are open is :mod:`kiosk.ui.browser.nearby`'s; this module writes them.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from datetime import datetime, time
from typing import Final
from urllib.parse import urlencode

from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from kiosk.contract.places import Place, PlacesFile
from kiosk.ui.browser.nearby import (
    DIRECTIONS,
    LANGUAGE_LABELS,
    NEED_LABELS,
    SUPPORT_LABELS,
    TIME_ZONE,
    WALKING_M_PER_MIN,
    Filters,
    Listed,
    OpenState,
    bearing_index,
    distance_m,
    national_phone,
    open_state,
    place_qr_svg,
    select_places,
    week_hours,
)
from kiosk.ui.browser.numbers import T_BACK, T_NUMBERS
from kiosk.ui.browser.pagestyle import ICON_HELP, ICON_PHONE, page_document
from kiosk.ui.i18n import N_

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
