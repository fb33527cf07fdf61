"""The pydantic-free half of the contracts: topics, limits, reasons and the strict JSON of
:mod:`kiosk.contract.mqtt` (MQTT), and the line framing of :mod:`kiosk.contract.local` (the local
socket between the kiosk's UI and the agent).

:mod:`kiosk.contract.mqtt` re-exports every public name here and adds the pydantic models of the
payloads (the fleet's and the generated documentation's source of truth). The device agent
imports this module instead, so that it runs for months without pydantic resident (see
docs/agent.md, "Memory"); :mod:`kiosk.agent.messages` checks what it sends and reads by hand.

Over 400 lines because it holds everything on the wire that needs no model, on both sides and
for both links; it is a list of short declarations, and one module keeps the agent's imports to
one.
"""

from __future__ import annotations

import base64
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal, TypeAlias, get_args

PROTOCOL_VERSION: Final = 1
TOPIC_ROOT: Final = "kiosk/v1"
MAX_PAYLOAD_BYTES: Final = 64 * 1024
TERMINAL_ID_PATTERN: Final = r"[a-z0-9-]{3,40}"
COMMAND_ID_PATTERN: Final = r"[A-Za-z0-9_-]{8,64}"
# The fleet's own MQTT user name; no terminal may take it.
FLEET_USERNAME: Final = "fleet"
RESERVED_TERMINAL_IDS: Final = frozenset({FLEET_USERNAME})
#: The longest a command may stay valid (``expires_at - issued_at``): the fleet never issues a
#: longer one, and the terminal refuses it.
COMMAND_MAX_VALIDITY_S: Final = 24 * 3600
#: How far in the future (by the terminal's clock) a command's ``issued_at`` may be before the
#: terminal refuses it: clocks on NTP agree within seconds; more means a forged or replayed order.
COMMAND_CLOCK_SKEW_S: Final = 300
#: Further fleet processes (one MQTT user each, e.g. ``fleet-ingest-2``) are named with this
#: prefix, which no terminal id may take either: the broker ties a client id to its user name.
FLEET_USERNAME_PREFIX: Final = FLEET_USERNAME + "-"
#: The broker writes its state (sessions, subscriptions, queued messages) to disk this often
#: and at a clean stop: a ``kill -9`` or a power cut of the broker loses at most what it
#: acknowledged since. The fleet's broker configuration sets it; a terminal sends again what
#: the broker acknowledged in the last such interval (plus a margin) when the link drops.
BROKER_AUTOSAVE_INTERVAL_S: Final = 5
#: Every integer on the wire fits a signed 64-bit column on every database.
INT64_MAX: Final = 2**63 - 1
INT64_MIN: Final = -(2**63)
#: Objects and arrays nest at most this deep (the deepest model needs 3).
MAX_JSON_DEPTH: Final = 8
#: Timestamps outside these bounds are refused: within them, every time zone conversion and
#: every difference of two timestamps stays valid (a clock at 1970 is still a clock).
EARLIEST_TIME: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME: Final = datetime(9999, 1, 1, tzinfo=UTC)

#: Where a terminal fetches signed content from (``content.base_url`` in ``agent.toml``).
CONTENT_URL_PATTERN: Final = r"^https?://[^\s]+$"

_TERMINAL_ID_RE = re.compile(TERMINAL_ID_PATTERN)


class Channel(StrEnum):
    """The sub-topics under ``kiosk/v1/<terminal-id>/``."""

    STATUS = "status"  # retained: birth "online", last will "lost", clean stop "offline"
    HEALTH = "health"  # periodic metrics, terminal -> fleet
    EVENT = "event"  # something happened on the terminal, terminal -> fleet
    CMD = "cmd"  # fleet -> terminal
    CMD_ACK = "cmd/ack"  # terminal -> fleet
    DESIRED = "desired"  # retained: what the fleet wants the terminal to run, fleet -> terminal


#: Channels a terminal publishes on (under its own prefix only, enforced by the broker's ACL).
TERMINAL_PUBLISHES: Final = (Channel.STATUS, Channel.HEALTH, Channel.EVENT, Channel.CMD_ACK)
#: Channels a terminal reads (its own only).
TERMINAL_READS: Final = (Channel.CMD, Channel.DESIRED)


