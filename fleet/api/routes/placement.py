"""Placing a terminal from the dashboard: a click on the plan, typed coordinates or an address.

The click (``fleet/static/placement.js``) only fills the latitude and longitude of the form;
without JavaScript the same form takes them typed. An address is looked up by the configured
geocoder (:mod:`fleet.geocoder`, offline by default). Every placement is audited.
"""

from __future__ import annotations

import math
from typing import Any, Final

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from fleet import audit, crud, plan
from fleet.api.deps import FormText, Language, LanguageDep, PageUser, SessionDep, SettingsDep
from fleet.api.routes.alerts import check_operator_form
from fleet.geocoder import MAX_QUERY_LENGTH, GeocoderError, geocoder_for
from fleet.models import Terminal

router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: The terminal page shows this message once after a placement (ok, text).
PLACEMENT_FLASH_KEY: Final = "placement_flash"
#: An address is accepted only when the geocoder is at least this sure of it.
MIN_SCORE: Final = 0.5


def _number(text: str) -> float | None:
    """A decimal number as an operator types it: 44.84 or 44,84."""
    try:
        value = float(text.strip().replace(",", ".").replace("\u2212", "-"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _flash(request: Request, ok: bool, text: str) -> None:
    request.session[PLACEMENT_FLASH_KEY] = {"ok": ok, "text": text}


def _back(terminal_id: str) -> Response:
    return RedirectResponse(f"/terminals/{terminal_id}#placement", status.HTTP_303_SEE_OTHER)


def _terminal(session: Any, terminal_id: str, language: Language) -> Terminal:
    terminal = crud.get_terminal(session, terminal_id)
    if terminal is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, language.gettext("No such terminal."))
    return terminal


def _place(
    session: Any, terminal: Terminal, username: str, latitude: float, longitude: float, how: str
) -> None:
    terminal.latitude = latitude
    terminal.longitude = longitude
    audit.record(
        session,
        username,
        "terminal_located",
        terminal.id,
        f"{latitude:.5f}, {longitude:.5f} ({how})",
        at=crud.utc_now(),
    )
    session.commit()


@router.post("/terminals/{terminal_id}/place", response_model=None)
def place_terminal(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    latitude: FormText = "",
    longitude: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """Coordinates from the form (clicked on the plan or typed)."""
    _ = language.gettext
    check_operator_form(request, user, language, csrf_token)
    terminal = _terminal(session, terminal_id, language)
    lat, lon = _number(latitude), _number(longitude)
    if lat is None or lon is None:
        _flash(
            request,
            False,
            _(
                "Latitude and longitude must be decimal numbers of degrees, "
                "for instance 44.8378 and -0.5792."
            ),
        )
        return _back(terminal_id)
    if not plan.in_box(lat, lon):
        _flash(
            request,
            False,
            _(
                "%(lat)s, %(lon)s is outside Bordeaux Métropole: the plan covers latitudes "
                "%(south).2f to %(north).2f and longitudes %(west).2f to %(east).2f."
            )
            % {
                "lat": latitude.strip(),
                "lon": longitude.strip(),
                "south": plan.SOUTH,
                "north": plan.NORTH,
                "west": plan.WEST,
                "east": plan.EAST,
            },
        )
        return _back(terminal_id)
    _place(session, terminal, user.username, lat, lon, "plan")
    _flash(request, True, _("Terminal placed at %(lat).5f, %(lon).5f.") % {"lat": lat, "lon": lon})
    return _back(terminal_id)


@router.post("/terminals/{terminal_id}/place-address", response_model=None)
def place_terminal_by_address(
    terminal_id: str,
    request: Request,
    user: PageUser,
    session: SessionDep,
    language: LanguageDep,
    settings: SettingsDep,
    address: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    """The best answer of the geocoder for a typed address, if it is sure enough of it."""
    _ = language.gettext
    check_operator_form(request, user, language, csrf_token)
    terminal = _terminal(session, terminal_id, language)
    query = " ".join(address.split())
    if not 3 <= len(query) <= MAX_QUERY_LENGTH:
        _flash(
            request,
            False,
            _("Type an address of 3 to %(max)d characters.") % {"max": MAX_QUERY_LENGTH},
        )
        return _back(terminal_id)
    try:
        found = geocoder_for(settings.geocoder_url).search(query, limit=5)
    except GeocoderError:
        _flash(
            request,
            False,
            _("The address service does not answer: place the terminal on the plan instead."),
        )
        return _back(terminal_id)
    best = next(
        (
            candidate
            for candidate in found
            if candidate.score >= MIN_SCORE and plan.in_box(candidate.latitude, candidate.longitude)
        ),
        None,
    )
    if best is None:
        _flash(
            request,
            False,
            _("No address in Bordeaux Métropole matches “%(address)s”.") % {"address": query},
        )
        return _back(terminal_id)
    _place(session, terminal, user.username, best.latitude, best.longitude, best.label)
    _flash(
        request,
        True,
        _("Terminal placed at %(label)s (%(lat).5f, %(lon).5f).")
        % {"label": best.label, "lat": best.latitude, "lon": best.longitude},
    )
    return _back(terminal_id)


def placement_context(request: Request, terminal: Terminal, language: Language) -> dict[str, Any]:
    """What the terminal page's placement section needs."""
    flash = request.session.pop(PLACEMENT_FLASH_KEY, None)
    svg = plan.render_picker(
        terminal.latitude,
        terminal.longitude,
        language.gettext("Plan of Bordeaux Métropole"),
        language.gettext("Click where the terminal stands to fill in its coordinates."),
    )
    return {"placement_flash": flash if isinstance(flash, dict) else None, "picker_svg": svg}
