"""Placing a terminal from the dashboard: a click on the plan, typed coordinates or an address.

The click (``fleet/static/placement.js``) only fills the latitude and longitude of the form;
without JavaScript the same form takes them typed. An address is looked up by the configured
geocoder (:mod:`fleet.geocoder`, offline by default). Every placement is audited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fleet import audit, citymap, crud
from fleet.api.deps import FormText, Language, LanguageDep, PageUser, SessionDep, SettingsDep
from fleet.api.operator_form import check_operator_form
from fleet.api.placement_view import PLACEMENT_FLASH_KEY
from fleet.geocoder import MAX_QUERY_LENGTH, GeocoderError, geocoder_for
from fleet.models import Terminal

router = APIRouter(tags=["dashboard"], include_in_schema=False)


@router.get(citymap.COMMUNES_SVG_PATH)
def communes_outlines() -> Response:
    """The plan's communes (open data, the same for everyone): cached a day by the browser."""
    svg = citymap.communes_svg()
    if svg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND)
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


#: An address is accepted only when the geocoder is at least this sure of it.
MIN_SCORE: Final = 0.5


def _number(text: str) -> float | None:
    """A decimal number as an operator types it: 44.84 or 44,84."""
    try:
        value = float(text.strip().replace(",", ".").replace("\u2212", "-"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Placing:
    """An operator's placement form for a terminal, checked (role, CSRF token, terminal)."""

    request: Request
    username: str
    session: Session
    language: Language
    terminal: Terminal

    def back(self, ok: bool, text: str) -> Response:
        """Back to the terminal's placement section, which says ``text`` once."""
        self.request.session[PLACEMENT_FLASH_KEY] = {"ok": ok, "text": text}
        url = f"/terminals/{self.terminal.id}#placement"
        return RedirectResponse(url, status.HTTP_303_SEE_OTHER)

    def place(self, latitude: float, longitude: float, how: str, text: str) -> Response:
        """Put the terminal there, audited and committed, and say ``text``."""
        self.terminal.latitude = latitude
        self.terminal.longitude = longitude
        audit.record(
            self.session,
            self.username,
            "terminal_located",
            self.terminal.id,
            f"{latitude:.5f}, {longitude:.5f} ({how})",
            at=crud.utc_now(),
        )
        self.session.commit()
        return self.back(True, text)


def get_placing(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    csrf_token: FormText = "",
) -> Placing:
    check_operator_form(request, user, language, csrf_token)
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, language.gettext("No such terminal."))
    return Placing(request, user.username, session, language, terminal)


PlacingDep = Annotated[Placing, Depends(get_placing)]


@router.post("/terminals/{terminal_id}/place", response_model=None)
def place_terminal(
    placing: PlacingDep, latitude: FormText = "", longitude: FormText = ""
) -> Response:
    """Coordinates from the form (clicked on the plan or typed)."""
    _ = placing.language.gettext
    lat, lon = _number(latitude), _number(longitude)
    if lat is None or lon is None:
        return placing.back(
            False,
            _(
                "Latitude and longitude must be decimal numbers of degrees, "
                "for instance 44.8378 and -0.5792."
            ),
        )
    if not citymap.in_box(lat, lon):
        return placing.back(
            False,
            _(
                "%(lat)s, %(lon)s is outside Bordeaux Métropole: the plan covers latitudes "
                "%(south).2f to %(north).2f and longitudes %(west).2f to %(east).2f."
            )
            % {
                "lat": latitude.strip(),
                "lon": longitude.strip(),
                "south": citymap.SOUTH,
                "north": citymap.NORTH,
                "west": citymap.WEST,
                "east": citymap.EAST,
            },
        )
    text = _("Terminal placed at %(lat).5f, %(lon).5f.") % {"lat": lat, "lon": lon}
    return placing.place(lat, lon, "plan", text)


@router.post("/terminals/{terminal_id}/place-address", response_model=None)
def place_terminal_by_address(
    placing: PlacingDep, settings: SettingsDep, address: FormText = ""
) -> Response:
    """The best answer of the geocoder for a typed address, if it is sure enough of it."""
    _ = placing.language.gettext
    query = " ".join(address.split())
    if not 3 <= len(query) <= MAX_QUERY_LENGTH:
        return placing.back(
            False, _("Type an address of 3 to %(max)d characters.") % {"max": MAX_QUERY_LENGTH}
        )
    try:
        found = geocoder_for(settings.geocoder_url).search(query, limit=5)
    except GeocoderError:
        return placing.back(
            False, _("The address service does not answer: place the terminal on the plan instead.")
        )
    best = next(
        (
            candidate
            for candidate in found
            if candidate.score >= MIN_SCORE
            and citymap.in_box(candidate.latitude, candidate.longitude)
        ),
        None,
    )
    if best is None:
        return placing.back(
            False, _("No address in Bordeaux Métropole matches “%(address)s”.") % {"address": query}
        )
    text = _("Terminal placed at %(label)s (%(lat).5f, %(lon).5f).") % {
        "label": best.label,
        "lat": best.latitude,
        "lon": best.longitude,
    }
    return placing.place(best.latitude, best.longitude, best.label, text)