class ContractError(ValueError):
    """A topic or payload that does not follow the contract."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------------------------
# Topics


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message was published: which terminal, which channel."""

    terminal_id: str
    channel: Channel

    @property
    def topic(self) -> str:
        return topic_for(self.terminal_id, self.channel)


def is_fleet_username(username: str) -> bool:
    """True for the fleet's MQTT users: ``fleet`` and ``fleet-<instance>``."""
    return username == FLEET_USERNAME or username.startswith(FLEET_USERNAME_PREFIX)


def is_valid_terminal_id(terminal_id: str) -> bool:
    return (
        _TERMINAL_ID_RE.fullmatch(terminal_id) is not None
        and terminal_id not in RESERVED_TERMINAL_IDS
        and not is_fleet_username(terminal_id)
    )


def validate_terminal_id(terminal_id: str) -> str:
    """Return ``terminal_id`` if it is a valid terminal id, else raise :class:`ContractError`."""
    if not is_valid_terminal_id(terminal_id):
        raise ContractError(
            "bad_terminal_id",
            f"{terminal_id!r} is not 3 to 40 of a-z, 0-9 and '-' (or is reserved: "
            f"{FLEET_USERNAME!r} and {FLEET_USERNAME_PREFIX!r}... are the fleet's)",
        )
    return terminal_id


def topic_for(terminal_id: str, channel: Channel) -> str:
    """The topic of ``channel`` for ``terminal_id``, e.g. ``kiosk/v1/bdx-001/health``."""
    return f"{TOPIC_ROOT}/{validate_terminal_id(terminal_id)}/{channel.value}"


def parse_topic(topic: str) -> Address:
    """Split a topic into terminal id and channel, or raise :class:`ContractError`."""
    prefix = TOPIC_ROOT + "/"
    if not topic.startswith(prefix):
        raise ContractError("bad_topic", f"{topic!r} is not under {TOPIC_ROOT}/")
    terminal_id, _, rest = topic[len(prefix) :].partition("/")
    try:
        channel = Channel(rest)
    except ValueError as exc:
        raise ContractError("bad_topic", f"{topic!r} has no known channel") from exc
    return Address(validate_terminal_id(terminal_id), channel)


def subscription_for(channel: Channel | None = None, terminal_id: str | None = None) -> str:
    """A subscription filter: one channel or all, one terminal or all (``+``)."""
    who = "+" if terminal_id is None else validate_terminal_id(terminal_id)
    if channel is None:
        return f"{TOPIC_ROOT}/{who}/#"
    return f"{TOPIC_ROOT}/{who}/{channel.value}"


def shared_subscription(group: str, topic_filter: str) -> str:
    """An MQTT v5 shared subscription, so that several fleet processes split the load."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", group):
        raise ContractError("bad_group", f"{group!r} is not a valid share group name")
    return f"$share/{group}/{topic_filter}"


# --------------------------------------------------------------------------------------------
# Payloads: the parts that need no model

Scalar: TypeAlias = str | int | float | bool | None


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp_input(value: Any) -> Any:
    """A timestamp is an ISO 8601 string with its offset (or a datetime, in Python): never a
    number of seconds, which lax parsing would take as a Unix time."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{value[:40]!r} is not an ISO 8601 timestamp") from exc
    raise ValueError("a timestamp must be an ISO 8601 string with its offset")


def timestamp_in_bounds(value: datetime) -> datetime:
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValueError(
            f"{value.isoformat()} is before {EARLIEST_TIME.year} or after {LATEST_TIME.year}"
        )
    return value.astimezone(UTC)


def refuse_personal_data(values: dict[str, Scalar]) -> dict[str, Scalar]:
    """Free-form values must not smuggle a URL or a long text off the terminal."""
    if len(values) > 32:
        raise ValueError("at most 32 entries")
    for key, value in values.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", key):
            raise ValueError(f"key {key!r} must be 1 to 40 of a-z, 0-9 and '_'")
        if isinstance(value, str) and (len(value) > 200 or "://" in value):
            raise ValueError(f"value of {key!r} is too long or looks like a URL")
    return values


