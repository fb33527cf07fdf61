"""The agent's configuration file as the fleet writes it at enrolment (``agent.toml``).

The fleet renders :class:`AgentFile` to TOML (``fleet.enrolment.agent_config_toml``);
``kiosk-provision enroll`` reads the text back with :meth:`AgentFile.from_toml` before it writes
anything; the agent reads the file with its own loader (:mod:`kiosk.agent.config`, without
pydantic), which knows every other key too. ``tests/agent/test_config_from_fleet.py`` checks
that what the fleet writes is what the agent reads.

Only what enrolment decides is here: the rest of ``agent.toml`` keeps the agent's defaults.
Every value is bounded so that no answer can smuggle another key or section in: a host name is
letters, digits, dots, dashes and colons; a path is absolute and plain.
"""

from __future__ import annotations

import tomllib
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kiosk.contract.wire import CONTENT_URL_PATTERN, TERMINAL_ID_PATTERN, validate_terminal_id

#: A broker's host name, IPv4 or IPv6 address, as paho takes it (no brackets, no port).
MQTT_HOST_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$"
#: An absolute path of plain names: what enrolment writes into ``agent.toml``.
ABSOLUTE_FILE_PATTERN: Final = r"^/[A-Za-z0-9._/-]{0,250}$"
#: The longest ``agent.toml`` the fleet writes is about 600 bytes.
MAX_AGENT_FILE_CHARS: Final = 16 * 1024

#: A terminal id: the contract's pattern, and never one of the fleet's own names.
TerminalId = Annotated[
    str,
    StringConstraints(pattern=f"^{TERMINAL_ID_PATTERN}$"),
    AfterValidator(validate_terminal_id),
]
MqttHost = Annotated[str, StringConstraints(pattern=MQTT_HOST_PATTERN)]
Port = Annotated[int, Field(ge=1, le=65535)]
AbsoluteFile = Annotated[str, StringConstraints(pattern=ABSOLUTE_FILE_PATTERN)]
ContentUrl = Annotated[str, StringConstraints(max_length=2000, pattern=CONTENT_URL_PATTERN)]


class _Section(BaseModel):
    """Strict (a port is a number, not a text), frozen, and no key the agent would not expect."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class AgentMqtt(_Section):
    """``[mqtt]``: the broker and the files that hold the terminal's credentials."""

    host: MqttHost
    port: Port
    password_file: AbsoluteFile
    ca_file: AbsoluteFile | None = None


class AgentContent(_Section):
    """``[content]``: signed content updates from the fleet; all three keys or no section."""

    dir: AbsoluteFile
    base_url: ContentUrl
    trusted_root: AbsoluteFile


class AgentFile(_Section):
    """The whole file the fleet writes; the password itself stays in ``mqtt.password_file``."""

    terminal_id: TerminalId
    state_dir: AbsoluteFile
    mqtt: AgentMqtt
    content: AgentContent | None = None

    def toml_data(self) -> dict[str, object]:
        """The values for a TOML writer: unset keys left out (TOML has no null)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_toml(cls, text: str) -> AgentFile:
        """The file ``text`` holds; ValueError if it is not TOML or not such a file."""
        if len(text) > MAX_AGENT_FILE_CHARS:
            raise ValueError(f"longer than {MAX_AGENT_FILE_CHARS} characters")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"not TOML: {error}") from None
        return cls.model_validate(data)
