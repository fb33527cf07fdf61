"""The wire contract between terminals and the fleet: MQTT topics and payloads, in one place.

Both the device agent and the fleet import this module; it must never import Qt. Every payload is
versioned JSON (field ``v``); anything that does not decode into one of the models below raises
:class:`ContractError` with a short machine-readable ``reason`` that the fleet counts.

Privacy: no model has a field that could carry a visited URL, typed text or a screenshot of a
resident's session. Free-form values are short scalars, and strings that look like URLs are refused.

What needs no model (topics, limits, reasons, the strict JSON) lives in :mod:`kiosk.contract.wire`
and is re-exported here; the device agent imports that half only (docs/agent.md, "Memory").

Over 400 lines because it is the one declaration of every MQTT payload, which docs/protocol.md
is generated from: splitting it would split the contract a reader checks against the wire.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

# The pydantic-free half, re-exported: the fleet and the tests import everything from here.
from kiosk.contract.wire import (
    BROKER_AUTOSAVE_INTERVAL_S,
    COMMAND_CLOCK_SKEW_S,
    COMMAND_ID_PATTERN,
    COMMAND_MAX_VALIDITY_S,
    DECODE_REASONS,
    EARLIEST_TIME,
    FLEET_USERNAME,
    FLEET_USERNAME_PREFIX,
    INT64_MAX,
    INT64_MIN,
    LATEST_TIME,
    LOG_LINE_MAX_CHARS,
    LOG_LINES_DEFAULT,
    LOG_LINES_MAX,
    LOG_TEXT_MAX_CHARS,
    MAX_HELP_COUNT,
    MAX_JSON_DEPTH,
    MAX_PAYLOAD_BYTES,
    OWN_UNITS,
    PNG_SIGNATURE,
    PROTOCOL_VERSION,
    REDACTED,
    RESERVED_TERMINAL_IDS,
    SCREENSHOT_MAX_BYTES,
    TERMINAL_ID_PATTERN,
    TERMINAL_PUBLISHES,
    TERMINAL_READS,
    TOPIC_ROOT,
    AckResult,
    AckResultValue,
    Address,
    Channel,
    CommandName,
    ContentUpdateState,
    ContractError,
    OwnUnit,
    Presence,
    PresenceValue,
    Reason,
    Scalar,
    decode_object,
    is_fleet_username,
    is_valid_terminal_id,
    parse_json,
    parse_topic,
    png_only,
    redact_log_text,
    redacted_already,
    refuse_personal_data,
    shared_subscription,
    subscription_for,
    timestamp_in_bounds,
    timestamp_input,
    topic_for,
    utc_now,
    validate_terminal_id,
)

__all__ = [
    "BROKER_AUTOSAVE_INTERVAL_S",
    "COMMAND_CLOCK_SKEW_S",
    "COMMAND_ID_PATTERN",
    "COMMAND_MAX_VALIDITY_S",
    "DECODE_REASONS",
    "EARLIEST_TIME",
    "FLEET_USERNAME",
    "FLEET_USERNAME_PREFIX",
    "INT64_MAX",
    "INT64_MIN",
    "LATEST_TIME",
    "LOG_LINES_DEFAULT",
    "LOG_LINES_MAX",
    "LOG_LINE_MAX_CHARS",
    "LOG_TEXT_MAX_CHARS",
    "MAX_HELP_COUNT",
    "MAX_JSON_DEPTH",
    "MAX_PAYLOAD_BYTES",
    "MODEL_FOR_CHANNEL",
    "OWN_UNITS",
    "PNG_SIGNATURE",
    "PROTOCOL_VERSION",
    "REDACTED",
    "RESERVED_TERMINAL_IDS",
    "SCREENSHOT_MAX_BYTES",
    "TERMINAL_ID_PATTERN",
    "TERMINAL_PUBLISHES",
    "TERMINAL_READS",
    "TOPIC_ROOT",
    "AckResult",
    "AckResultValue",
    "Address",
    "AnyMessage",
    "Celsius",
    "Channel",
    "Command",
    "CommandAck",
    "CommandId",
    "CommandName",
    "CommandOutput",
    "ContentUpdateState",
    "ContractError",
    "Count",
    "Desired",
    "Disk",
    "Enclosure",
    "Event",
    "Health",
    "HelpCount",
    "HelpUsage",
    "LanguageCode",
    "LogLine",
    "Message",
    "Name",
    "NetInterface",
    "NonNegative",
    "OffsetMs",
    "OwnUnit",
    "Percent",
    "Presence",
    "PresenceValue",
    "Reason",
    "Scalar",
    "Seq",
    "SessionAssist",
    "ShortText",
    "Status",
    "Timestamp",
    "UiState",
    "decode",
    "decode_message",
    "decode_object",
    "is_fleet_username",
    "is_valid_terminal_id",
    "parse_json",
    "parse_topic",
    "png_only",
    "protocol_markdown",
    "redact_log_text",
    "redacted_already",
    "refuse_personal_data",
    "shared_subscription",
    "subscription_for",
    "timestamp_in_bounds",
    "timestamp_input",
    "topic_for",
    "utc_now",
    "validate_terminal_id",
]

# --------------------------------------------------------------------------------------------
# Payloads

ShortText = Annotated[str, StringConstraints(max_length=200)]
Name = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]
CommandId = Annotated[str, StringConstraints(pattern=f"^{COMMAND_ID_PATTERN}$")]
Seq = Annotated[int, Field(ge=0, le=INT64_MAX)]
#: A count or a size in bytes: never negative, within 64 bits.
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Percent = Annotated[float, Field(ge=0, le=100)]
#: Seconds, loads and the like: finite, and small enough to read (1e12 s is 31,700 years).
NonNegative = Annotated[float, Field(ge=0, le=1e12)]
#: Degrees Celsius from a sensor: a broken one may say odd things, not beyond these.
Celsius = Annotated[float, Field(ge=-273.15, le=10_000)]
#: A clock offset in milliseconds (1e13 ms is 317 years).
OffsetMs = Annotated[float, Field(ge=-1e13, le=1e13)]
#: Every timestamp on the wire: aware, within bounds, read back in UTC.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(timestamp_input),
    AfterValidator(timestamp_in_bounds),
]


class Message(BaseModel):
    """Base of every payload: frozen, no unknown fields, a protocol version."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, allow_inf_nan=False)

    v: Literal[1] = PROTOCOL_VERSION

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class Status(Message):
    """Retained on ``status``: the birth, the clean stop, or the will the broker sends for us."""

    state: PresenceValue
    boot_id: ShortText
    birth_seq: Seq = 0
    sent_at: Timestamp
    keepalive_s: int = Field(ge=1, le=3600)
    versions: dict[Name, ShortText] = Field(default_factory=dict, max_length=16)