#: The most one session may count of one kind of help page.
MAX_HELP_COUNT: Final = 10_000

CommandName = Literal[
    "reboot", "restart_ui", "wipe_session", "screenshot", "set_settings", "refresh_content", "logs"
]

# --------------------------------------------------------------------------------------------
# What "See the terminal" brings back: the journal of the appliance's own units, and a picture
# of the screen when no resident session is open. Never anything of a resident.

#: The appliance's own systemd units whose journal the ``logs`` command reads (no other unit).
OwnUnit = Literal["kiosk-agent.service", "kiosk-ui.service"]
OWN_UNITS: Final[tuple[str, ...]] = get_args(OwnUnit)
#: Lines a ``logs`` command returns by default, and at most (its ``lines`` argument).
LOG_LINES_DEFAULT: Final = 50
LOG_LINES_MAX: Final = 200
#: Characters of one log line, at most (longer ones are cut), and of all the lines together.
LOG_LINE_MAX_CHARS: Final = 200
LOG_TEXT_MAX_CHARS: Final = 24_000
#: Bytes of the PNG a ``screenshot`` command returns, at most (before base64).
SCREENSHOT_MAX_BYTES: Final = 40_000
#: What replaces anything that could be a resident's: an address, an e-mail, a long number.
REDACTED: Final = "[…]"
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"

#: What could carry something of a resident in a log line: a URL (any scheme, or www.), a
#: host name with a path, an e-mail address, a run of 6 digits or more (phone, card, tax or
#: social security number; spaces, dots and dashes between digits count as one run).
_PERSONAL_PATTERNS: Final = (
    re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}:(//|[^\s\d])\S*"),
    re.compile(r"\bwww\.\S+", re.IGNORECASE),
    re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b"),
    re.compile(r"\b[\w-]+(\.[\w-]+)+/\S*"),
    re.compile(r"(?<![A-Za-z0-9_])\+?\d(?:[\s.-]?\d){5,}(?![A-Za-z_])"),
)


def redact_log_text(text: str) -> str:
    """``text`` with anything that looks like a URL, an e-mail or a long number replaced by
    :data:`REDACTED`, control characters dropped, cut to :data:`LOG_LINE_MAX_CHARS`."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    for pattern in _PERSONAL_PATTERNS:
        cleaned = pattern.sub(REDACTED, cleaned)
    if len(cleaned) > LOG_LINE_MAX_CHARS:
        cleaned = cleaned[: LOG_LINE_MAX_CHARS - 1] + "…"
    return cleaned


def redacted_already(text: str) -> str:
    """A log line on the wire must be one that :func:`redact_log_text` leaves as it is."""
    if redact_log_text(text) != text:
        raise ValueError("a log line must be redacted (no URL, e-mail or long number)")
    return text


def png_only(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        data = base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise ValueError("screenshot_png is not base64") from exc
    if not data.startswith(PNG_SIGNATURE) or len(data) > SCREENSHOT_MAX_BYTES:
        raise ValueError(f"screenshot_png is not a PNG of at most {SCREENSHOT_MAX_BYTES} bytes")
    return value


class Presence(StrEnum):
    """What a terminal's retained ``status`` says: up, stopped cleanly, or lost (the broker's
    will for it). The fleet's terminal states are these and ``unknown``."""

    ONLINE = "online"
    OFFLINE = "offline"
    LOST = "lost"


class AckResult(StrEnum):
    """What a terminal answers to a command on ``cmd/ack``. The fleet's command states are
    these, ``pending`` before the answer and ``expired`` when none came in time."""

    ACCEPTED = "accepted"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"


class ContentUpdateState(StrEnum):
    """Where a content update stands on the terminal: the ``state`` of its ``content_update``
    events. The fleet's rollout targets are in one of these, or ``waiting`` to be sent."""

    PENDING = "pending"
    DOWNLOADING = "downloading"
    VERIFIED = "verified"
    STAGED = "staged"
    APPLIED = "applied"
    FAILED = "failed"


