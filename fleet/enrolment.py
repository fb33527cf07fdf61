"""Enrolment of new terminals with one-time codes, and their decommissioning.

An operator creates a code for a site (dashboard ``/enrolment`` or ``fleet enrolment create``);
the technician types it into ``kiosk-provision enroll``. The code is the credential of
``POST /api/v1/enrol``: single use, expiring, only its SHA-256 is stored. Enrolment creates the
terminal's row and its own MQTT user in the broker's password file; decommissioning removes that
user and reloads the broker, which closes the terminal's connection at once.

Over 400 lines because a code's life (created, typed, used, expired) and the terminal it makes
(row, broker user, configuration) are one transaction: apart, the all-or-nothing would be split
across modules.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import tomli_w
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fleet import audit
from fleet.broker import BrokerCredentials, BrokerError
from fleet.core.config import FleetSettings
from fleet.core.security import session_secret_key
from fleet.models import EnrolmentCode, Terminal
from fleet.states import TerminalState
from kiosk.contract import paths
from kiosk.contract.agent_file import AgentContent, AgentFile, AgentMqtt
from kiosk.contract.enrolment import (
    CODE_ALPHABET,
    CODE_GROUP_LENGTH,
    CODE_LENGTH,
    CODE_SEPARATORS,
    MAX_COMMUNE_LENGTH,
    MAX_SITE_LENGTH,
    PRINTABLE,
)
from kiosk.contract.mqtt import ContractError, validate_terminal_id

DEFAULT_TTL_H: Final = 24.0
ENROL_ACTOR_PREFIX: Final = "enrolment-code:"


class UnprintableText(ValueError):
    """A site name or commune holding a control character (a tab, a line break, an escape)."""


class EnrolmentSettings(BaseSettings):
    """``FLEET_ENROLMENT_*``: the broker's live password file and how to reload it.

    Separate from :class:`FleetSettings` for now (environment only); see docs/provisioning.md.
    """

    model_config = SettingsConfigDict(
        env_prefix="FLEET_ENROLMENT_", extra="ignore", use_attribute_docstrings=True
    )

    broker_password_file: Path | None = None
    """The password file the broker is configured with (``password_file``); unset: the fleet
    cannot create MQTT users, and enrolment is refused."""
    broker_pid_file: Path | None = None
    """The broker's pid file: a new or removed user reloads it with SIGHUP."""
    broker_reload_command: str | None = None
    """Or a command that reloads the broker, such as ``systemctl reload mosquitto``."""
    broker_acl_file: Path | None = None
    """The broker's ACL file (``acl_file``); default: ``acl`` beside the password file. Read by
    ``fleet serve --ingests`` to check that every ingest's user has the fleet's rights."""
    broker_public_host: str | None = None
    """The broker address terminals use (default: the fleet's own ``broker_host``)."""
    broker_public_port: int | None = None
    """The broker port terminals use (default: the fleet's own ``broker_port``)."""
    public_url: str | None = None
    """The fleet's address as terminals see it (for ``content.base_url``); default: the
    enrolment request's."""
    code_ttl_h: float = Field(default=DEFAULT_TTL_H, gt=0, le=24 * 30)
    """How long an enrolment code stays valid, in hours."""
    max_failures: int = Field(default=10, ge=1)
    """Failed enrolment attempts per client address within the window before each further one
    waits (a growing delay, as for passwords: fleet.throttle)."""
    failure_window_s: float = Field(default=900.0, gt=0)
    """The window over which failed enrolment attempts are counted."""

    @field_validator(
        "broker_password_file",
        "broker_acl_file",
        "broker_pid_file",
        "broker_reload_command",
        "broker_public_host",
        "public_url",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def credentials(self) -> BrokerCredentials | None:
        if self.broker_password_file is None:
            return None
        return BrokerCredentials(
            self.broker_password_file, self.broker_pid_file, self.broker_reload_command
        )


class EnrolmentError(Exception):
    """A refused enrolment; ``kind`` selects the HTTP status and the translated message."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(kind)
        self.kind = kind
        self.detail = detail


# kind → HTTP status
ERROR_STATUS: Final = {
    "malformed": 422,
    "unknown": 404,
    "expired": 410,
    "used": 410,
    "bad_terminal_id": 422,
    "terminal_exists": 409,
    "no_broker": 503,
    "broker_failed": 503,
    "rate_limited": 429,
    "misconfigured": 503,
}


def new_code() -> str:
    """``XXXX-XXXX-XXXX-XXXX`` from :data:`CODE_ALPHABET` (about 71 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(raw: str) -> str:
    return "-".join(
        raw[i : i + CODE_GROUP_LENGTH] for i in range(0, CODE_LENGTH, CODE_GROUP_LENGTH)
    )


def normalize_code(text: str) -> str:
    """The code's 16 characters, upper case, without spaces or dashes; EnrolmentError if not."""
    raw = re.sub(CODE_SEPARATORS, "", text).upper()
    if len(raw) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in raw):
        raise EnrolmentError("malformed")
    return raw


def hash_code(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedCode:
    code: str
    row: EnrolmentCode


def create_code(
    session: Session,
    site_name: str,
    commune: str | None,
    latitude: float | None,
    longitude: float | None,
    created_by: str,
    now: datetime,
    ttl: timedelta = timedelta(hours=DEFAULT_TTL_H),
) -> CreatedCode:
    """A new code (shown once), audited; the caller commits."""
    site = site_name.strip()
    if not site or len(site) > MAX_SITE_LENGTH:
        raise ValueError("site name: 1 to 120 characters")
    if commune is not None and len(commune.strip()) > MAX_COMMUNE_LENGTH:
        raise ValueError("commune: at most 80 characters")
    if not re.fullmatch(PRINTABLE, site + (commune or "").strip()):
        # The enrolment answer carries them to the technician's screen (the contract's rule).
        raise UnprintableText("site name and commune: no control characters")
    if (latitude is None) != (longitude is None):
        raise ValueError("latitude and longitude go together")
    if (
        latitude is not None
        and longitude is not None
        and not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0)
    ):
        raise ValueError("coordinates out of range")
    code = new_code()
    row = EnrolmentCode(
        code_hash=hash_code(normalize_code(code)),
        site_name=site,
        commune=(commune or "").strip() or None,
        latitude=latitude,
        longitude=longitude,
        created_by=created_by[:64],
        created_at=now,
        expires_at=now + ttl,
        used_at=None,
        terminal_id=None,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        created_by,
        "enrolment_code_created",
        site,
        f"code #{row.id}, {commune or '-'}, expires {row.expires_at.isoformat(timespec='minutes')}",
        at=now,
    )
    return CreatedCode(code, row)


def list_codes(session: Session, limit: int = 100) -> list[EnrolmentCode]:
    query = select(EnrolmentCode).order_by(EnrolmentCode.created_at.desc()).limit(limit)
    return list(session.scalars(query))


def code_state(code: EnrolmentCode, now: datetime) -> str:
    if code.used_at is not None:
        return "used"
    if code.expires_at <= now:
        return "expired"
    return "valid"


def slug(text: str) -> str:
    """``Bègles`` → ``begles``; ``Saint-Médard-en-Jalles`` → ``saint-medard-en-jalles``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:28].strip("-") or "site"


def next_terminal_id(session: Session, commune: str | None) -> str:
    """``bdx-<commune>-NNN``, the first number after those in use (decommissioned included)."""
    prefix = f"bdx-{slug(commune or 'site')}-"
    taken = session.scalars(select(Terminal.id).where(Terminal.id.startswith(prefix))).all()
    numbers = [int(t[len(prefix) :]) for t in taken if t[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:03d}"


@dataclass(frozen=True)
class Enrolled:
    terminal_id: str
    mqtt_password: str
    site_name: str
    commune: str | None
    latitude: float | None
    longitude: float | None


def _find_code(session: Session, code_text: str, now: datetime) -> EnrolmentCode:
    row = session.scalars(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == hash_code(normalize_code(code_text)))
    ).first()
    if row is None:
        raise EnrolmentError("unknown")
    if row.used_at is not None:
        raise EnrolmentError("used")
    if row.expires_at <= now:
        raise EnrolmentError("expired")
    return row


def enrol(
    session: Session,
    code_text: str,
    terminal_id: str | None,
    hardware: dict[str, Any],
    now: datetime,
    credentials: BrokerCredentials | None,
) -> Enrolled:
    """Use the code: the terminal's row and its MQTT user; committed here, audited."""
    code = _find_code(session, code_text, now)
    if credentials is None:
        raise EnrolmentError("no_broker")
    if terminal_id:
        try:
            terminal_id = validate_terminal_id(terminal_id)
        except ContractError as error:
            raise EnrolmentError("bad_terminal_id", str(error)) from error
        existing = session.get(Terminal, terminal_id)
        if existing is not None and existing.decommissioned_at is None:
            raise EnrolmentError("terminal_exists", terminal_id)
    else:
        terminal_id = next_terminal_id(session, code.commune)
        existing = None
    # Claim the code first: two technicians typing the same code cannot both enrol.
    claimed = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == code.id, EnrolmentCode.used_at.is_(None))
        .values(used_at=now, terminal_id=terminal_id)
    )
    if getattr(claimed, "rowcount", 1) != 1:
        session.rollback()
        raise EnrolmentError("used")
    terminal = existing or Terminal(
        id=terminal_id, state=TerminalState.UNKNOWN, state_since=now, created_at=now, versions={}
    )
    terminal.site_name = code.site_name
    terminal.commune = code.commune
    terminal.latitude = code.latitude
    terminal.longitude = code.longitude
    terminal.decommissioned_at = None
    session.add(terminal)
    session.flush()
    password = secrets.token_urlsafe(24)
    try:
        credentials.set_user(terminal_id, password)
    except BrokerError as error:
        session.rollback()
        raise EnrolmentError("broker_failed", str(error)) from error
    facts = json.dumps(hardware, sort_keys=True, separators=(",", ":"))
    audit.record(
        session,
        f"{ENROL_ACTOR_PREFIX}{code.id}",
        "terminal_enrolled",
        terminal_id,
        f"{code.site_name}; {facts}",
        at=now,
    )
    session.commit()
    return Enrolled(
        terminal_id, password, code.site_name, code.commune, code.latitude, code.longitude
    )


