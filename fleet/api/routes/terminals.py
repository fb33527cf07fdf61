"""REST API v1: terminals and their commands as JSON (session login for now, API tokens later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from fleet import audit, commands, crud
from fleet.api.deps import ApiOperator, ApiUser, PublisherDep, SessionDep

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
    ui_alive: bool | None
    door_open: bool | None
    enclosure_temperature_c: float | None
    clock_synced: bool | None
    clock_offset_ms: float | None
    dropped_samples: int | None
    health_at: datetime | None

    model_config = {"from_attributes": True}


class CommandIn(BaseModel):
    """A command to send; ``name`` and ``args`` are checked against the wire contract."""

    name: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_s: int = commands.DEFAULT_TTL_S


class CommandOut(BaseModel):
    """A command and what became of it; ``published_at`` is null while held for the broker."""

    id: str
    terminal_id: str
    name: str
    args: dict[str, Any]
    state: str
    reason: str | None
    issued_at: datetime
    expires_at: datetime
    issued_by: str
    published_at: datetime | None
    updated_at: datetime

    model_config = {"from_attributes": True}


@router.get("/terminals")
def list_terminals(user: ApiUser, session: SessionDep) -> list[TerminalOut]:
    return [TerminalOut.model_validate(t) for t in crud.list_terminals(session)]


@router.post("/terminals/{terminal_id}/commands", status_code=status.HTTP_201_CREATED)
def send_command(
    terminal_id: str,
    body: CommandIn,
    user: ApiOperator,
    session: SessionDep,
    publisher: PublisherDep,
) -> CommandOut:
    """Issue a command; it is stored even if the broker is down, and published when it returns."""
    try:
        row = commands.send_command(
            session, publisher, terminal_id, body.name, body.args, user.username, body.ttl_s
        )
    except commands.UnknownTerminal as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except commands.InvalidCommand as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit.record(session, user.username, "command_sent", terminal_id, f"{row.name} ({row.id})")
    session.commit()
    return CommandOut.model_validate(row)


@router.get("/terminals/{terminal_id}/commands")
def list_commands(terminal_id: str, user: ApiUser, session: SessionDep) -> list[CommandOut]:
    """The terminal's latest commands, newest first."""
    if crud.get_terminal(session, terminal_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no terminal {terminal_id!r}")
    commands.expire_overdue(session)
    session.commit()
    return [CommandOut.model_validate(c) for c in commands.recent_commands(session, terminal_id)]
