"""The payloads the agent sends and the one it reads at every connection, without pydantic.

The pydantic models of :mod:`kiosk.contract.mqtt` stay the source of truth (the fleet validates with
them, and docs/protocol.md is generated from them). The agent runs for months under an RSS
target; pydantic and the contract's models would cost it about 12 MB resident for the whole
time (docs/agent.md, "Memory"). So it builds what it sends as frozen dataclasses checked by
hand against the same limits, and reads the retained ``desired`` state the same way, with the
strict types of :func:`kiosk.contract.mqtt.decode`. ``tests/agent/test_messages.py`` checks that
both sides accept and refuse the same payloads and agree on every value.

Commands are read the same way, and the ``logs`` and ``screenshot`` outputs built so.

Over 400 lines because it mirrors every payload of kiosk.contract.mqtt the agent sends or reads,
field by field, so that the parity tests can hold each class against its model.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Final, get_args

from kiosk.contract.wire import (
    COMMAND_ID_PATTERN,
    INT64_MAX,
    LOG_LINE_MAX_CHARS,
    LOG_LINES_MAX,
    LOG_TEXT_MAX_CHARS,
    OWN_UNITS,
    PROTOCOL_VERSION,
    SCREENSHOT_MAX_BYTES,
    AckResult,
    Address,
    Channel,
    CommandName,
    ContractError,
    OwnUnit,
    Presence,
    Scalar,
    decode_object,
    parse_topic,
    png_only,
    redacted_already,
    refuse_personal_data,
    timestamp_in_bounds,
    timestamp_input,
)

SHORT_TEXT_CHARS: Final = 200
_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_.]{0,63}")
_COMMAND_ID_RE: Final = re.compile(COMMAND_ID_PATTERN)


def _invalid(where: str, what: str) -> ContractError:
    return ContractError("invalid", f"{where}: {what}"[:300])


def _bounded(where: str, value: object, low: float, high: float, integer: bool) -> None:
    """``value`` is a number (a whole one if ``integer``), finite, within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(where, "must be a number")
    if integer and not isinstance(value, int):
        raise _invalid(where, "must be a whole number")
    if not math.isfinite(value) or not low <= value <= high:
        raise _invalid(where, f"must be from {low} to {high}")


def _count(where: str, value: object) -> None:
    _bounded(where, value, 0, INT64_MAX, integer=True)


def _percent(where: str, value: object) -> None:
    _bounded(where, value, 0, 100, integer=False)


def _optional(where: str, value: object, low: float, high: float) -> None:
    if value is not None:
        _bounded(where, value, low, high, integer=False)


def _short_text(where: str, value: object) -> None:
    if not isinstance(value, str) or len(value) > SHORT_TEXT_CHARS:
        raise _invalid(where, f"must be a text of at most {SHORT_TEXT_CHARS} characters")


def _flag(where: str, value: object, optional: bool = False) -> None:
    if not (isinstance(value, bool) or (optional and value is None)):
        raise _invalid(where, "must be true or false")


def _timestamp(where: str, value: object) -> datetime:
    """As the contract's ``Timestamp``: an ISO 8601 text (or a datetime) with its offset,
    within bounds, read back in UTC."""
    try:
        moment = timestamp_input(value)
    except ValueError as exc:
        raise _invalid(where, str(exc)) from exc
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _invalid(where, "a timestamp needs its time zone offset")
    try:
        return timestamp_in_bounds(moment)
    except ValueError as exc:
        raise _invalid(where, str(exc)) from exc


def _scalars(where: str, value: object) -> dict[str, Scalar]:
    """A ``dict[str, Scalar]`` with no URL or long text in it (the contract's free values)."""
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise _invalid(where, "must be an object")
    for key, item in value.items():
        if not (item is None or isinstance(item, str | int | float)):
            raise _invalid(f"{where}.{key}", "must be a text, a number, true, false or null")
        if isinstance(item, float) and not math.isfinite(item):
            raise _invalid(f"{where}.{key}", "must be finite")
    try:
        return refuse_personal_data(dict(value))
    except ValueError as exc:
        raise _invalid(where, str(exc)) from exc