def decommission(
    session: Session,
    terminal_id: str,
    by: str,
    now: datetime,
    credentials: BrokerCredentials | None,
) -> Terminal | None:
    """Take a terminal out of service: its MQTT user goes at once, then the row is marked.

    None when the terminal is unknown. Done again, it removes the user again (harmless).
    """
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        return None
    removed = False
    if credentials is not None:
        removed = credentials.remove_user(terminal_id)
    first = terminal.decommissioned_at is None
    if first:
        terminal.decommissioned_at = now
    audit.record(
        session,
        by,
        "terminal_decommissioned",
        terminal_id,
        "MQTT user removed" if removed else "no MQTT user to remove",
        at=now,
    )
    session.commit()
    return terminal


def agent_config_toml(
    terminal_id: str,
    mqtt_host: str,
    mqtt_port: int,
    config_dir: str,
    state_dir: str,
    with_ca: bool,
    content_base_url: str | None,
    content_dir: str = str(paths.CONTENT_DIR),
) -> str:
    """The terminal's ``agent.toml``: the password stays in ``<config_dir>/mqtt-password``.

    ValueError (pydantic's) if a value does not fit :class:`AgentFile`.
    """
    content = None
    if content_base_url is not None:
        content = AgentContent(
            dir=content_dir,
            base_url=content_base_url,
            trusted_root=f"{config_dir}/{paths.CONTENT_ROOT_NAME}",
        )
    agent_file = AgentFile(
        terminal_id=terminal_id,
        state_dir=state_dir,
        mqtt=AgentMqtt(
            host=mqtt_host,
            port=mqtt_port,
            password_file=f"{config_dir}/{paths.MQTT_PASSWORD_NAME}",
            ca_file=f"{config_dir}/{paths.CA_NAME}" if with_ca else None,
        ),
        content=content,
    )
    return render_agent_file(agent_file)


def render_agent_file(agent_file: AgentFile) -> str:
    """``agent_file`` as TOML, every value quoted and escaped by the TOML writer."""
    header = "# Written by kiosk-provision from the fleet's enrolment answer.\n"
    return header + tomli_w.dumps(agent_file.toml_data())


def status_token(settings: FleetSettings, terminal_id: str) -> str:
    """A per-terminal secret that lets the technician's tool read its terminal's state.

    Derived (HMAC of the fleet's secret key), so nothing more is stored.
    """
    key = session_secret_key(settings).encode()
    return hmac.new(key, f"terminal-status:{terminal_id}".encode(), hashlib.sha256).hexdigest()


def status_token_matches(settings: FleetSettings, terminal_id: str, token: str | None) -> bool:
    return token is not None and hmac.compare_digest(status_token(settings, terminal_id), token)
