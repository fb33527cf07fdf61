"""The local socket between the kiosk UI and the agent: JSON lines, one small message per line.

Both ``kiosk.agent.uilink`` (the agent's server) and ``kiosk.agentlink`` (the UI's client) import
this module; it must never import Qt. Every message is a frozen model with a ``type``
discriminator and ``v: 1``; anything else raises :class:`LocalProtocolError` with a short
machine-readable ``reason`` that the receiving side counts.

Privacy: no model has a field for a visited URL or for typed text. Strings are short, made of
identifiers where possible, and free text refuses anything containing ``://``.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from kiosk.contract.catalog import ID_PATTERN
from kiosk.contract.mqtt import SCREENSHOT_MAX_BYTES, CommandId, HelpUsage, Scalar, SessionAssist
from kiosk.contract.wire import LOCAL_PROTOCOL_VERSION as LOCAL_PROTOCOL_VERSION
from kiosk.contract.wire import MAX_LINE_BYTES as MAX_LINE_BYTES
from kiosk.contract.wire import LineSplitter as LineSplitter
from kiosk.contract.wire import LocalProtocolError as LocalProtocolError
from kiosk.contract.wire import decode_local_line


def _no_url(value: str) -> str:
    if "://" in value:
        raise ValueError("must not look like a URL")
    return value


#: Free text: short, never a URL. Used only where an identifier cannot do.
ShortText = Annotated[str, StringConstraints(max_length=120), AfterValidator(_no_url)]
#: A catalog tile id, e.g. ``caf`` or ``france-travail``.
TileId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: A random id the UI draws for each resident session; never derived from the resident.
SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
#: A component or check name, e.g. ``webengine`` or ``cookies_empty``.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")]
Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]{1,40}$")]

SessionEndReason = Literal["button", "idle", "max_length", "command"]


class LocalMessage(BaseModel):
    """Base of every local message: frozen, no unknown fields, a protocol version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = LOCAL_PROTOCOL_VERSION


# --------------------------------------------------------------------------------------------
# UI -> agent


class Heartbeat(LocalMessage):
    """Sent by the UI every few seconds: it is alive, and whether a resident session is open."""

    type: Literal["heartbeat"] = "heartbeat"
    ui_version: Version
    session_open: bool


class SessionStarted(LocalMessage):
    """A resident opened a tile on the home screen."""

    type: Literal["session_started"] = "session_started"
    session_id: SessionId
    tile_id: TileId


class SessionEnded(LocalMessage):
    """A session ended (and its wipe follows): how long, which tiles, why."""

    type: Literal["session_ended"] = "session_ended"
    session_id: SessionId
    duration_s: float = Field(ge=0, le=86400)
    tiles_used: list[TileId] = Field(default_factory=list, max_length=32)
    reason: SessionEndReason
    #: How the help pages were used: counts only (the guide, places, numbers shown).
    help: HelpUsage = Field(default_factory=HelpUsage)
    #: Which of the kiosk's settings the session used (language, read-aloud, text, contrast).
    assist: SessionAssist = Field(default_factory=SessionAssist)


class WipeResult(LocalMessage):
    """The self-check after a privacy wipe: ok, or the names of the checks that failed."""

    type: Literal["wipe_result"] = "wipe_result"
    ok: bool
    checks_failed: list[Name] = Field(default_factory=list, max_length=32)


class Crash(LocalMessage):
    """A UI component failed; ``reason`` is short and carries no personal data."""

    type: Literal["crash"] = "crash"
    component: Name
    reason: ShortText


#: Characters of base64 in one :class:`ScreenshotPart` (a line stays far below the limit).
SCREENSHOT_PART_CHARS: Final = 12_000
#: Parts of one picture, at most (:data:`kiosk.contract.mqtt.SCREENSHOT_MAX_BYTES` fits in 5).
SCREENSHOT_MAX_PARTS: Final = 8
#: Why the UI sends no picture: a resident session is open, the screen is not the attract or
#: home screen (a wipe running, a page open), or the grab failed.
ScreenshotRefusal = Literal["session_open", "not_home", "failed"]


class ScreenshotPart(LocalMessage):
    """The answer to :class:`ScreenshotRequest`: one part of the PNG (base64), or a refusal
    (then ``count`` is 1 and ``data`` empty). The UI answers with a picture only on its attract
    or home screen with no resident session open."""

    type: Literal["screenshot_part"] = "screenshot_part"
    request_id: CommandId
    refused: ScreenshotRefusal | None = None
    index: int = Field(default=0, ge=0, lt=SCREENSHOT_MAX_PARTS)
    count: int = Field(default=1, ge=1, le=SCREENSHOT_MAX_PARTS)
    data: Annotated[
        str, StringConstraints(max_length=SCREENSHOT_PART_CHARS, pattern=r"^[A-Za-z0-9+/=]*$")
    ] = ""


# --------------------------------------------------------------------------------------------
# Agent -> UI


class WipeNow(LocalMessage):
    """End any resident session now and wipe (a fleet ``wipe_session`` command)."""

    type: Literal["wipe_now"] = "wipe_now"
    command_id: CommandId


class Settings(LocalMessage):
    """Settings the UI applies (idle timeout, brightness schedule...)."""

    type: Literal["settings"] = "settings"
    settings: dict[Name, Scalar] = Field(default_factory=dict, max_length=32)

    @field_validator("settings")
    @classmethod
    def _short_values(cls, values: dict[str, Scalar]) -> dict[str, Scalar]:
        for key, value in values.items():
            if isinstance(value, str):
                if len(value) > 200:
                    raise ValueError(f"value of {key!r} is too long")
                _no_url(value)
        return values


class ScreenshotRequest(LocalMessage):
    """A fleet ``screenshot`` command: a PNG of the screen, if no resident session is open."""

    type: Literal["screenshot_request"] = "screenshot_request"
    request_id: CommandId
    max_bytes: int = Field(ge=1_000, le=SCREENSHOT_MAX_BYTES)


class ContentSwitch(LocalMessage):
    """A new content bundle is installed: switch to it at the next idle moment."""

    type: Literal["content_switch"] = "content_switch"
    version: Version


UiMessage: TypeAlias = (
    Heartbeat | SessionStarted | SessionEnded | WipeResult | Crash | ScreenshotPart
)
AgentMessage: TypeAlias = WipeNow | Settings | ContentSwitch | ScreenshotRequest

_UI_MESSAGES: TypeAdapter[UiMessage] = TypeAdapter(
    Annotated[UiMessage, Field(discriminator="type")]
)
_AGENT_MESSAGES: TypeAdapter[AgentMessage] = TypeAdapter(
    Annotated[AgentMessage, Field(discriminator="type")]
)


def encode(message: LocalMessage) -> bytes:
    """One message as a line of JSON, newline included."""
    return message.model_dump_json().encode() + b"\n"


def _validation_error(exc: ValidationError) -> LocalProtocolError:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return LocalProtocolError("invalid", f"{where}: {first['msg']}")


def decode_ui_message(line: bytes) -> UiMessage:
    """Decode one line sent by the UI, or raise :class:`LocalProtocolError`."""
    raw = decode_local_line(line)
    try:
        return _UI_MESSAGES.validate_python(raw)
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def decode_agent_message(line: bytes) -> AgentMessage:
    """Decode one line sent by the agent, or raise :class:`LocalProtocolError`."""
    raw = decode_local_line(line)
    try:
        return _AGENT_MESSAGES.validate_python(raw)
    except ValidationError as exc:
        raise _validation_error(exc) from exc
