"""The fleet's database tables (SQLAlchemy 2 typed ORM); Alembic migrations must match them.

Over 400 lines because it is the one list of the fleet's tables: each class is short and read on
its own, and Alembic's autogenerate and the migration tests compare them with the migrations as
one metadata.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    or_,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from fleet.roles import Role
from fleet.states import (
    AlertState,
    CommandState,
    RolloutState,
    TargetState,
    TerminalState,
    check_sql,
)

USER_ROLES: Final = tuple(Role)
#: The role of the observatory's people: the observatory's pages and nothing else.
OBSERVATORY_ROLE: Final = "observatoire"

# Stable constraint names, so that migrations can refer to them on every database.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A 64-bit integer on every database: BIGINT on PostgreSQL, where INTEGER is 32 bits; plain
#: INTEGER on SQLite, where it is already 64 bits and the only type that autoincrements a key.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class StateType(TypeDecorator[StrEnum]):
    """A column holding one of the states of ``kind`` (:mod:`fleet.states`): stored as its
    text, read back as the enum's member. The table's ``CHECK`` (:func:`state_check`) keeps
    anything else out."""

    impl = String(16)
    cache_ok = True

    def __init__(self, kind: type[StrEnum]) -> None:
        super().__init__()
        self.kind = kind
        self._members: dict[str, StrEnum] = {state.value: state for state in kind}

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        if value is None:
            return None
        # A value outside the enum (which the CHECK makes impossible) raises ValueError.
        return self._members.get(value) or self.kind(value)


def state_check(kind: type[StrEnum], column: str = "state") -> CheckConstraint:
    """The ``state_known`` constraint of a table whose ``column`` holds states of ``kind``."""
    return CheckConstraint(check_sql(column, kind), name=f"{column}_known")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class Terminal(Base):
    """One terminal as last reported: presence and the latest health figures."""

    __tablename__ = "terminals"
    __table_args__ = (state_check(TerminalState),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    state: Mapped[TerminalState] = mapped_column(
        StateType(TerminalState), default=TerminalState.UNKNOWN
    )
    state_since: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    boot_id: Mapped[str | None] = mapped_column(String(200))
    birth_seq: Mapped[int | None] = mapped_column(BigInt)
    keepalive_s: Mapped[int | None]
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cpu_percent: Mapped[float | None] = mapped_column(Float)
    memory_percent: Mapped[float | None] = mapped_column(Float)
    disk_percent: Mapped[float | None] = mapped_column(Float)
    temperature_c: Mapped[float | None] = mapped_column(Float)
    uptime_s: Mapped[float | None] = mapped_column(Float)
    # None wherever the latest health report did not say (older agent, sensor absent).
    ui_alive: Mapped[bool | None]
    door_open: Mapped[bool | None]
    enclosure_temperature_c: Mapped[float | None] = mapped_column(Float)
    clock_synced: Mapped[bool | None]
    clock_offset_ms: Mapped[float | None] = mapped_column(Float)
    dropped_samples: Mapped[int | None] = mapped_column(BigInt)
    # The terminal's clock, as the fleet sees it: how far ahead (positive) or behind the latest
    # message whose sent_at fell outside the accepted skew was, and when it came. None: fine.
    clock_error_s: Mapped[float | None] = mapped_column(Float)
    clock_error_at: Mapped[datetime | None]
    # The self-check after the last privacy wipe (health ui.last_wipe_ok); None before any.
    last_wipe_ok: Mapped[bool | None]
    health_at: Mapped[datetime | None]
    # Where the terminal stands (set at enrolment): for the map, the commune for the observatory.
    site_name: Mapped[str | None] = mapped_column(String(120))
    commune: Mapped[str | None] = mapped_column(String(80))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # The priority neighbourhood (QPV) code of the site, where the operator set it.
    qpv_code: Mapped[str | None] = mapped_column(String(16))
    # Content: the version the terminal last reported applied, and the one the fleet wants.
    content_version: Mapped[str | None] = mapped_column(String(64))
    desired_content_version: Mapped[str | None] = mapped_column(String(64))
    # Set when the terminal is taken out of service (its MQTT access is revoked).
    decommissioned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class HealthSample(Base):
    """One health report, kept whole for history.

    A QoS 1 redelivery repeats ``seq`` and ``sent_at``; after a reboot ``seq`` may start again
    but ``sent_at`` differs, so the pair identifies a report without trusting the agent's counter.
    A report whose ``sent_at`` is outside the fleet's accepted clock skew is filed at the fleet's
    time (``sent_at`` = ``received_at``) and keeps the terminal's claim in ``claimed_sent_at``,
    which then identifies it with ``seq`` instead.
    """

    __tablename__ = "health_samples"
    __table_args__ = (
        UniqueConstraint("terminal_id", "seq", "sent_at"),
        Index("ux_health_samples_claimed", "terminal_id", "seq", "claimed_sent_at", unique=True),
        # The terminal page's charts read one terminal's recent reports.
        Index("ix_health_samples_terminal_id_received_at", "terminal_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInt)
    sent_at: Mapped[datetime]
    claimed_sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]


class HealthHourly(Base):
    """An hour of one terminal's health reports rolled up (by ``sent_at``), kept for months
    after the raw reports are deleted."""

    __tablename__ = "health_hourly"
    __table_args__ = (UniqueConstraint("terminal_id", "hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    #: The hour's start, UTC.
    hour: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int]
    cpu_avg: Mapped[float | None] = mapped_column(Float)
    cpu_max: Mapped[float | None] = mapped_column(Float)
    memory_avg: Mapped[float | None] = mapped_column(Float)
    memory_max: Mapped[float | None] = mapped_column(Float)
    disk_avg: Mapped[float | None] = mapped_column(Float)
    disk_max: Mapped[float | None] = mapped_column(Float)
    temperature_avg: Mapped[float | None] = mapped_column(Float)
    temperature_max: Mapped[float | None] = mapped_column(Float)


class EventRecord(Base):
    """Something a terminal reported (session ended, wipe done, crash...)."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("terminal_id", "seq", "sent_at"),
        Index("ux_events_claimed", "terminal_id", "seq", "claimed_sent_at", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInt)
    kind: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    #: The terminal's own sent_at when it was outside the accepted skew (see HealthSample).
    claimed_sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    data: Mapped[dict[str, Any]]


