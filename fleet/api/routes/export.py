"""Observatory export: anonymous usage per terminal, commune, day and tile (viewer and up)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse, Response

from fleet import observatory
from fleet.api import errors, formatting
from fleet.api.deps import ApiUser, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["api"])


@router.get(
    "/observatory",
    response_model=None,
    responses={
        200: {
            "description": "The export, as CSV (format=csv) or JSON (format=json).",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        **errors.responses(401, 403, 422),
    },
)
def export_usage(
    user: ApiUser,
    session: SessionDep,
    settings: SettingsDep,
    first_day: Annotated[date, Query(alias="from", description="First day, YYYY-MM-DD.")],
    last_day: Annotated[
        date,
        Query(
            alias="to",
            description=f"Last day (included), YYYY-MM-DD: not before 'from', and at most "
            f"{observatory.MAX_DAYS} days after it (else 422).",
        ),
    ],
    format: Literal["csv", "json"] = "csv",
    table: Annotated[
        Literal["tiles", "help"],
        Query(description="tiles: sessions per tile; help: guide, places and numbers shown"),
    ] = "tiles",
) -> Response:
    """Sessions per day, terminal and tile, or help page use per day and terminal (counts
    only); small counts suppressed."""
    if last_day < first_day:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'to' is before 'from'")
    if (last_day - first_day).days >= observatory.MAX_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"at most {observatory.MAX_DAYS} days per export",
        )
    minimum = settings.observatory_min_sessions
    zone = formatting.display_zone(settings.display_timezone)
    suffix = "" if table == "tiles" else "-help"
    filename = f"observatory{suffix}-{first_day.isoformat()}-{last_day.isoformat()}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if table == "help":
        help_rows = observatory.help_usage(session, first_day, last_day, zone, minimum)
        if format == "json":
            return JSONResponse(
                observatory.to_json(help_rows, first_day, last_day, minimum), headers=headers
            )
        return Response(
            observatory.help_to_csv(help_rows, minimum),
            media_type="text/csv; charset=utf-8",
            headers=headers,
        )
    rows = observatory.usage(session, first_day, last_day, zone, minimum)
    if format == "json":
        body: dict[str, Any] = observatory.to_json(rows, first_day, last_day, minimum)
        return JSONResponse(body, headers=headers)
    return Response(
        observatory.to_csv(rows, minimum), media_type="text/csv; charset=utf-8", headers=headers
    )
