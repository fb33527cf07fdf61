"""``fleet observatory``: publish the open data, set a site's priority neighbourhood code.

A Typer sub-app (``app``), registered under ``observatory`` by :mod:`fleet.cli`.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.text import Text

from fleet import audit, opendata
from fleet.api import formatting
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
from fleet.models import Terminal

#: A QPV code as the ANCT writes them (e.g. QN03301M, QP033010).
QPV_PATTERN: Final = re.compile(r"Q[A-Z0-9]{6,10}")

app = fleet_app(_("The observatory of digital inclusion."))


@app.command(
    "publish",
    help=_("Publish the open data of every complete week and month not published yet."),
)
def publish(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Option("--folder", help=_("Where to write (default: observatory_open_data_dir).")),
    ] = None,
    through: Annotated[
        str | None,
        typer.Option("--through", help=_("Last day to cover, YYYY-MM-DD (default: yesterday).")),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help=_("First day to cover, YYYY-MM-DD (default: the first session).")
        ),
    ] = None,
) -> None:
    settings = context_of(ctx).settings()
    target = folder or settings.observatory_open_data_dir
    if target is None:
        die(_("no folder: give --folder or set observatory_open_data_dir."), code=EXIT_USAGE)
    zone = formatting.display_zone(settings.display_timezone)
    try:
        yesterday = datetime.now(zone).date() - timedelta(days=1)
        last = date.fromisoformat(through) if through else yesterday
        first = date.fromisoformat(since) if since else None
    except ValueError:
        die(_("dates are written YYYY-MM-DD."), code=EXIT_USAGE)
    with database(settings) as engine, make_session_factory(engine)() as session:
        written = opendata.publish(
            session, target, last, zone, settings.observatory_min_sessions, since=first
        )
    if not written:
        out.print(Text(_("Nothing new to publish in %(folder)s.") % {"folder": target}))
        return
    out.print(
        Text(
            _("Published %(count)d periods in %(folder)s: %(labels)s.")
            % {
                "count": len(written),
                "folder": target,
                "labels": ", ".join(p.label for p in written),
            }
        )
    )


@app.command(
    "qpv", help=_("Set (or clear) the priority neighbourhood (QPV) code of a terminal's site.")
)
def qpv(
    ctx: typer.Context,
    terminal_id: Annotated[str, typer.Argument(help=_("The terminal's identifier."))],
    code: Annotated[
        str | None, typer.Argument(help=_("The QPV code (e.g. QN03301M); none to clear."))
    ] = None,
) -> None:
    code = code.strip().upper() if code else None
    if code is not None and QPV_PATTERN.fullmatch(code) is None:
        die(_("%(code)s is not a QPV code (e.g. QN03301M).") % {"code": code}, code=EXIT_USAGE)
    settings = context_of(ctx).settings()
    with database(settings) as engine, make_session_factory(engine)() as session:
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:
            die(_("no terminal %(id)s.") % {"id": terminal_id}, code=EXIT_UNKNOWN_TERMINAL)
        terminal.qpv_code = code
        operator = os.environ.get("SUDO_USER") or os.environ.get("USER") or "cli"
        audit.record(session, f"cli:{operator}", "terminal_qpv", terminal_id, code or "-")
        session.commit()
    out.print(Text(_("QPV code of %(id)s: %(code)s.") % {"id": terminal_id, "code": code or "-"}))