class CommandAckRecord(Base):
    """A terminal's answer to a command."""

    __tablename__ = "command_acks"
    __table_args__ = (
        UniqueConstraint("terminal_id", "seq", "sent_at"),
        Index("ux_command_acks_claimed", "terminal_id", "seq", "claimed_sent_at", unique=True),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    command_id: Mapped[str] = mapped_column(String(64), index=True)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(BigInt)
    sent_at: Mapped[datetime]
    #: The terminal's own sent_at when it was outside the accepted skew (see HealthSample).
    claimed_sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime]


class CommandRecord(Base):
    """A command the fleet issued to a terminal, and what became of it.

    ``published_at`` is ``None`` while the broker has not taken the message: the row is the
    outbox, published again when the broker returns (unless expired first).
    """

    __tablename__ = "commands"
    __table_args__ = (
        state_check(CommandState),
        Index("ix_commands_terminal_id_issued_at", "terminal_id", "issued_at"),
        Index("ix_commands_state_expires_at", "state", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    args: Mapped[dict[str, Any]] = mapped_column(default=dict)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64))
    state: Mapped[CommandState] = mapped_column(
        StateType(CommandState), default=CommandState.PENDING
    )
    reason: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class User(Base):
    """A person of the operations team who may log in to the dashboard."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(check_sql("role", Role), name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    created_at: Mapped[datetime]
    #: A disabled user cannot log in, and their open sessions stop working at once.
    disabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: The TOTP secret (base32) once the second factor is set up; None: password alone.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: The time step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None]
    #: The OpenID Connect subject (``iss`` and ``sub``) of a single sign-on user; such a user
    #: has no password here.
    oidc_subject: Mapped[str | None] = mapped_column(String(255), unique=True)

    @property
    def uses_single_sign_on(self) -> bool:
        return self.oidc_subject is not None

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None


class RejectedMessage(Base):
    """How many messages were dropped, per terminal (when known) and reason."""

    __tablename__ = "rejected_messages"
    __table_args__ = (UniqueConstraint("terminal_id", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Not a foreign key: a message with a bad terminal id has no terminal to point to.
    terminal_id: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(BigInt, default=0)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    last_detail: Mapped[str | None] = mapped_column(String(300))


class BrokerCounter(Base):
    """A counter the broker publishes under ``$SYS`` (messages it dropped), kept across broker
    and fleet restarts: ``total`` adds up every increase of the broker's own ``last_value``,
    which starts again from zero when the broker restarts."""

    __tablename__ = "broker_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInt)
    total: Mapped[int] = mapped_column(BigInt)
    updated_at: Mapped[datetime]


class StateChange(Base):
    """A change of a terminal's reported presence, kept for its history and flapping."""

    __tablename__ = "state_changes"
    __table_args__ = (Index("ix_state_changes_terminal_id_at", "terminal_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16))


class Alert(Base):
    """Something wrong with a terminal, from its opening to its resolution.

    ``active_key`` is ``terminal:kind`` until resolved, then ``NULL``: its unique constraint
    keeps one unresolved alert per terminal and kind even with several fleet processes.
    ``last_notified_state`` is the state people were last told about; notifiers claim a
    transition by changing it with a conditional UPDATE, so none is sent twice.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        state_check(AlertState),
        Index("ix_alerts_state_opened_at", "state", "opened_at"),
        Index("ix_alerts_terminal_id_opened_at", "terminal_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[AlertState] = mapped_column(StateType(AlertState), default=AlertState.OPEN)
    active_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    opened_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None]
    summary: Mapped[str] = mapped_column(String(300))
    last_notified_state: Mapped[str | None] = mapped_column(String(16))
    #: What is wrong as the rule's parameters (fleet.alerts.labels renders them in the reader's
    #: language); ``summary`` is their English rendering. None for alerts older than migration 0014.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class MaintenanceWindow(Base):
    """A period when a terminal (or, with no terminal, every one) is worked on: no alarms."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str | None] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """Something a person did (or tried): who, what, on what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[str | None] = mapped_column(String(300))
    #: Every target of an action on many terminals: their ids, or the filter and its count.
    targets: Mapped[str | None] = mapped_column(Text)


#: What a failure is counted against: a password (or second factor) at login, a code at enrolment.
THROTTLE_SCOPES: Final = ("login", "enrolment")


class AuthFailure(Base):
    """A failed login or enrolment attempt, kept for throttling (shared by every fleet process).

    ``account`` is the username typed at login (lower case), None for enrolment codes; rows
    older than the throttling window are deleted as new ones come.
    """

    __tablename__ = "auth_failures"
    __table_args__ = (
        CheckConstraint("scope IN ('login', 'enrolment')", name="scope_known"),
        Index("ix_auth_failures_scope_address_at", "scope", "address", "at"),
        Index("ix_auth_failures_scope_account_at", "scope", "account", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]


class WebSession(Base):
    """A signed-in browser: the cookie holds a random secret, only its SHA-256 is kept here.

    Deleting the row ends the session wherever the cookie is (logout, password change,
    deactivation, the user or an administrator ending it).
    """

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: ``password`` or ``sso`` (single sign-on).
    method: Mapped[str] = mapped_column(String(16))
    #: The password was right; the second factor is still to be given.
    awaiting_second_factor: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Where and with what it signed in, for the person to recognise their sessions.
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class RecoveryCode(Base):
    """A one-time code that stands in for the second factor (its SHA-256 only)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    """A named API token: only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(check_sql("role", Role), name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Rollout(Base):
    """Pushing one content version to the fleet: a canary group first, then waves."""

    __tablename__ = "rollouts"
    __table_args__ = (state_check(RolloutState),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64))
    # The version terminals go back to if the rollout is rolled back (None: the built-in one).
    previous_version: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[RolloutState] = mapped_column(
        StateType(RolloutState), default=RolloutState.RUNNING
    )
    # Share of a wave that must be applied before the next wave starts, and share failed that
    # halts the rollout (percent).
    success_threshold_percent: Mapped[int] = mapped_column(Integer, default=90)
    error_threshold_percent: Mapped[int] = mapped_column(Integer, default=10)
    wave_size: Mapped[int] = mapped_column(Integer, default=10)
    current_wave: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RolloutTarget(Base):
    """One terminal in a rollout: its wave (0 is the canary group) and its progress."""

    __tablename__ = "rollout_targets"
    __table_args__ = (UniqueConstraint("rollout_id", "terminal_id"), state_check(TargetState))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("rollouts.id", ondelete="CASCADE"))
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    state: Mapped[TargetState] = mapped_column(StateType(TargetState), default=TargetState.WAITING)
    reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class EnrolmentCode(Base):
    """A one-time code that lets a technician enrol one new terminal at one site."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Only a hash is kept: a leaked database does not leak usable codes.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    site_name: Mapped[str] = mapped_column(String(120))
    commune: Mapped[str | None] = mapped_column(String(80))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    terminal_id: Mapped[str | None] = mapped_column(String(40))


#: Where a notification channel sends: an e-mail address (through the SMTP relay of the
#: settings) or a webhook URL.
CHANNEL_MEDIA: Final = ("email", "webhook")
#: ``NotificationChannel.alert_kinds`` for a channel that receives every alert kind.
ALL_ALERT_KINDS: Final = "*"


class NotificationChannel(Base):
    """One recipient of alert notifications set in the dashboard (``/notifications``)."""

    __tablename__ = "notification_channels"
    __table_args__ = (CheckConstraint("medium IN ('email', 'webhook')", name="medium_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    medium: Mapped[str] = mapped_column(String(16))
    #: The e-mail address or the webhook URL.
    target: Mapped[str] = mapped_column(String(500))
    #: The alert kinds it receives, separated by commas, or ``*`` for every kind.
    alert_kinds: Mapped[str] = mapped_column(String(400))
    enabled: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]


class CommandOutputRecord(Base):
    """What a ``logs`` or ``screenshot`` command brought back (see the terminal): the redacted
    log lines, or the PNG of the attract or home screen. Only the latest few are kept."""

    __tablename__ = "command_outputs"
    __table_args__ = (
        CheckConstraint("kind IN ('logs', 'screenshot')", name="kind_known"),
        Index(
            "ix_command_outputs_terminal_id_kind_received_at", "terminal_id", "kind", "received_at"
        ),
    )

    command_id: Mapped[str] = mapped_column(
        ForeignKey("commands.id", ondelete="CASCADE"), primary_key=True
    )
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    #: ``logs``: ``[{"at", "unit", "priority", "text"}]``, as the contract's LogLine.
    lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: ``screenshot``: the PNG, at most the contract's SCREENSHOT_MAX_BYTES.
    png: Mapped[bytes | None] = mapped_column(LargeBinary)


# --- Availability (issue 15): daily roll-ups of the state history, per terminal and fleet-wide.


class AvailabilityDay(Base):
    """One terminal's day (in the dashboard's time zone): seconds observed, online, down.

    Rolled up from ``state_changes`` by :mod:`fleet.availability`; ``complete`` is false for
    today's row, recomputed up to the latest pass.
    """

    __tablename__ = "availability_days"
    __table_args__ = (
        # Day first: a day is deleted, summed and exported (by terminal) through it.
        UniqueConstraint("day", "terminal_id"),
        # The least available terminals of a day, in index order.
        Index("ix_availability_days_day_share", "day", "share", "terminal_id"),
    )

    id: Mapped[int] = mapped_column(BigInt, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.id", ondelete="CASCADE"))
    day: Mapped[date]
    observed_s: Mapped[float] = mapped_column(Float)
    online_s: Mapped[float] = mapped_column(Float)
    down_s: Mapped[float] = mapped_column(Float)
    maintenance_s: Mapped[float] = mapped_column(Float)
    outages: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    #: online / observed, NULL when nothing was observed.
    share: Mapped[float | None] = mapped_column(Float)
    complete: Mapped[bool]


class AvailabilityFleetDay(Base):
    """The fleet's day: the sums of its terminals' days, sessions, outages and alerts opened."""

    __tablename__ = "availability_fleet_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    terminals: Mapped[int] = mapped_column(Integer)
    observed_s: Mapped[float] = mapped_column(Float)
    online_s: Mapped[float] = mapped_column(Float)
    down_s: Mapped[float] = mapped_column(Float)
    maintenance_s: Mapped[float] = mapped_column(Float)
    outages: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    alerts: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool]
    computed_at: Mapped[datetime]


#: The fleet's recent outages are read newest first across terminals (fleet.availability).
Index("ix_state_changes_at", StateChange.at)


# mapscale: the summary's counts by state read an index (the plan's grid index, on
# expressions, is made by migration 0016 only: autogenerate cannot compare it).
Index("ix_terminals_state", Terminal.state)
# The overview's severity order, one rank at a time in (state_since, id) order, and the
# summary's "degraded" count (fleet.severity.rank_ranges; migration 0017).
Index(
    "ix_terminals_severity",
    Terminal.state,
    Terminal.state_since,
    Terminal.id,
    Terminal.ui_alive,
    Terminal.disk_percent,
    Terminal.enclosure_temperature_c,
    Terminal.temperature_c,
    Terminal.clock_synced,
    Terminal.clock_error_s,
)
# The overview's list of the terminals not placed on the plan, in id order, and their count.
Index(
    "ix_terminals_not_placed",
    Terminal.id,
    sqlite_where=or_(Terminal.latitude.is_(None), Terminal.longitude.is_(None)),
    postgresql_where=or_(Terminal.latitude.is_(None), Terminal.longitude.is_(None)),
)