def _json_value(value: object) -> object:
    """What :meth:`kiosk.contract.mqtt.Message.to_bytes` writes: no ``None`` field, times in UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Payload):
        return value.as_json()
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


class Payload:
    """A frozen dataclass with the contract's JSON form."""

    __slots__ = ()

    def as_json(self) -> dict[str, object]:
        found = ((f.name, getattr(self, f.name)) for f in fields(self))  # type: ignore[arg-type]
        return {name: _json_value(value) for name, value in found if value is not None}


class Message(Payload):
    """A whole payload: ``v`` first, then its fields."""

    __slots__ = ()

    def to_bytes(self) -> bytes:
        body = {"v": PROTOCOL_VERSION, **self.as_json()}
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True, kw_only=True)
class Disk(Payload):
    mount: str
    total_bytes: int
    used_percent: float

    def __post_init__(self) -> None:
        _short_text("disks.mount", self.mount)
        _count("disks.total_bytes", self.total_bytes)
        _percent("disks.used_percent", self.used_percent)


@dataclass(frozen=True, slots=True, kw_only=True)
class NetInterface(Payload):
    name: str
    up: bool
    bytes_sent: int
    bytes_recv: int

    def __post_init__(self) -> None:
        _short_text("net.name", self.name)
        _flag("net.up", self.up)
        _count("net.bytes_sent", self.bytes_sent)
        _count("net.bytes_recv", self.bytes_recv)


@dataclass(frozen=True, slots=True, kw_only=True)
class UiState(Payload):
    """What the agent knows of the kiosk UI (see :class:`kiosk.contract.mqtt.UiState`)."""

    alive: bool
    heartbeat_age_s: float | None = None
    session_open: bool = False
    sessions_total: int = 0
    last_wipe_ok: bool | None = None
    last_wipe_at: datetime | None = None

    def __post_init__(self) -> None:
        _flag("ui.alive", self.alive)
        _optional("ui.heartbeat_age_s", self.heartbeat_age_s, 0, 1e12)
        _flag("ui.session_open", self.session_open)
        _count("ui.sessions_total", self.sessions_total)
        _flag("ui.last_wipe_ok", self.last_wipe_ok, optional=True)
        if self.last_wipe_at is not None:
            object.__setattr__(
                self, "last_wipe_at", _timestamp("ui.last_wipe_at", self.last_wipe_at)
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Enclosure(Payload):
    """The street furniture's own sensors (see :class:`kiosk.contract.mqtt.Enclosure`)."""

    door_open: bool | None = None
    temperature_c: float | None = None
    humidity_percent: float | None = None
    backlight_percent: float | None = None

    def __post_init__(self) -> None:
        _flag("enclosure.door_open", self.door_open, optional=True)
        _optional("enclosure.temperature_c", self.temperature_c, -273.15, 10_000)
        _optional("enclosure.humidity_percent", self.humidity_percent, 0, 100)
        _optional("enclosure.backlight_percent", self.backlight_percent, 0, 100)


@dataclass(frozen=True, slots=True, kw_only=True)
class Health(Message):
    """A health report (see :class:`kiosk.contract.mqtt.Health` for the meaning of each field)."""

    seq: int
    sent_at: datetime
    uptime_s: float
    cpu_percent: float
    load_1m: float | None = None
    memory_percent: float
    memory_total_bytes: int
    disks: Sequence[Disk] = ()
    temperatures_c: Mapping[str, float] = field(default_factory=dict)
    net: Sequence[NetInterface] = ()
    clock_offset_ms: float | None = None
    clock_synced: bool | None = None
    ui: UiState | None = None
    enclosure: Enclosure | None = None
    dropped_samples: int = 0

    def __post_init__(self) -> None:
        _count("seq", self.seq)
        object.__setattr__(self, "sent_at", _timestamp("sent_at", self.sent_at))
        _bounded("uptime_s", self.uptime_s, 0, 1e12, integer=False)
        _percent("cpu_percent", self.cpu_percent)
        _optional("load_1m", self.load_1m, 0, 1e12)
        _percent("memory_percent", self.memory_percent)
        _count("memory_total_bytes", self.memory_total_bytes)
        object.__setattr__(self, "disks", tuple(self.disks))
        object.__setattr__(self, "net", tuple(self.net))
        if len(self.disks) > 16 or len(self.net) > 16 or len(self.temperatures_c) > 32:
            raise _invalid("health", "at most 16 disks, 16 interfaces and 32 temperatures")
        for label, celsius in self.temperatures_c.items():
            _short_text("temperatures_c", label)
            _bounded(f"temperatures_c.{label}", celsius, -273.15, 10_000, integer=False)
        _optional("clock_offset_ms", self.clock_offset_ms, -1e13, 1e13)
        _flag("clock_synced", self.clock_synced, optional=True)
        _count("dropped_samples", self.dropped_samples)

    def numbered(self, seq: int) -> Health:
        return replace(self, seq=seq)


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Message):
    """The birth, the clean stop or the will (see :class:`kiosk.contract.mqtt.Status`)."""

    state: Presence
    boot_id: str
    birth_seq: int = 0
    sent_at: datetime
    keepalive_s: int
    versions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in tuple(Presence):
            raise _invalid("state", "must be online, offline or lost")
        _short_text("boot_id", self.boot_id)
        _count("birth_seq", self.birth_seq)
        object.__setattr__(self, "sent_at", _timestamp("sent_at", self.sent_at))
        _bounded("keepalive_s", self.keepalive_s, 1, 3600, integer=True)
        if len(self.versions) > 16:
            raise _invalid("versions", "at most 16 entries")
        for name, version in self.versions.items():
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise _invalid("versions", f"{name!r} is not a name")
            _short_text(f"versions.{name}", version)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Message):
    """Something happened on the terminal (see :class:`kiosk.contract.mqtt.Event`)."""

    seq: int
    sent_at: datetime
    kind: str
    data: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _count("seq", self.seq)
        object.__setattr__(self, "sent_at", _timestamp("sent_at", self.sent_at))
        if not isinstance(self.kind, str) or not _NAME_RE.fullmatch(self.kind):
            raise _invalid("kind", f"{str(self.kind)[:40]!r} is not a name")
        _scalars("data", self.data)

    def numbered(self, seq: int) -> Event:
        return replace(self, seq=seq)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine(Payload):
    """One redacted line of an own unit's journal (see :class:`kiosk.contract.mqtt.LogLine`)."""

    at: datetime
    unit: OwnUnit
    priority: int
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _timestamp("logs.at", self.at))
        if self.unit not in OWN_UNITS:
            raise _invalid("logs.unit", f"must be one of {', '.join(OWN_UNITS)}")
        _bounded("logs.priority", self.priority, 0, 7, integer=True)
        if not isinstance(self.text, str) or len(self.text) > LOG_LINE_MAX_CHARS:
            raise _invalid(
                "logs.text", f"must be a text of at most {LOG_LINE_MAX_CHARS} characters"
            )
        try:
            redacted_already(self.text)
        except ValueError as exc:
            raise _invalid("logs.text", str(exc)) from exc