# The fields name every member (decode() is strict: a plain enum field would refuse the wire's
# strings); tests/test_contract.py checks that these lists are the enums'.
PresenceValue: TypeAlias = Literal[Presence.ONLINE, Presence.OFFLINE, Presence.LOST]
AckResultValue: TypeAlias = Literal[
    AckResult.ACCEPTED, AckResult.DONE, AckResult.FAILED, AckResult.REFUSED
]


class Reason(StrEnum):
    """The fixed reasons a terminal gives in a :class:`CommandAck` (the fleet shows them in the
    operator's language). Other reasons carry a technical detail and are shown as sent."""

    EXPIRED = "expired"
    EXPIRES_BEFORE_ISSUED = "the command expires before it was issued"
    SESSION_OPEN = "a resident session is open"
    SESSION_OPEN_FORCE = "a resident session is open; send force=true to interrupt it"
    SCREENSHOT = "screenshots are not sent yet"
    #: A picture of the screen is refused: a resident session is open (or the kiosk is not on
    #: its attract or home screen).
    SCREEN_IN_USE = "the screen is in use by a resident; no picture is taken"
    UI_NO_PICTURE = "the kiosk UI did not send a picture of its screen"
    NO_JOURNAL = "the journal cannot be read on this terminal"
    LINES_NOT_INTEGER = "argument 'lines' must be a whole number from 1 to 200"
    FORCE_NOT_BOOLEAN = "argument 'force' must be true or false"
    CANNOT_RECORD = "the terminal cannot record commands"
    REBOOTED = "the terminal rebooted"
    INTERRUPTED = "interrupted by a restart of the terminal"
    INTERNAL_ERROR = "internal error on the terminal"
    ACTION_FAILED = "the action failed"
    UI_NOT_CONNECTED = "the kiosk UI is not connected"
    UI_NO_ANSWER = "the kiosk UI did not answer the wipe order"
    WIPE_NOT_CLEAN = "the kiosk UI did not confirm a clean wipe"
    NO_CONTENT_UPDATES = "content updates are not configured on this terminal"
    ISSUED_IN_FUTURE = "the command was issued in the future (clock skew too large)"
    VALIDITY_TOO_LONG = "the command stays valid longer than the fleet allows"


#: Why a payload was refused, as the fleet counts it (with ``bad_topic``, ``bad_terminal_id``).
DECODE_REASONS: Final = (
    "oversized",
    "bad_encoding",
    "bad_json",
    "duplicate_key",
    "not_finite",
    "out_of_range",
    "too_deep",
    "bad_string",
    "unknown_version",
    "invalid",
)
_UTF8_BOM: Final = b"\xef\xbb\xbf"
#: A string token or a bracket: what the depth check looks at.
_JSON_NESTING_RE: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
#: What no string on the wire holds: NUL, and halves of a surrogate pair left alone.
_BAD_CHARACTER_RE: Final = re.compile("[\x00\ud800-\udfff]")
#: Digits of the longest 64-bit integer, sign included.
_MAX_INT_CHARS: Final = len(str(INT64_MIN))


def _json_int(text: str) -> int:
    value = int(text) if len(text) <= _MAX_INT_CHARS else None
    if value is None or not INT64_MIN <= value <= INT64_MAX:
        raise ContractError("out_of_range", f"integer {text[:30]} does not fit in 64 bits")
    return value


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ContractError("not_finite", f"number {text[:30]} is not finite")
    return value


def _json_constant(name: str) -> float:
    raise ContractError("not_finite", f"{name} is not a JSON number")


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ContractError("duplicate_key", f"key {key[:40]!r} appears more than once")
            seen.add(key)
    return found


def _check_depth(text: str) -> None:
    depth = 0
    for token in _JSON_NESTING_RE.finditer(text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ContractError("too_deep", f"nested deeper than {MAX_JSON_DEPTH} levels")
        elif bracket in "]}":
            depth -= 1


def _check_strings(value: Any) -> None:
    """No NUL and no lone surrogate in any key or string value."""
    if isinstance(value, str):
        if _BAD_CHARACTER_RE.search(value):
            raise ContractError("bad_string", "a string holds NUL or a lone surrogate")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)


