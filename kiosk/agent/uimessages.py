"""The agent's side of the local socket (:mod:`kiosk.contract.local`), without pydantic.

:mod:`kiosk.contract.local` keeps the pydantic models the kiosk UI sends and reads with. The agent
reads a heartbeat every few seconds for months: with those models it would keep pydantic and
the catalog's models resident (about 11 MB, docs/agent.md "Memory"). So it reads the UI's lines
here, checked by hand, with types as strict as the models' or stricter (a ``true`` never stands
for a number, a ``"1"`` never for ``true``: the UI's own encoder never writes either), and
writes its orders in the JSON the models read. ``tests/agent/test_uimessages.py`` holds the
two sides to the same answers, line by line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Final, Literal, TypeAlias

from kiosk.contract.wire import (
    COMMAND_ID_PATTERN,
    LOCAL_PROTOCOL_VERSION,
    MAX_HELP_COUNT,
    SCREENSHOT_MAX_BYTES,
    LocalProtocolError,
    Scalar,
    decode_local_line,
)

#: A catalog tile id: :data:`kiosk.contract.catalog.ID_PATTERN` (a test keeps the two the same; the
#: catalog module is not imported: it builds pydantic models).
TILE_ID_PATTERN: Final = r"^[a-z0-9-]{2,40}$"
SCREENSHOT_PART_CHARS: Final = 12_000
SCREENSHOT_MAX_PARTS: Final = 8

_TILE_ID_RE: Final = re.compile(TILE_ID_PATTERN)
_SESSION_ID_RE: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_VERSION_RE: Final = re.compile(r"^[A-Za-z0-9_.+-]{1,40}$")
_COMMAND_ID_RE: Final = re.compile(f"^{COMMAND_ID_PATTERN}$")
_LANGUAGE_RE: Final = re.compile(r"^[a-z]{2,3}$")
_BASE64_RE: Final = re.compile(r"^[A-Za-z0-9+/=]*$")

SessionEndReason = Literal["button", "idle", "max_length", "command"]
ScreenshotRefusal = Literal["session_open", "not_home", "failed"]


def _invalid(where: str, what: str) -> LocalProtocolError:
    return LocalProtocolError("invalid", f"{where}: {what}"[:300])


def _matching(where: str, value: object, pattern: re.Pattern[str]) -> str:
    # fullmatch: with re.match, the patterns' "$" would let a final newline through.
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _invalid(where, f"must match {pattern.pattern}")
    return value


def _flag(where: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise _invalid(where, "must be true or false")
    return value


def _whole(where: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(where, f"must be a whole number from {low} to {high}")
    return value


def _short_text(where: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _invalid(where, f"must be a text of at most {limit} characters")
    if "://" in value:
        raise _invalid(where, "must not look like a URL")
    return value


def _names(where: str, value: object, pattern: re.Pattern[str], most: int) -> list[str]:
    if not isinstance(value, list | tuple) or len(value) > most:
        raise _invalid(where, f"must be a list of at most {most}")
    return [_matching(f"{where}.{index}", item, pattern) for index, item in enumerate(value)]


class _Line:
    """A frozen dataclass with the local protocol's JSON form: ``v``, ``type``, its fields."""

    __slots__ = ()
    TYPE: str = ""

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"v": LOCAL_PROTOCOL_VERSION, "type": self.TYPE}
        for spec in fields(self):  # type: ignore[arg-type]
            value = getattr(self, spec.name)
            if isinstance(value, HelpUsage | SessionAssist):
                value = value.as_json()
            elif isinstance(value, list | tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            body[spec.name] = value
        return body


def encode(message: _Line) -> bytes:
    """One message as a line of JSON, newline included (as :func:`kiosk.contract.local.encode`)."""
    return json.dumps(message.as_json(), ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# --------------------------------------------------------------------------------------------
# What a session used (the contract's HelpUsage and SessionAssist, read from the UI)


@dataclass(frozen=True, slots=True, kw_only=True)
class HelpUsage:
    """How one session used the help pages (see :class:`kiosk.contract.mqtt.HelpUsage`)."""

    guide_opened: int = 0
    places_shown: int = 0
    numbers_shown: int = 0

    def __post_init__(self) -> None:
        for spec in fields(self):
            _whole(f"help.{spec.name}", getattr(self, spec.name), 0, MAX_HELP_COUNT)

    def as_json(self) -> dict[str, int]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionAssist:
    """The kiosk settings a session used (see :class:`kiosk.contract.mqtt.SessionAssist`)."""

    language: str | None = None
    read_aloud: bool = False
    large_text: bool = False
    high_contrast: bool = False

    def __post_init__(self) -> None:
        if self.language is not None:
            _matching("assist.language", self.language, _LANGUAGE_RE)
        for name in ("read_aloud", "large_text", "high_contrast"):
            _flag(f"assist.{name}", getattr(self, name))

    def as_json(self) -> dict[str, object]:
        return {spec.name: getattr(self, spec.name) for spec in fields(self)}

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


# --------------------------------------------------------------------------------------------
# UI -> agent


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat(_Line):
    TYPE = "heartbeat"
    ui_version: str
    session_open: bool

    def __post_init__(self) -> None:
        _matching("ui_version", self.ui_version, _VERSION_RE)
        _flag("session_open", self.session_open)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(_Line):
    TYPE = "session_started"
    session_id: str
    tile_id: str

    def __post_init__(self) -> None:
        _matching("session_id", self.session_id, _SESSION_ID_RE)
        _matching("tile_id", self.tile_id, _TILE_ID_RE)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEnded(_Line):
    TYPE = "session_ended"
    session_id: str
    duration_s: float
    tiles_used: Sequence[str] = ()
    reason: SessionEndReason
    help: HelpUsage = field(default_factory=HelpUsage)
    assist: SessionAssist = field(default_factory=SessionAssist)

    def __post_init__(self) -> None:
        _matching("session_id", self.session_id, _SESSION_ID_RE)
        duration = self.duration_s
        if (
            isinstance(duration, bool)
            or not isinstance(duration, int | float)
            or not math.isfinite(duration)
            or not 0 <= duration <= 86400
        ):
            raise _invalid("duration_s", "must be a number from 0 to 86400")
        object.__setattr__(self, "duration_s", float(duration))  # as the model reads it
        object.__setattr__(
            self, "tiles_used", _names("tiles_used", self.tiles_used, _TILE_ID_RE, 32)
        )
        if self.reason not in ("button", "idle", "max_length", "command"):
            raise _invalid("reason", "must be button, idle, max_length or command")


@dataclass(frozen=True, slots=True, kw_only=True)
class WipeResult(_Line):
    TYPE = "wipe_result"
    ok: bool
    checks_failed: Sequence[str] = ()

    def __post_init__(self) -> None:
        _flag("ok", self.ok)
        checks = _names("checks_failed", self.checks_failed, _NAME_RE, 32)
        object.__setattr__(self, "checks_failed", checks)


@dataclass(frozen=True, slots=True, kw_only=True)
class Crash(_Line):
    TYPE = "crash"
    component: str
    reason: str

    def __post_init__(self) -> None:
        _matching("component", self.component, _NAME_RE)
        _short_text("reason", self.reason, 120)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreenshotPart(_Line):
    TYPE = "screenshot_part"
    request_id: str
    refused: ScreenshotRefusal | None = None
    index: int = 0
    count: int = 1
    data: str = ""

    def __post_init__(self) -> None:
        _matching("request_id", self.request_id, _COMMAND_ID_RE)
        if self.refused not in (None, "session_open", "not_home", "failed"):
            raise _invalid("refused", "must be session_open, not_home, failed or null")
        _whole("index", self.index, 0, SCREENSHOT_MAX_PARTS - 1)
        _whole("count", self.count, 1, SCREENSHOT_MAX_PARTS)
        if not isinstance(self.data, str) or len(self.data) > SCREENSHOT_PART_CHARS:
            raise _invalid("data", f"must be at most {SCREENSHOT_PART_CHARS} characters")
        _matching("data", self.data, _BASE64_RE)


# --------------------------------------------------------------------------------------------
# Agent -> UI


@dataclass(frozen=True, slots=True, kw_only=True)
class WipeNow(_Line):
    """End any resident session now and wipe (a fleet ``wipe_session`` command)."""

    TYPE = "wipe_now"
    command_id: str

    def __post_init__(self) -> None:
        _matching("command_id", self.command_id, _COMMAND_ID_RE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings(_Line):
    """Settings the UI applies (idle timeout, brightness schedule...)."""

    TYPE = "settings"
    settings: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.settings, Mapping) or len(self.settings) > 32:
            raise _invalid("settings", "at most 32 entries")
        for key, value in self.settings.items():
            _matching("settings", key, _NAME_RE)
            if isinstance(value, str):
                _short_text(f"settings.{key}", value, 200)
            elif value is not None and not isinstance(value, int | float):
                raise _invalid(f"settings.{key}", "must be a text, a number, true, false or null")
            elif isinstance(value, float) and not math.isfinite(value):
                raise _invalid(f"settings.{key}", "must be finite")


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreenshotRequest(_Line):
    """A fleet ``screenshot`` command: a PNG of the screen, if no resident session is open."""

    TYPE = "screenshot_request"
    request_id: str
    max_bytes: int

    def __post_init__(self) -> None:
        _matching("request_id", self.request_id, _COMMAND_ID_RE)
        _whole("max_bytes", self.max_bytes, 1_000, SCREENSHOT_MAX_BYTES)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContentSwitch(_Line):
    """A new content bundle is installed: switch to it at the next idle moment."""

    TYPE = "content_switch"
    version: str

    def __post_init__(self) -> None:
        _matching("version", self.version, _VERSION_RE)


UiMessage: TypeAlias = (
    Heartbeat | SessionStarted | SessionEnded | WipeResult | Crash | ScreenshotPart
)
AgentMessage: TypeAlias = WipeNow | Settings | ContentSwitch | ScreenshotRequest

_UI_TYPES: Final[dict[str, type[Any]]] = {
    kind.TYPE: kind
    for kind in (Heartbeat, SessionStarted, SessionEnded, WipeResult, Crash, ScreenshotPart)
}
_NESTED: Final[dict[str, type[HelpUsage | SessionAssist]]] = {
    "help": HelpUsage,
    "assist": SessionAssist,
}


def _known_fields(kind: type[Any], raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``raw`` without ``v`` and ``type``, refused if it names a field ``kind`` lacks or
    lacks one without a default."""
    names = {spec.name: spec for spec in fields(kind)}
    values = {key: value for key, value in raw.items() if key not in ("v", "type")}
    for key in values:
        if key not in names:
            raise _invalid(f"{where}{key}"[:60], "Extra inputs are not permitted")
    for name, spec in names.items():
        if name not in values and spec.default is spec.default_factory is MISSING:
            raise _invalid(f"{where}{name}", "Field required")
    return values


def decode_ui_message(line: bytes) -> UiMessage:
    """Decode one line sent by the UI, or raise :class:`LocalProtocolError`."""
    raw = decode_local_line(line)
    name = raw.get("type")
    kind = _UI_TYPES.get(name) if isinstance(name, str) else None
    if kind is None:
        raise _invalid("type", f"unknown message type {str(raw.get('type'))[:40]!r}")
    values = _known_fields(kind, raw, "")
    for name, nested in _NESTED.items():
        if name in values:
            inner = values[name]
            if not isinstance(inner, dict):
                raise _invalid(name, "must be an object")
            values[name] = nested(**_known_fields(nested, inner, f"{name}."))
    message: UiMessage = kind(**values)
    return message