#: base64 of the largest PNG a screenshot may bring back, with its padding.
SCREENSHOT_MAX_CHARS: Final = 4 * (SCREENSHOT_MAX_BYTES + 2) // 3 + 4


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandOutput(Payload):
    """What a ``logs`` or ``screenshot`` command brings back (see
    :class:`kiosk.contract.mqtt.CommandOutput`)."""

    logs: Sequence[LogLine] | None = None
    screenshot_png: str | None = None

    def __post_init__(self) -> None:
        if self.logs is not None:
            object.__setattr__(self, "logs", tuple(self.logs))
            if len(self.logs) > LOG_LINES_MAX:
                raise _invalid("logs", f"at most {LOG_LINES_MAX} lines")
            if sum(len(line.text) for line in self.logs) > LOG_TEXT_MAX_CHARS:
                raise _invalid("logs", f"more than {LOG_TEXT_MAX_CHARS} characters")
        if self.screenshot_png is not None:
            if (
                not isinstance(self.screenshot_png, str)
                or len(self.screenshot_png) > SCREENSHOT_MAX_CHARS
            ):
                raise _invalid("screenshot_png", "too long")
            try:
                png_only(self.screenshot_png)
            except ValueError as exc:
                raise _invalid("screenshot_png", str(exc)) from exc

    def png(self) -> bytes | None:
        return None if self.screenshot_png is None else base64.b64decode(self.screenshot_png)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandAck(Message):
    """The answer to a command (see :class:`kiosk.contract.mqtt.CommandAck`)."""

    id: str
    result: AckResult
    reason: str | None = None
    seq: int
    sent_at: datetime
    output: CommandOutput | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _COMMAND_ID_RE.fullmatch(self.id):
            raise _invalid("id", "is not a command id")
        if self.result not in tuple(AckResult):
            raise _invalid("result", "must be accepted, done, failed or refused")
        if self.reason is not None:
            _short_text("reason", self.reason)
        _count("seq", self.seq)
        object.__setattr__(self, "sent_at", _timestamp("sent_at", self.sent_at))
        if self.output is not None and self.result != AckResult.DONE:
            raise _invalid("output", "an output comes only with a 'done' ack")

    def numbered(self, seq: int) -> CommandAck:
        return replace(self, seq=seq)


