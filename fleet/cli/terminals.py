"""``fleet terminals``: what the technicians and the operations team set on terminals by hand.

A Typer sub-app (``app``), registered under ``terminals`` by :mod:`fleet.cli`.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.text import Text

from fleet import audit, crud
from fleet.citymap import EAST, NORTH, SOUTH, WEST, in_box
from fleet.cli.common import (
    EXIT_UNKNOWN_TERMINAL,
    EXIT_USAGE,
    _,
    context_of,
    database,
    die,
    fleet_app,
    out,
)
from fleet.core.db import make_session_factory
from kiosk.contract.enrolment import MAX_COMMUNE_LENGTH, MAX_SITE_LENGTH

app = fleet_app(_("Manage the terminals of the fleet."))


@app.command(
    "locate",
    help=_("Set where a terminal stands: its site, its commune and its coordinates for the plan."),
)
def locate(
    ctx: typer.Context,
    terminal_id: Annotated[str, typer.Argument(help=_("The terminal's identifier."))],
    latitude: Annotated[
        float, typer.Option("--lat", help=_("Latitude in decimal degrees (e.g. 44.80)."))
    ],
    longitude: Annotated[
        float, typer.Option("--lon", help=_("Longitude in decimal degrees (e.g. -0.55)."))
    ],
    site: Annotated[
        str | None, typer.Option("--site", help=_("Name of the site (e.g. Mairie de Bègles)."))
    ] = None,
    commune: Annotated[
        str | None, typer.Option("--commune", help=_("The commune (e.g. Bègles)."))
    ] = None,
) -> None:
    if not -90.0 <= latitude <= 90.0 or not -180.0 <= longitude <= 180.0:
        die(
            _("the coordinates %(lat)s, %(lon)s are not a place on Earth.")
            % {"lat": latitude, "lon": longitude},
            hint=_("Latitude goes from -90 to 90 and longitude from -180 to 180."),
            code=EXIT_USAGE,
        )
    if not in_box(latitude, longitude):
        die(
            _("the coordinates %(lat)s, %(lon)s are outside Bordeaux Métropole.")
            % {"lat": latitude, "lon": longitude},
            hint=_(
                "The plan covers latitudes %(south).2f to %(north).2f and longitudes "
                "%(west).2f to %(east).2f; check that latitude and longitude are not swapped."
            )
            % {"south": SOUTH, "north": NORTH, "west": WEST, "east": EAST},
            code=EXIT_USAGE,
        )
    site = site.strip() if site is not None else None
    commune = commune.strip() if commune is not None else None
    if site is not None and not 0 < len(site) <= MAX_SITE_LENGTH:
        die(
            _("the site name must hold 1 to %(max)d characters.") % {"max": MAX_SITE_LENGTH},
            code=EXIT_USAGE,
        )
    if commune is not None and not 0 < len(commune) <= MAX_COMMUNE_LENGTH:
        die(
            _("the commune must hold 1 to %(max)d characters.") % {"max": MAX_COMMUNE_LENGTH},
            code=EXIT_USAGE,
        )
    settings = context_of(ctx).settings()
    with database(settings) as engine, make_session_factory(engine)() as session:
        terminal = crud.get_terminal(session, terminal_id)
        if terminal is None:
            die(
                _("no terminal %(id)s in the fleet.") % {"id": terminal_id},
                hint=_("A terminal appears once it has reported at least once."),
                code=EXIT_UNKNOWN_TERMINAL,
            )
        terminal.latitude = latitude
        terminal.longitude = longitude
        if site is not None:
            terminal.site_name = site
        if commune is not None:
            terminal.commune = commune
        operator = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
        detail = f"{latitude:.5f}, {longitude:.5f}"
        if terminal.site_name or terminal.commune:
            detail += f" ({terminal.site_name or ''} · {terminal.commune or ''})"
        audit.record(session, f"cli:{operator}", "terminal_located", terminal_id, detail)
        session.commit()
    out.print(
        Text(
            _("Terminal %(id)s placed at %(lat).5f, %(lon).5f.")
            % {"id": terminal_id, "lat": latitude, "lon": longitude}
        )
    )
