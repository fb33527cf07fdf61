"""The observatory's pages (role ``observatoire`` and up) and its public open data.

Every figure shown comes from the published Data Packages (``fleet observatory publish``):
fixed weeks and months, small counts already hidden, so that no page shows a count under the
threshold nor lets one be computed back from another page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import FileResponse, JSONResponse, Response

from fleet import opendata
from fleet.api.deps import PageDep, SettingsDep
from fleet.api.formatting import Gettext
from fleet.observatory_charts import labelled_bars

router = APIRouter(tags=["observatory"], include_in_schema=False)


PUBLIC_PREFIX: Final = "/opendata/observatoire"
_LABEL = re.compile(opendata.LABEL_PATTERN)
CHARTS: Final = ("evolution", "communes")


def _folder(settings: SettingsDep) -> Path | None:
    return settings.observatory_open_data_dir


def _file(folder: Path | None, label: str, name: str) -> Path:
    if folder is None or not _LABEL.fullmatch(label) or name not in opendata.PACKAGE_FILES:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    path = folder / label / name
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
    return path


def _serve(path: Path) -> FileResponse:
    media = "application/json" if path.suffix == ".json" else "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=f"{path.parent.name}-{path.name}")


def _site_name(row: opendata.PublishedRow) -> str:
    return f"{row.commune or '—'}{' · ' + row.qpv if row.qpv else ''}"


def _charts(
    folder: Path | None, label: str | None, site: str | None, gettext: Gettext
) -> dict[str, str]:
    if folder is None or label is None:
        return {}
    secret = gettext("s")
    totals = opendata.published_table(folder, label, "sessions")
    communes = labelled_bars(
        "chart-communes",
        [(_site_name(r), r.sessions) for r in totals],
        gettext("Sessions per commune, %(period)s") % {"period": label},
        gettext("One bar per site; s: hidden by statistical secrecy."),
        secret,
    )
    kind = "S" if "-S" in label else "M"
    periods = sorted(
        (p for p in opendata.published_periods(folder) if ("-S" in p) == (kind == "S")),
        key=lambda p: p,
    )[-12:]
    chosen = site or (_site_name(totals[0]) if totals else "")
    series: list[tuple[str, int | None]] = []
    for period in periods:
        rows = [
            r
            for r in opendata.published_table(folder, period, "sessions")
            if _site_name(r) == chosen
        ]
        series.append((period, rows[0].sessions if rows else 0))
    evolution = labelled_bars(
        "chart-evolution",
        series,
        gettext("Sessions over time, %(site)s") % {"site": chosen},
        gettext("One bar per period; s: hidden by statistical secrecy."),
        secret,
    )
    return {"evolution": evolution, "communes": communes}


@router.get("/observatoire", response_model=None)
def observatory_page(
    page: PageDep,
    periode: Annotated[str | None, Query()] = None,
    table: Annotated[str, Query()] = "sessions",
    site: Annotated[str | None, Query()] = None,
) -> Response:
    _ = page.language.gettext
    folder = _folder(page.settings)
    periods = opendata.published_periods(folder)
    label = periode if periode in periods else (periods[0] if periods else None)
    tables = ("sessions", *(d.name for d in opendata.dimensions()))
    chosen = table if table in tables else "sessions"
    rows = opendata.published_table(folder, label, chosen) if folder and label else []
    return page.render(
        "observatory.html",
        {
            "periods": periods,
            "period": label,
            "tables": tables,
            "table": chosen,
            "rows": rows,
            "site_name": _site_name,
            "charts": _charts(folder, label, site, _),
            "threshold": page.settings.observatory_min_sessions,
            "files": opendata.PACKAGE_FILES,
            "public_prefix": PUBLIC_PREFIX,
        },
    )


@router.get("/observatoire/donnees/{periode}/{fichier}", response_model=None)
def observatory_file(page: PageDep, periode: str, fichier: str) -> Response:
    return _serve(_file(_folder(page.settings), periode, fichier))


@router.get("/observatoire/graphiques/{periode}/{graphique}", response_model=None)
def observatory_chart(page: PageDep, periode: str, graphique: str) -> Response:
    folder = _folder(page.settings)
    name = graphique.removesuffix(".svg")
    if folder is None or periode not in opendata.published_periods(folder) or name not in CHARTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such chart")
    svg = _charts(folder, periode, None, page.language.gettext)[name]
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="{periode}-{name}.svg"'},
    )


@router.get(PUBLIC_PREFIX, response_model=None)
def open_data_index(settings: SettingsDep) -> Response:
    """The published periods and their Data Packages (open data, Etalab-2.0, no login)."""
    periods = opendata.published_periods(_folder(settings))
    return JSONResponse(
        {
            "licence": opendata.LICENCE,
            "periodes": [
                {"periode": p, "datapackage": f"{PUBLIC_PREFIX}/{p}/datapackage.json"}
                for p in periods
            ],
        }
    )


@router.get(PUBLIC_PREFIX + "/{periode}/{fichier}", response_model=None)
def open_data_file(settings: SettingsDep, periode: str, fichier: str) -> Response:
    """One file of a period's Data Package (``datapackage.json`` or one of its CSV)."""
    return _serve(_file(_folder(settings), periode, fichier))
