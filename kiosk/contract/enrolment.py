"""Enrolment: what ``kiosk-provision enroll`` sends to ``POST /api/v1/enrol`` and what the fleet
answers, declared once.

The fleet declares its route with these models (so the OpenAPI document says the same);
``kiosk-provision`` checks the fleet's answer with :class:`EnrolmentAnswer` before it writes
anything to the terminal's configuration directory. The answer is strict and bounded: an answer
no honest fleet sends (a terminal id the contract refuses, a host name with spaces or quotes, a
password of a megabyte, a CA that is not PEM, an ``agent.toml`` with keys enrolment never
writes) is refused whole.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Final, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from kiosk.contract import paths
from kiosk.contract.agent_file import AgentFile, MqttHost, Port, TerminalId
from kiosk.contract.wire import RESERVED_TERMINAL_IDS, TERMINAL_ID_PATTERN

# --- The one-time code -----------------------------------------------------------------------

#: Unambiguous on a keyboard and on paper: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6.
CODE_ALPHABET: Final = "ACDEFHJKMNPRTUVWXY3479"
CODE_GROUPS: Final = 4
CODE_GROUP_LENGTH: Final = 4
CODE_LENGTH: Final = CODE_GROUPS * CODE_GROUP_LENGTH
#: What may stand between the code's characters as typed (a regular expression class).
CODE_SEPARATORS: Final = r"[ \t._-]"
#: A code as it may be typed, either case, a few separators between characters at most (the
#: API's declaration; the fleet's normalize_code accepts all of it).
CODE_PATTERN: Final = (
    f"^{CODE_SEPARATORS}{{0,3}}(?:[{CODE_ALPHABET}{CODE_ALPHABET.lower()}]"
    f"{CODE_SEPARATORS}{{0,3}}){{{CODE_LENGTH}}}$"
)

# --- Bounds ----------------------------------------------------------------------------------

MAX_SITE_LENGTH: Final = 120
MAX_COMMUNE_LENGTH: Final = 80
#: A terminal id a technician may ask for (the contract's, the reserved ones aside).
WANTED_TERMINAL_ID: Final = (
    f"^(?!(?:{'|'.join(sorted(RESERVED_TERMINAL_IDS))})$){TERMINAL_ID_PATTERN}$"
)
#: A directory on the terminal, as the technician's tool names it.
ABSOLUTE_PATH: Final = r"^/[A-Za-z0-9._/-]{0,200}$"
#: Text shown to the technician: no control character (no terminal escape sequence).
PRINTABLE: Final = r"^[^\x00-\x1f\x7f-\x9f]*$"
#: The MQTT password: printable ASCII without spaces, on one line (the fleet makes 32 characters).
PASSWORD_PATTERN: Final = r"^[!-~]{16,256}$"
#: The status token: an HMAC-SHA-256 in hexadecimal (sent back as an HTTP header).
STATUS_TOKEN_PATTERN: Final = r"^[0-9a-f]{64}$"
#: A CA bundle (the system's public CAs are some 200 kB) may stand for one CA.
MAX_CA_CHARS: Final = 1024 * 1024
MAX_CONTENT_ROOT_CHARS: Final = 256 * 1024


def pem_certificates(text: str) -> str:
    """``text`` if it holds PEM certificates, every one of them whole; ValueError if not.

    Text between the certificates (a bundle's comments) is allowed, as TLS libraries read it.
    """
    from cryptography import x509  # only where a CA is checked

    try:
        x509.load_pem_x509_certificates(text.encode())
    except ValueError as error:
        raise ValueError(f"not PEM certificates: {error}") from None
    return text


def tuf_root(text: str) -> str:
    """``text`` if it is a TUF root's JSON (``signed`` of type ``root``); ValueError if not."""
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError("not JSON") from None
    signed = data.get("signed") if isinstance(data, dict) else None
    if not isinstance(signed, dict) or signed.get("_type") != "root":
        raise ValueError("not a TUF root")
    return text


def agent_file_text(text: str) -> str:
    """``text`` if it is an ``agent.toml`` as enrolment writes it; ValueError if not."""
    AgentFile.from_toml(text)
    return text


SiteName = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_SITE_LENGTH, pattern=PRINTABLE)
]
Commune = Annotated[str, StringConstraints(max_length=MAX_COMMUNE_LENGTH, pattern=PRINTABLE)]
CaPem = Annotated[str, StringConstraints(max_length=MAX_CA_CHARS), AfterValidator(pem_certificates)]
TufRoot = Annotated[
    str, StringConstraints(max_length=MAX_CONTENT_ROOT_CHARS), AfterValidator(tuf_root)
]


