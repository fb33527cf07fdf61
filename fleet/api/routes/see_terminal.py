"""See the terminal: ask for its last log lines or a picture of its idle screen; serve the PNG.

The requests are ordinary commands (``logs``, ``screenshot``): stored, published, held while
the broker or the terminal is away, expired if the terminal does not answer in time. The panel
on the terminal's page (``_see_terminal.html``) shows the latest answer of each, with its time,
or the terminal's refusal (a resident is using it) in the operator's language.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import RedirectResponse, Response

from fleet.api.command_form import FLASH_SESSION_KEY, CommandFormDep
from fleet.api.deps import (
    FormText,
    LanguageDep,
    PageUser,
    SessionDep,
)
from fleet.models import CommandOutputRecord
from fleet.see_terminal import SEE_COMMANDS
from kiosk.contract.mqtt import LOG_LINES_DEFAULT

#: HTML pages: out of the API's OpenAPI document.
router = APIRouter(tags=["dashboard"], include_in_schema=False)

#: How long a request may wait for the terminal: long enough for a short outage.
SEE_TTL_S: Final = 15 * 60


@router.post("/terminals/{terminal_id}/see", response_model=None)
def ask_terminal(terminal_id: str, form: CommandFormDep, name: FormText = "") -> Response:
    """A button of the "See the terminal" panel; back to the page, which says what came of it."""
    args = {"lines": LOG_LINES_DEFAULT} if name == "logs" else {}
    row = form.send(terminal_id, name, SEE_COMMANDS, args, ttl_s=SEE_TTL_S)
    form.request.session[FLASH_SESSION_KEY] = {"name": row.name, "held": row.published_at is None}
    return RedirectResponse(f"/terminals/{terminal_id}#see-terminal", status.HTTP_303_SEE_OTHER)


@router.get("/terminals/{terminal_id}/screen/{command_id}.png", response_model=None)
def screen_picture(
    terminal_id: str, command_id: str, user: PageUser, session: SessionDep, language: LanguageDep
) -> Response:
    """The PNG a ``screenshot`` command brought back (the attract or home screen only)."""
    row = session.get(CommandOutputRecord, command_id)
    if row is None or row.terminal_id != terminal_id or row.png is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, language.gettext("No such picture."))
    return Response(
        row.png,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
