"""The placement section of a terminal's page: the city map to click and the message left by
the last placement (the forms that place a terminal are ``routes/placement.py``)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from fleet import citymap
from fleet.api.deps import Language
from fleet.models import Terminal

#: The terminal page shows this message once after a placement (ok, text).
PLACEMENT_FLASH_KEY: Final = "placement_flash"


def placement_context(request: Request, terminal: Terminal, language: Language) -> dict[str, Any]:
    """What the terminal page's placement section needs."""
    flash = request.session.pop(PLACEMENT_FLASH_KEY, None)
    svg = citymap.render_picker(
        terminal.latitude,
        terminal.longitude,
        language.gettext("Plan of Bordeaux Métropole"),
        language.gettext("Click where the terminal stands to fill in its coordinates."),
    )
    return {"placement_flash": flash if isinstance(flash, dict) else None, "picker_svg": svg}
