"""REST API v1: terminals as JSON (session login for now, API tokens later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from fleet import crud
from fleet.api.deps import ApiUser, SessionDep

router = APIRouter(prefix="/api/v1", tags=["api"])


class TerminalOut(BaseModel):
    """A terminal's presence and latest health figures."""

    id: str
    state: str
    state_since: datetime
    last_seen_at: datetime | None
    boot_id: str | None
    birth_seq: int | None
    versions: dict[str, Any]
    cpu_percent: float | None
    memory_percent: float | None
    disk_percent: float | None
    temperature_c: float | None
    uptime_s: float | None
    health_at: datetime | None

    model_config = {"from_attributes": True}


@router.get("/terminals")
def list_terminals(user: ApiUser, session: SessionDep) -> list[TerminalOut]:
    return [TerminalOut.model_validate(t) for t in crud.list_terminals(session)]
