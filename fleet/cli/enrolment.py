"""``fleet enrolment``: one-time enrolment codes and decommissioning, from the fleet host.

A Typer sub-app (``app``), to be registered under ``enrolment`` by :mod:`fleet.cli`.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from fleet import crud, enrolment
from fleet.broker import BrokerError
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

app = fleet_app(_("Enrol new terminals with one-time codes, and take terminals out of service."))


def _operator() -> str:
    return "cli:" + (os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli")


@app.command("create", help=_("Create a one-time enrolment code for a site, and print it."))
def create(
    ctx: typer.Context,
    site: Annotated[
        str, typer.Option("--site", help=_("Name of the site (e.g. Mairie de Bègles)."))
    ],
    commune: Annotated[str, typer.Option("--commune", help=_("The commune (e.g. Bègles)."))],
    latitude: Annotated[
        float | None,
        typer.Option("--lat", help=_("Latitude in decimal degrees (e.g. 44.80).")),
    ] = None,
    longitude: Annotated[
        float | None,
        typer.Option("--lon", help=_("Longitude in decimal degrees (e.g. -0.55).")),
    ] = None,
    hours: Annotated[
        float | None, typer.Option("--hours", help=_("Hours the code stays valid (default 24)."))
    ] = None,
) -> None:
    options = enrolment.EnrolmentSettings()
    ttl = timedelta(hours=hours if hours is not None else options.code_ttl_h)
    if ttl <= timedelta(0):
        die(_("the code must stay valid for some time."), code=EXIT_USAGE)
    settings = context_of(ctx).settings()
    with database(settings) as engine, make_session_factory(engine)() as session:
        try:
            created = enrolment.create_code(
                session, site, commune, latitude, longitude, _operator(), crud.utc_now(), ttl
            )
        except enrolment.UnprintableText:
            die(
                _(
                    "the site name and the commune may not hold a tab, a line break or another "
                    "control character."
                ),
                _("Type them on one line, between quotes."),
                code=EXIT_USAGE,
            )
        except ValueError:
            die(
                _(
                    "a code needs a site name (at most 120 characters), a commune (at most 80) "
                    "and both coordinates or neither."
                ),
                code=EXIT_USAGE,
            )
        session.commit()
        expires = created.row.expires_at
    out.print(Text(created.code, style="bold"))
    out.print(
        Text(
            _("Single use, valid until %(expires)s UTC. It will not be shown again.")
            % {"expires": expires.strftime("%Y-%m-%d %H:%M")}
        )
    )


@app.command("list", help=_("List recent enrolment codes (never the codes themselves)."))
def list_codes(ctx: typer.Context) -> None:
    settings = context_of(ctx).settings()
    now = crud.utc_now()
    table = Table(_("Site"), _("Commune"), _("Expires"), _("State"), _("Terminal"))
    with database(settings) as engine, make_session_factory(engine)() as session:
        for code in enrolment.list_codes(session):
            table.add_row(
                code.site_name,
                code.commune or "",
                code.expires_at.strftime("%Y-%m-%d %H:%M"),
                enrolment.code_state(code, now),
                code.terminal_id or "",
            )
    out.print(table)


@app.command(
    "decommission",
    help=_("Take a terminal out of service: its MQTT access stops at once."),
)
def decommission(
    ctx: typer.Context,
    terminal_id: Annotated[str, typer.Argument(help=_("The terminal's identifier."))],
) -> None:
    settings = context_of(ctx).settings()
    credentials = enrolment.EnrolmentSettings().credentials()
    if credentials is None:
        die(
            _(
                "no broker password file is configured: "
                "the terminal's MQTT access cannot be removed."
            ),
            hint=_(
                "Set FLEET_ENROLMENT_BROKER_PASSWORD_FILE (and the pid file or reload command)."
            ),
            code=EXIT_USAGE,
        )
    with database(settings) as engine, make_session_factory(engine)() as session:
        try:
            terminal = enrolment.decommission(
                session, terminal_id, _operator(), crud.utc_now(), credentials
            )
        except BrokerError as error:
            die(str(error))
        if terminal is None:
            die(
                _("no terminal %(id)s in the fleet.") % {"id": terminal_id},
                code=EXIT_UNKNOWN_TERMINAL,
            )
    out.print(
        Text(_("Terminal %(id)s decommissioned: its MQTT access is revoked.") % {"id": terminal_id})
    )