class Disk(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    mount: ShortText
    total_bytes: Count
    used_percent: Percent


class NetInterface(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: ShortText
    up: bool
    bytes_sent: Count
    bytes_recv: Count


class UiState(BaseModel):
    """What the agent knows of the kiosk UI from its heartbeats on the local socket."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    # False when no heartbeat came within the liveness deadline (15 s).
    alive: bool
    heartbeat_age_s: NonNegative | None = None
    session_open: bool = False
    sessions_total: Count = 0
    # Result of the self-check after the last privacy wipe; None before the first wipe.
    last_wipe_ok: bool | None = None
    last_wipe_at: Timestamp | None = None


class Enclosure(BaseModel):
    """The street furniture's own sensors; None where a sensor is absent."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    door_open: bool | None = None
    temperature_c: Celsius | None = None
    humidity_percent: Percent | None = None
    backlight_percent: Percent | None = None


class Health(Message):
    """Published on ``health`` at an interval (only what changed beyond a deadband is resent)."""

    seq: Seq
    sent_at: Timestamp
    uptime_s: NonNegative
    cpu_percent: Percent
    load_1m: NonNegative | None = None
    memory_percent: Percent
    memory_total_bytes: Count
    disks: list[Disk] = Field(default_factory=list, max_length=16)
    # Sensor label -> degrees Celsius; empty where the hardware exposes none.
    temperatures_c: dict[ShortText, Celsius] = Field(default_factory=dict, max_length=32)
    net: list[NetInterface] = Field(default_factory=list, max_length=16)
    # From the kernel's clock discipline (adjtimex); None where it cannot be read.
    clock_offset_ms: OffsetMs | None = None
    clock_synced: bool | None = None
    ui: UiState | None = None
    enclosure: Enclosure | None = None
    # Samples dropped from the store-and-forward queue when it was full, since the agent started.
    dropped_samples: Count = 0


class Event(Message):
    """Something happened on the terminal (session ended, wipe done, crash, door opened...)."""

    seq: Seq
    sent_at: Timestamp
    kind: Name
    data: dict[str, Scalar] = Field(default_factory=dict)

    _check_data = field_validator("data")(refuse_personal_data)


HelpCount = Annotated[int, Field(default=0, ge=0, le=MAX_HELP_COUNT, strict=True)]


class HelpUsage(BaseModel):
    """How one session used the kiosk's help pages: counts only, never which place or number.

    Its fields are keys of the ``session_ended`` event's ``data``; the observatory adds them up.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    #: Times the help-places guide was opened (moving inside the guide does not count).
    guide_opened: HelpCount = 0
    #: A place's page shown.
    places_shown: HelpCount = 0
    #: A useful or emergency number shown full screen.
    numbers_shown: HelpCount = 0

    def counted(self, kind: str | None, previous: str | None = None) -> HelpUsage:
        """One more ``guide``, ``place`` or ``number`` page (``previous``: the help page before)."""
        if kind == "guide" and previous not in ("guide", "place"):
            return self.model_copy(update={"guide_opened": self._more(self.guide_opened)})
        if kind == "place":
            return self.model_copy(update={"places_shown": self._more(self.places_shown)})
        if kind == "number":
            return self.model_copy(update={"numbers_shown": self._more(self.numbers_shown)})
        return self

    @staticmethod
    def _more(count: int) -> int:
        return min(count + 1, MAX_HELP_COUNT)


#: An interface language code of the kiosk (``fr``, ``en``, ``ar``...), never a locale of a person.
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class SessionAssist(BaseModel):
    """What the session used of the kiosk's own settings: never what was read, said or typed.

    Its fields are keys of the ``session_ended`` event's ``data``; the observatory counts the
    sessions that used each.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    #: The interface language the session ended in (the last one the resident chose).
    language: LanguageCode | None = None
    #: Read-aloud was used at least once.
    read_aloud: bool = False
    #: Large text was switched on at some point.
    large_text: bool = False
    #: High contrast was switched on at some point.
    high_contrast: bool = False

    def event_data(self) -> dict[str, Scalar]:
        """The keys added to the ``session_ended`` event (no language key when unknown)."""
        data: dict[str, Scalar] = {
            "read_aloud": self.read_aloud,
            "large_text": self.large_text,
            "high_contrast": self.high_contrast,
        }
        if self.language is not None:
            data["language"] = self.language
        return data


class LogLine(BaseModel):
    """One line of the journal of one of the appliance's own units, redacted."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    at: Timestamp
    unit: OwnUnit
    #: syslog priority: 0 emergency ... 3 error, 4 warning, 6 info, 7 debug.
    priority: int = Field(ge=0, le=7)
    text: Annotated[
        str, StringConstraints(max_length=LOG_LINE_MAX_CHARS), AfterValidator(redacted_already)
    ]


def _bounded_log_text(lines: list[LogLine] | None) -> list[LogLine] | None:
    if lines is not None and sum(len(line.text) for line in lines) > LOG_TEXT_MAX_CHARS:
        raise ValueError(f"log lines hold more than {LOG_TEXT_MAX_CHARS} characters")
    return lines


class CommandOutput(BaseModel):
    """What a ``logs`` or ``screenshot`` command brings back with its ``done`` ack."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    logs: Annotated[
        list[LogLine] | None, Field(max_length=LOG_LINES_MAX), AfterValidator(_bounded_log_text)
    ] = None
    #: base64 of a PNG of the attract or home screen (never taken during a resident session).
    screenshot_png: Annotated[
        str | None,
        StringConstraints(max_length=4 * (SCREENSHOT_MAX_BYTES + 2) // 3 + 4),
        AfterValidator(png_only),
    ] = None

    def png(self) -> bytes | None:
        return None if self.screenshot_png is None else base64.b64decode(self.screenshot_png)


class Command(Message):
    """Fleet -> terminal on ``cmd``: applied at most once (by ``id``), never once expired."""

    id: CommandId
    name: CommandName
    args: dict[str, Scalar] = Field(default_factory=dict)
    issued_at: Timestamp
    expires_at: Timestamp

    _check_args = field_validator("args")(refuse_personal_data)

    def expired(self, now: datetime | None = None) -> bool:
        return (now or utc_now()) >= self.expires_at


class CommandAck(Message):
    """Terminal -> fleet on ``cmd/ack``. ``reason`` is one of the fixed reasons below when one
    fits, else a short technical detail."""

    id: CommandId
    result: AckResultValue
    reason: ShortText | None = None
    seq: Seq
    sent_at: Timestamp
    #: Only with ``done`` of a ``logs`` or ``screenshot`` command.
    output: CommandOutput | None = None

    @field_validator("output")
    @classmethod
    def _output_when_done(cls, output: CommandOutput | None, info: Any) -> CommandOutput | None:
        if output is not None and info.data.get("result") != "done":
            raise ValueError("an output comes only with a 'done' ack")
        return output


class Desired(Message):
    """Retained fleet -> terminal on ``desired``: the content version and settings wanted."""

    content_version: ShortText | None = None
    settings: dict[str, Scalar] = Field(default_factory=dict)
    sent_at: Timestamp

    _check_settings = field_validator("settings")(refuse_personal_data)


MODEL_FOR_CHANNEL: Final[dict[Channel, type[Message]]] = {
    Channel.STATUS: Status,
    Channel.HEALTH: Health,
    Channel.EVENT: Event,
    Channel.CMD: Command,
    Channel.CMD_ACK: CommandAck,
    Channel.DESIRED: Desired,
}

AnyMessage: TypeAlias = Status | Health | Event | Command | CommandAck | Desired


def decode(channel: Channel, payload: bytes) -> Message:
    """Decode a payload received on ``channel``, or raise :class:`ContractError`.

    Reasons: see :data:`DECODE_REASONS`. Types are strict: no ``"5"`` for an integer, no
    ``1.0`` or ``true`` for the version, no number for a timestamp.
    """
    raw = decode_object(payload)
    try:
        return MODEL_FOR_CHANNEL[channel].model_validate(raw, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ContractError("invalid", f"{where}: {first['msg']}"[:300]) from exc


def decode_message(topic: str, payload: bytes) -> tuple[Address, Message]:
    """Parse the topic and decode the payload in one go."""
    address = parse_topic(topic)
    return address, decode(address.channel, payload)


# --------------------------------------------------------------------------------------------
# Documentation


def protocol_markdown() -> str:
    """The text of ``docs/protocol.md``, generated from the models so it never drifts."""
    lines = [
        "# The wire contract (generated)",
        "",
        "Generated by `python -m kiosk.contract.mqtt` from `kiosk/contract/mqtt.py`; a test fails",
        "when this file differs from what the code says. Do not edit by hand.",
        "",
        f"- Topics: `{TOPIC_ROOT}/<terminal-id>/<channel>`; a terminal id matches "
        f"`{TERMINAL_ID_PATTERN}` and is never `{FLEET_USERNAME}` nor begins with "
        f"`{FLEET_USERNAME_PREFIX}` (the fleet's users).",
        f"- Payloads: UTF-8 JSON objects (no byte order mark) of at most {MAX_PAYLOAD_BYTES} "
        f'bytes, with `"v": {PROTOCOL_VERSION}` (an integer). The JSON is strict: no `NaN` or '
        "`Infinity`, no key twice in an object, integers within 64 bits, at most "
        f"{MAX_JSON_DEPTH} levels of nesting, no NUL or lone surrogate in a string; types are "
        'strict (no `"5"` for an integer, no number for a timestamp), and timestamps are ISO '
        f"8601 with their offset, from {EARLIEST_TIME.year} to {LATEST_TIME.year}. Anything "
        "else is rejected and counted by reason ("
        + ", ".join(f"`{reason}`" for reason in DECODE_REASONS)
        + ", `bad_topic`, `bad_terminal_id`).",
        "- No personal data crosses the wire: no visited URL, no typed text, no screenshot of a",
        "  resident's session. Free-form values are short scalars; strings containing `://` are",
        "  refused.",
        "",
        "| channel | direction | retained | model |",
        "|---|---|---|---|",
    ]
    direction = {
        Channel.STATUS: ("terminal → fleet", "yes"),
        Channel.HEALTH: ("terminal → fleet", "no"),
        Channel.EVENT: ("terminal → fleet", "no"),
        Channel.CMD: ("fleet → terminal", "no"),
        Channel.CMD_ACK: ("terminal → fleet", "no"),
        Channel.DESIRED: ("fleet → terminal", "yes"),
    }
    for channel, model in MODEL_FOR_CHANNEL.items():
        way, retained = direction[channel]
        lines.append(f"| `{channel.value}` | {way} | {retained} | `{model.__name__}` |")
    lines.append("")
    for channel, model in MODEL_FOR_CHANNEL.items():
        lines += [
            f"## `{channel.value}`: {model.__name__}",
            "",
            (model.__doc__ or "").strip(),
            "",
            "```json",
            json.dumps(model.model_json_schema(), indent=2, ensure_ascii=False),
            "```",
            "",
        ]
        if model is CommandAck:
            lines += ["Fixed reasons:", ""]
            lines += [f"- `{reason.value}`" for reason in Reason]
            lines.append("")
        if model is Event:
            lines += [
                "The `session_ended` event's `data` (the observatory counts these, never more):",
                "`duration_s`, `reason` (`button`, `idle`, `max_length`, `command`), "
                "`tiles_count`, `tiles` (catalog ids, commas between), and:",
                "",
            ]
            for name, info in (
                *HelpUsage.model_fields.items(),
                *SessionAssist.model_fields.items(),
            ):
                kind = info.annotation
                shown = kind.__name__ if isinstance(kind, type) else "code or absent"
                lines.append(f"- `{name}`: {shown}")
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(protocol_markdown(), end="")
