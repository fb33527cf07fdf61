"""Settings of the fleet service: environment variables ``FLEET_*`` and an optional TOML file."""

from __future__ import annotations

import os
import sys
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Final

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from kiosk.contract.settings_doc import settings_table

#: Where state lives when the database is not a local SQLite file.
DEFAULT_STATE_DIR: Final = Path("/var/lib/fleet")
#: How long the ingest's writer waits after a batch's first message for more (its latency at a
#: low rate; a full batch is written at once), and the most it may be set to: held longer, what
#: arrives meanwhile waits unacknowledged (docs/fleet-ingest.md).
INGEST_BATCH_WAIT_S: Final = 1.0
INGEST_BATCH_WAIT_MAX_S: Final = 5.0
DEFAULT_DATABASE_URL: Final = f"sqlite:///{DEFAULT_STATE_DIR}/fleet.db"


class FleetSettings(BaseSettings):
    """Everything the fleet needs to know to run; see ``docs`` for each key."""

    model_config = SettingsConfigDict(
        env_prefix="FLEET_", extra="forbid", use_attribute_docstrings=True
    )

    # Each field's docstring is its description in docs/fleet-settings.md (generated:
    # ``python -m fleet.core.config > docs/fleet-settings.md``; tests/fleet/test_settings_doc.py).

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL of the database: ``sqlite:///FILE`` or ``postgresql+psycopg://...``."""
    broker_host: str = "127.0.0.1"
    """The MQTT broker the ingest reads from and commands are sent through."""
    broker_port: int = 1883
    """The broker's port."""
    broker_username: str = "fleet"
    """The fleet's broker user (also the ingest's client id unless ``ingest_client_id``)."""
    broker_password: SecretStr | None = None
    """The fleet's broker password (prefer ``broker_password_file``)."""
    broker_password_file: Path | None = None
    """A file whose first line is the fleet's broker password."""
    broker_ca_file: Path | None = None
    """CA bundle for the broker's TLS certificate; set: the connection uses verified TLS."""
    broker_keepalive_s: int = 30
    """MQTT keep-alive of the fleet's connections, in seconds."""
    http_host: str = "127.0.0.1"
    """Address the dashboard and API listen on."""
    http_port: int = 8080
    """Port the dashboard and API listen on."""
    secret_key: SecretStr | None = None
    """Key signing the session cookies (prefer ``secret_key_file``); unset: one is generated and
    kept in the state folder."""
    secret_key_file: Path | None = None
    """A file holding the session key."""
    cookie_secure: bool = True
    """The session cookie is sent over HTTPS only. False is accepted only with ``http_host`` on
    loopback (the demo, a developer's machine): anywhere else the fleet is behind TLS."""
    trusted_proxies: str = ""
    """Proxies (addresses or CIDR networks, commas between) whose ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` are believed; empty: none, the peer's address is the client's."""
    hsts_max_age_s: int = Field(default=365 * 24 * 3600, ge=0)
    """``Strict-Transport-Security`` max-age, sent on answers over HTTPS (0: not sent)."""
    session_idle_timeout_s: float = Field(default=3600.0, ge=60)
    """A dashboard session (kept in the database) ends after this long without a request."""
    session_max_age_s: float = Field(default=12 * 3600.0, ge=300)
    """A dashboard session ends this long after the login, whatever happens."""
    second_factor_required: bool = False
    """Operators and administrators who log in with a password must use a second factor
    (TOTP); they are asked to set it up at their next login."""
    oidc_issuer: str = ""
    """Single sign-on with OpenID Connect (the metropole's directory): the provider's issuer
    URL; empty: off. Roles come from the groups claim: the highest role whose groups the user
    is in."""
    oidc_client_id: str = ""
    """The fleet's client id at the provider."""
    oidc_client_secret: SecretStr | None = None
    """The fleet's client secret at the provider (prefer ``oidc_client_secret_file``)."""
    oidc_client_secret_file: Path | None = None
    """A file holding the client secret."""
    oidc_ca_file: Path | None = None
    """A CA bundle for the provider's HTTPS certificate (an internal CA); default: the
    system's."""
    oidc_scopes: str = "openid profile"
    """Scopes asked of the provider, spaces between."""
    oidc_username_claim: str = "preferred_username"
    """The claim that names the user."""
    oidc_groups_claim: str = "groups"
    """The claim that lists the user's groups."""
    oidc_admin_groups: str = ""
    """Groups (commas between) whose members are administrators."""
    oidc_operator_groups: str = ""
    """Groups (commas between) whose members are operators."""
    oidc_viewer_groups: str = ""
    """Groups (commas between) whose members are viewers."""
    oidc_button_label: str = ""
    """The login button's words (default: "Log in with single sign-on", translated)."""
    default_language: str = "fr"
    """Language of the dashboard before a user chooses one."""
    display_timezone: str = "Europe/Paris"
    """Time zone in which the dashboard shows dates and times."""
    geocoder_url: str = ""
    """Placing terminals by address: the BAN API's base URL (its /search/ interface), e.g. the
    public service or a copy of it. Empty: a small offline table (the town halls)."""
    down_grace_s: float = Field(default=120.0, ge=0)
    """How long a terminal may be offline or lost before it is alerted as down."""
    flapping_changes: int = Field(default=4, ge=1)
    """This many state changes within ``flapping_window_s`` make a terminal "flapping" (one
    alert, not one each)."""
    flapping_window_s: float = Field(default=900.0, gt=0)
    """The window over which state changes are counted for flapping."""
    disk_full_percent: float = Field(default=90.0, gt=0, le=100)
    """Alert threshold: disk use, in per cent."""
    temperature_max_c: float = 70.0
    """Alert threshold: highest enclosure temperature, °C."""
    temperature_min_c: float = -10.0
    """Alert threshold: lowest enclosure temperature, °C."""
    ui_crash_count: int = Field(default=3, ge=1)
    """Alert when the kiosk UI crashed this many times within ``ui_crash_window_s``."""
    ui_crash_window_s: float = Field(default=600.0, gt=0)
    """The window over which UI crashes are counted."""
    ingest_batch_size: int = Field(default=500, ge=1)
    """The MQTT thread queues what it receives; one writer stores batches of up to this many
    messages in one transaction each."""
    ingest_batch_wait_s: float = Field(
        default=INGEST_BATCH_WAIT_S, gt=0, le=INGEST_BATCH_WAIT_MAX_S
    )
    """A batch is stored once it is full or this long after its first message came: at a
    low rate, a longer wait makes fuller batches (one INSERT and two UPDATEs each, whatever
    their size), at the cost of that much more delay before a report shows."""
    ingest_queue_size: int = Field(default=20_000, ge=1)
    """Messages waiting for the database before reading from the broker pauses."""
    ingest_share_group: str = Field(default="", pattern=r"^[A-Za-z0-9_-]{0,40}$")
    """MQTT v5 shared subscription group: ingest processes in the same group split the load.
    Empty (the default): a plain subscription, which Mosquitto 2.0 keeps across a broker
    restart; it forgets shared ones until the ingest subscribes again (docs/fleet-ingest.md)."""
    ingest_in_web: bool = True
    """Run the ingest inside the web process (``fleet serve``); false: run ``fleet ingest``."""
    ingest_client_id: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,64}$")
    """The ingest's MQTT client id, stable across restarts so that the broker keeps its session
    (and the messages that arrive meanwhile); unique per process. Empty: the broker user name,
    which the project's broker imposes anyway (use_username_as_clientid), so several ingest
    processes need one broker user each (``fleet``, ``fleet-2``...)."""
    ingest_session_expiry_s: int = Field(default=7 * 86400, ge=60, le=2**32 - 2)
    """How long the broker keeps the ingest's session (and queues for it) while it is away."""
    ingest_receive_maximum: int = Field(default=10_000, ge=1, le=65535)
    """Unacknowledged messages the broker may send the ingest (MQTT v5 Receive Maximum): a
    message is acknowledged once committed, so this is what may wait for the database. Large
    (many batches): what the broker has delivered survives a kill -9 of the broker, what it
    still queues survives only if it was saved (docs/fleet-ingest.md)."""
    ingest_clock_skew_s: float = Field(default=300.0, gt=0)
    """A report's sent_at is believed up to this far ahead of the fleet's clock, and up to
    ingest_max_report_age_s + this behind; otherwise it is filed at the fleet's time and the
    terminal's clock problem is shown."""
    ingest_max_report_age_s: float = Field(default=8 * 86400.0, gt=0)
    """How old a report may be when it arrives (the agent's queue keeps them 7 days)."""
    health_retention_days: float = Field(default=7.0, gt=0)
    """Raw health reports are kept this many days."""
    rollup_retention_days: float = Field(default=395.0, gt=0)
    """Hourly roll-ups of the health reports are kept this many days (13 months)."""
    retention_interval_s: float = Field(default=3600.0, gt=0)
    """How often old reports and roll-ups are deleted."""
    keeper_interval_s: float = Field(default=10.0, gt=0)
    """How often the ingest process evaluates presence and alerts (and expires commands)."""
    smtp_host: str | None = None
    """Notifications by e-mail: the SMTP server (unset: no e-mail from the environment;
    channels can also be set on the Notifications page)."""
    smtp_port: int = 25
    """The SMTP server's port."""
    smtp_from: str = "fleet@localhost"
    """Sender of the notification e-mails."""
    smtp_to: str = ""
    """Recipients, separated by commas."""
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    """How long to wait for the SMTP server."""
    webhook_url: str | None = None
    """Notifications as a JSON POST to this URL (unset: none from the environment)."""
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    """How long to wait for the webhook."""
    login_free_failures: int = Field(default=5, ge=1)
    """Login throttling, per client address and per account: after this many failures within
    ``login_window_s``, each further attempt waits. Never a lock: a right password from an
    address that has not failed on that account is always let in."""
    login_delay_base_s: float = Field(default=30.0, gt=0)
    """The first wait after the free failures, doubled at every further failure."""
    login_delay_max_s: float = Field(default=900.0, gt=0)
    """The longest wait."""
    login_window_s: float = Field(default=900.0, gt=0)
    """The window over which login failures are counted."""
    metrics_allowed_addresses: str = ""
    """Client addresses or networks (CIDR, commas between) that may read /metrics without a
    token; empty: an API token (any role) is required."""
    observatory_min_sessions: int = Field(default=11, ge=5, le=1000)
    """Observatory (export, pages, open data): counts of fewer sessions than this are hidden.
    11 is the rule INSEE applies to household data; never below 5 (docs/observatory.md)."""
    observatory_open_data_dir: Path | None = None
    """Where ``fleet observatory publish`` writes the open data (one folder per week and
    month), served read-only under /opendata/observatoire; unset: not published."""
    content_repo: Path | None = None
    """The published TUF content repository (``fleet content publish``), served read-only
    under /content for the terminals; unset: this fleet serves no content."""
    token_last_used_resolution_s: float = Field(default=60.0, ge=0)
    """An API token's last-used time is written at most this often (one write per request
    would turn every read into a write)."""

    @field_validator("trusted_proxies", "metrics_allowed_addresses")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        _networks(value)  # a ValueError names the item that is not an address or a network
        return value

    @model_validator(mode="after")
    def _plain_http_only_on_loopback(self) -> FleetSettings:
        if not self.cookie_secure and not _is_loopback(self.http_host):
            raise ValueError(
                "cookie_secure may be false only when http_host is a loopback address "
                f"(127.0.0.1, ::1, localhost), not {self.http_host!r}: serve the fleet "
                "behind HTTPS (docs/security.md)"
            )
        return self

    def proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of ``trusted_proxies``."""
        return _networks(self.trusted_proxies)

    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def resolved_oidc_client_secret(self) -> str | None:
        if self.oidc_client_secret is not None:
            return self.oidc_client_secret.get_secret_value()
        if self.oidc_client_secret_file is not None:
            return self.oidc_client_secret_file.read_text().strip()
        return None

    def smtp_recipients(self) -> list[str]:
        return [address.strip() for address in self.smtp_to.split(",") if address.strip()]

    def metrics_networks(self) -> list[IPv4Network | IPv6Network]:
        """The networks of ``metrics_allowed_addresses``."""
        return _networks(self.metrics_allowed_addresses)

    def sqlite_path(self) -> Path | None:
        """The database file when the database is SQLite on disk, else ``None``."""
        url = make_url(self.database_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(str(url.database))

    def state_dir(self) -> Path:
        """Where generated state (the session secret) goes: beside the SQLite file if any."""
        database_file = self.sqlite_path()
        return database_file.parent if database_file is not None else DEFAULT_STATE_DIR

    def ingest_identity(self) -> str:
        """The ingest's MQTT client id (see ``ingest_client_id``)."""
        return self.ingest_client_id or self.broker_username

    def resolved_broker_password(self) -> str | None:
        """The broker password, from the setting or from its file (first line)."""
        if self.broker_password is not None:
            return self.broker_password.get_secret_value()
        if self.broker_password_file is not None:
            return self.broker_password_file.read_text().strip()
        return None