class EnrolmentRequest(BaseModel):
    """What the technician's tool sends. ``code`` and ``terminal_id`` are declared with their
    patterns, and checked by the enrolment itself, so that a mistyped one gets the translated
    ``malformed`` or ``bad_terminal_id`` refusal the technician can act on."""

    code: str = Field(
        max_length=200,
        description="The one-time code: 16 letters and digits, spaces or dashes between.",
        json_schema_extra={"pattern": CODE_PATTERN},
    )
    terminal_id: str | None = Field(
        default=None,
        description="The id to take (default: the next free one for the code's commune).",
        json_schema_extra={"pattern": WANTED_TERMINAL_ID},
    )
    hardware: dict[str, Any] = Field(default_factory=dict)
    config_dir: str = Field(default=str(paths.ETC_DIR), pattern=ABSOLUTE_PATH)
    state_dir: str = Field(default=str(paths.AGENT_STATE_DIR), pattern=ABSOLUTE_PATH)


class EnrolmentAnswer(BaseModel):
    """What the fleet answers: the terminal's identity, site, broker access and files.

    Strict (a port is a number, not a text) and consistent: ``agent_config`` names the same
    terminal and broker as the fields beside it, and a CA or content root comes with the file
    that uses it. Unknown fields are ignored (a newer fleet may say more).
    """

    model_config = ConfigDict(frozen=True, strict=True, allow_inf_nan=False)

    terminal_id: TerminalId
    site_name: SiteName
    commune: Commune | None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None
    mqtt_host: MqttHost
    mqtt_port: Port
    mqtt_username: TerminalId
    mqtt_password: Annotated[str, StringConstraints(pattern=PASSWORD_PATTERN)]
    agent_config: Annotated[str, AfterValidator(agent_file_text)] = Field(
        description="The terminal's agent.toml (see kiosk.contract.agent_file)."
    )
    ca_pem: CaPem | None
    content_root: TufRoot | None
    status_token: Annotated[str, StringConstraints(pattern=STATUS_TOKEN_PATTERN)]

    @property
    def agent_file(self) -> AgentFile:
        return AgentFile.from_toml(self.agent_config)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        agent = self.agent_file
        if agent.terminal_id != self.terminal_id:
            raise ValueError("agent_config is for another terminal")
        if (agent.mqtt.host, agent.mqtt.port) != (self.mqtt_host, self.mqtt_port):
            raise ValueError("agent_config names another broker")
        if (agent.mqtt.ca_file is None) != (self.ca_pem is None):
            raise ValueError("agent_config and ca_pem disagree")
        if (agent.content is None) != (self.content_root is None):
            raise ValueError("agent_config and content_root disagree")
        return self


class EnrolmentStatus(BaseModel):
    """``GET /api/v1/enrol/{terminal_id}/status``: the terminal's presence as the fleet sees it,
    for the technician's tool (with the status token from the answer)."""

    model_config = ConfigDict(frozen=True)

    terminal_id: TerminalId
    #: ``unknown`` before the terminal's first status, then its presence (``online``...).
    state: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
    last_seen_at: datetime | None
    site_name: str | None
    commune: str | None
    decommissioned_at: datetime | None