def parse_json(payload: bytes) -> Any:
    """The strict JSON of the wire: UTF-8 without BOM, no NaN or Infinity, no duplicate key,
    integers within 64 bits, at most :data:`MAX_JSON_DEPTH` levels, no NUL or lone surrogate.

    Raises :class:`ContractError` (never anything else) with the reason of the refusal.
    """
    if payload.startswith(_UTF8_BOM):
        raise ContractError("bad_encoding", "UTF-8 with a byte order mark")
    if b"\x00" in payload:
        raise ContractError("bad_encoding", "a NUL byte: UTF-16 or UTF-32, not UTF-8")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContractError("bad_encoding", f"not UTF-8: {exc.reason} at byte {exc.start}") from exc
    # Cheap first: only a payload with many brackets is scanned (30,000 of them would
    # otherwise end in a RecursionError inside the parser).
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH:
        _check_depth(text)
    try:
        raw = json.loads(
            text,
            object_pairs_hook=_json_object,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as exc:
        raise ContractError("bad_json", str(exc)) from exc
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ContractError):
            raise
        raise ContractError("bad_json", f"{type(exc).__name__}: {exc}"[:200]) from exc
    # Without an escape, a valid UTF-8 text cannot hold a lone surrogate, and the parser
    # refuses a raw NUL in a string.
    if "\\u" in text:
        _check_strings(raw)
    return raw


def decode_object(payload: bytes) -> dict[str, Any]:
    """What every payload must be before its model is checked: at most
    :data:`MAX_PAYLOAD_BYTES`, strict JSON (:func:`parse_json`), an object, ``"v": 1``.

    Raises :class:`ContractError` with the reason of the refusal.
    """
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ContractError("oversized", f"{len(payload)} bytes > {MAX_PAYLOAD_BYTES}")
    raw = parse_json(payload)
    if not isinstance(raw, dict):
        raise ContractError("bad_json", "payload is not a JSON object")
    version = raw.get("v")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise ContractError("unknown_version", f"v={version!r}, this side speaks v=1")
    return raw


# --------------------------------------------------------------------------------------------
# The local socket between the kiosk's UI and the agent: one JSON object a line. The messages
# are in kiosk.contract.local (the UI's side, models) and kiosk.agent.uimessages (the agent's,
# plain).

LOCAL_PROTOCOL_VERSION: Final = 1
#: A longer line is dropped and its connection closed: nothing legitimate comes near it.
MAX_LINE_BYTES: Final = 16 * 1024


class LocalProtocolError(ValueError):
    """A line that is not one of the local protocol's messages (``reason`` as both sides count
    it)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def decode_local_line(line: bytes) -> dict[str, Any]:
    """One line of the local socket as a JSON object of this protocol's version, not yet a
    message (each side makes its own of it); raise :class:`LocalProtocolError` if it is not."""
    if len(line) > MAX_LINE_BYTES:
        raise LocalProtocolError("oversized", f"{len(line)} bytes > {MAX_LINE_BYTES}")
    try:
        raw: Any = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LocalProtocolError("bad_json", str(exc)) from exc
    if not isinstance(raw, dict):
        raise LocalProtocolError("bad_json", "line is not a JSON object")
    version = raw.get("v")
    if type(version) is not int or version != LOCAL_PROTOCOL_VERSION:
        raise LocalProtocolError("unknown_version", f"v={version!r}, this side speaks v=1")
    return raw


class LineSplitter:
    """Cuts a byte stream into lines, refusing any line longer than :data:`MAX_LINE_BYTES`."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._max = max_line_bytes
        self._pending = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines in ``data`` (with what came before); raise if one is oversized."""
        self._pending += data
        lines: list[bytes] = []
        while True:
            end = self._pending.find(b"\n")
            if end < 0:
                break
            line = bytes(self._pending[:end])
            del self._pending[: end + 1]
            if len(line) > self._max:
                raise LocalProtocolError("oversized", f"a line of {len(line)} bytes")
            if line.strip():
                lines.append(line)
        if len(self._pending) > self._max:
            raise LocalProtocolError("oversized", f"more than {self._max} bytes without a newline")
        return lines
