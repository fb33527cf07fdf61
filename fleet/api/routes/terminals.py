"""REST API v1: terminals and their commands as JSON (an API token, or the dashboard's login)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, status
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from fleet import audit, commands, crud
from fleet.api import errors
from fleet.api.deps import ApiOperator, ApiUser, PublisherDep, SessionDep, TerminalIdPath
from kiosk.contract.mqtt import CommandName

router = APIRouter(prefix="/api/v1", tags=["api"], responses=errors.responses(401, 403))

#: What the wire contract lets a command's arguments be (kiosk.contract.mqtt): short scalars under
#: plain keys, no text that looks like an address.
ARG_KEY_PATTERN: Final = r"^[a-z][a-z0-9_]{0,39}$"
NO_URL_PATTERN: Final = r"^(?:(?!://)[\s\S])*$"
MAX_ARGS: Final = 32


def _no_url(value: str) -> str:
    if "://" in value:
        raise ValueError("must not look like an address (no '://')")
    return value


ArgKey = Annotated[str, StringConstraints(pattern=ARG_KEY_PATTERN)]
# Strict: "000" stays text and 0 a number, as the terminal will read them.
ArgText = Annotated[
    StrictStr,
    StringConstraints(max_length=200),
    AfterValidator(_no_url),
    Field(json_schema_extra={"pattern": NO_URL_PATTERN}),
]
ArgValue = ArgText | StrictInt | StrictFloat | StrictBool | None


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
    """A command to send: its name and arguments as the wire contract allows them (the
    terminal then checks what each command accepts), and how long it stays valid."""

    model_config = ConfigDict(extra="forbid")

    name: CommandName
    args: dict[ArgKey, ArgValue] = Field(
        default_factory=dict,
        max_length=MAX_ARGS,
        json_schema_extra={"additionalProperties": False},
    )
    ttl_s: int = Field(
        default=commands.DEFAULT_TTL_S,
        ge=commands.MIN_TTL_S,
        le=commands.MAX_TTL_S,
        description="Seconds the command stays valid; the terminal never applies it later.",
    )


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


@router.post(
    "/terminals/{terminal_id}/commands",
    status_code=status.HTTP_201_CREATED,
    responses=errors.responses(400, 404, 422),
)
def send_command(
    terminal_id: TerminalIdPath,
    body: CommandIn,
    user: ApiOperator,
    session: SessionDep,
    publisher: PublisherDep,
) -> CommandOut:
    """Issue a command; it is stored even if the broker is down, and published when it returns."""
    try:
        row = commands.send_command(
            session, publisher, terminal_id, body.name, dict(body.args), user.username, body.ttl_s
        )
    except commands.UnknownTerminal as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except commands.InvalidCommand as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    audit.record(session, user.username, "command_sent", terminal_id, f"{row.name} ({row.id})")
    session.commit()
    return CommandOut.model_validate(row)


@router.get("/terminals/{terminal_id}/commands", responses=errors.responses(404, 422))
def list_commands(
    terminal_id: TerminalIdPath, user: ApiUser, session: SessionDep
) -> list[CommandOut]:
    """The terminal's latest commands, newest first."""
    if crud.get_terminal(session, terminal_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no terminal {terminal_id!r}")
    commands.expire_overdue(session)
    session.commit()
    return [CommandOut.model_validate(c) for c in commands.recent_commands(session, terminal_id)]