@dataclass(frozen=True, slots=True, kw_only=True)
class Desired(Message):
    """What the fleet wants this terminal to run (see :class:`kiosk.contract.mqtt.Desired`)."""

    content_version: str | None = None
    settings: Mapping[str, Scalar] = field(default_factory=dict)
    sent_at: datetime

    def __post_init__(self) -> None:
        if self.content_version is not None:
            _short_text("content_version", self.content_version)
        _scalars("settings", self.settings)
        object.__setattr__(self, "sent_at", _timestamp("sent_at", self.sent_at))


COMMAND_NAMES: Final[tuple[str, ...]] = get_args(CommandName)


@dataclass(frozen=True, slots=True, kw_only=True)
class Command(Message):
    """An order from the fleet (see :class:`kiosk.contract.mqtt.Command`)."""

    id: str
    name: CommandName
    args: Mapping[str, Scalar] = field(default_factory=dict)
    issued_at: datetime
    expires_at: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not _COMMAND_ID_RE.fullmatch(self.id):
            raise _invalid("id", f"does not match {COMMAND_ID_PATTERN}")
        if self.name not in COMMAND_NAMES:
            raise _invalid("name", f"must be one of {', '.join(COMMAND_NAMES)}")
        _scalars("args", self.args)
        object.__setattr__(self, "issued_at", _timestamp("issued_at", self.issued_at))
        object.__setattr__(self, "expires_at", _timestamp("expires_at", self.expires_at))

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at


def _fields_of(raw: dict[str, Any], known: frozenset[str], required: tuple[str, ...]) -> None:
    """Refuse, as the models do, a key they do not know or one they need that is absent."""
    extra = sorted(set(raw) - known)
    if extra:
        raise _invalid(extra[0][:40], "Extra inputs are not permitted")
    for name in required:
        if name not in raw:
            raise _invalid(name, "Field required")


_COMMAND_KEYS: Final = frozenset({"v", "id", "name", "args", "issued_at", "expires_at"})


def decode_command(payload: bytes) -> Command:
    """:func:`kiosk.contract.mqtt.decode` of a ``cmd`` payload, to the same strict rules."""
    raw = decode_object(payload)
    _fields_of(raw, _COMMAND_KEYS, ("id", "name", "issued_at", "expires_at"))
    return Command(
        id=raw["id"],
        name=raw["name"],
        args=raw.get("args", {}),
        issued_at=raw["issued_at"],
        expires_at=raw["expires_at"],
    )


_DESIRED_KEYS: Final = frozenset({"v", "content_version", "settings", "sent_at"})


def decode_desired(payload: bytes) -> Desired:
    """:func:`kiosk.contract.mqtt.decode` of a ``desired`` payload, to the same strict rules."""
    raw = decode_object(payload)
    _fields_of(raw, _DESIRED_KEYS, ("sent_at",))
    content_version = raw.get("content_version")
    if content_version is not None and not isinstance(content_version, str):
        raise _invalid("content_version", "must be a text or null")
    return Desired(
        content_version=content_version,
        settings=raw.get("settings", {}),
        sent_at=raw["sent_at"],
    )


def decode_received(topic: str, payload: bytes) -> tuple[Address, Desired | Command]:
    """What the agent reads from the broker (its ``desired`` state and its commands), or
    :class:`ContractError`."""
    address = parse_topic(topic)
    if address.channel is Channel.DESIRED:
        return address, decode_desired(payload)
    if address.channel is Channel.CMD:
        return address, decode_command(payload)
    raise ContractError("bad_topic", f"{topic!r} is not read by a terminal")