def _networks(text: str) -> list[IPv4Network | IPv6Network]:
    return [ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip()]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(config_file: Path | None = None) -> FleetSettings:
    """Read the settings: environment first, then the TOML file, then the defaults."""
    if config_file is None:
        return FleetSettings()
    toml_file = config_file

    class FileBackedSettings(FleetSettings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (
                init_settings,
                env_settings,
                TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
            )

    if not os.access(config_file, os.R_OK):
        raise FileNotFoundError(config_file)
    return FleetSettings.model_validate(FileBackedSettings().model_dump())


def settings_markdown() -> str:
    """``docs/fleet-settings.md``, generated from :class:`FleetSettings` and the enrolment's."""
    from fleet.enrolment import EnrolmentSettings  # here: fleet.enrolment imports this module

    lines = [
        "# Fleet settings",
        "",
        "<!-- Generated by `python -m fleet.core.config > docs/fleet-settings.md` from",
        "     fleet/core/config.py and fleet/enrolment.py; do not edit by hand",
        "     (tests/fleet/test_settings_doc.py checks it). -->",
        "",
        "The fleet reads its settings from the environment (`FLEET_` and the key in capitals),",
        "then from the TOML file given with `fleet --config FILE` (the key as written below),",
        "then the defaults. An unknown key in the file or a value out of bounds stops the fleet",
        "with a message naming it.",
        "",
        *settings_table(
            FleetSettings,
            key_header="environment variable (TOML key)",
            key_text=lambda key: f"`FLEET_{key.upper()}` (`{key}`)",
        ),
        "",
        "## Enrolment",
        "",
        "How the fleet creates and removes the terminals' broker users when they enrol or are",
        "decommissioned (docs/provisioning.md). These are read from the environment only.",
        "",
        *settings_table(
            EnrolmentSettings,
            key_header="environment variable",
            key_text=lambda key: f"`FLEET_ENROLMENT_{key.upper()}`",
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(settings_markdown())
