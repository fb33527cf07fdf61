"""The agent's settings, read from one TOML file (``/etc/kiosk/agent.toml`` by default).

Every problem with the file comes out as one :class:`ConfigError` whose text is a translated,
one-paragraph explanation that names the file and the key, for the technician who wrote it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from kiosk.agent.i18n import Translate, untranslated
from kiosk.contract import BROKER_AUTOSAVE_INTERVAL_S, ContractError, validate_terminal_id

DEFAULT_CONFIG_PATH: Final = Path("/etc/kiosk/agent.toml")
DEFAULT_WILL_DELAY_S: Final = 10


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is the message for the person who wrote it."""


class _Section(BaseModel):
    # Unknown keys are refused so that a misspelt key is reported, not silently ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class MqttSettings(_Section):
    """``[mqtt]``: how to reach the broker and who we are to it."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1)
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: FilePath | None = None
    keepalive_s: int = Field(default=30, ge=1, le=3600)
    # MQTT v5 Will Delay Interval: a link that comes back within it does not show as "lost".
    will_delay_s: int | None = Field(default=None, ge=0, le=3600)

    @property
    def effective_will_delay_s(self) -> int:
        """``will_delay_s``, else 10 s or a third of the keepalive when that is shorter.

        A third: a frozen (not killed) agent is noticed by the broker only after 1.5 × the
        keepalive and the broker's own check period; the delay comes on top of that.
        """
        if self.will_delay_s is not None:
            return self.will_delay_s
        return min(DEFAULT_WILL_DELAY_S, self.keepalive_s // 3)

    @model_validator(mode="after")
    def _will_within_keepalive(self) -> MqttSettings:
        # A killed agent must still show as "lost" within 1.5 × keepalive.
        if self.will_delay_s is not None and self.will_delay_s > self.keepalive_s:
            raise PydanticCustomError(
                "will_delay_too_long", "will delay too long", {"key": "will_delay_s"}
            )
        return self

    @model_validator(mode="after")
    def _one_password(self) -> MqttSettings:
        if self.password is None and self.password_file is None:
            raise PydanticCustomError("password_missing", "no password", {"key": "password"})
        if self.password is not None and self.password_file is not None:
            raise PydanticCustomError("password_twice", "two passwords", {"key": "password"})
        return self


class HealthSettings(_Section):
    """``[health]``: how often health is sampled and published (see docs/agent.md)."""

    # Sampled this often; published at once when a value moved beyond its deadband.
    sample_s: float | None = Field(default=None, gt=0, le=86400)
    # Otherwise published at most this often, and only if anything changed at all.
    interval_s: float = Field(default=60.0, gt=0, le=86400)
    # And at least this often whatever happens.
    max_silence_s: float | None = Field(default=None, gt=0, le=7 * 86400)

    @property
    def effective_sample_s(self) -> float:
        """``sample_s``, else 5 s or ``interval_s`` when that is shorter.

        5 s: with the UI's 10 s liveness deadline, a UI that stops answering is reported
        within 15 s (the deadband publishes an ``alive`` change at once).
        """
        return self.sample_s if self.sample_s is not None else min(5.0, self.interval_s)

    @property
    def effective_max_silence_s(self) -> float:
        """``max_silence_s``, else 900 s or ``interval_s`` when that is longer."""
        if self.max_silence_s is not None:
            return self.max_silence_s
        return max(900.0, self.interval_s)

    @model_validator(mode="after")
    def _in_order(self) -> HealthSettings:
        if self.effective_sample_s > self.interval_s:
            raise PydanticCustomError("health_order", "sample after interval", {"key": "sample_s"})
        if self.interval_s > self.effective_max_silence_s:
            raise PydanticCustomError(
                "health_order", "interval after silence", {"key": "max_silence_s"}
            )
        return self


class OutboxSettings(_Section):
    """``[outbox]``: the store-and-forward queue's bounds and drain rate."""

    drain_per_s: float = Field(default=20.0, gt=0, le=1000)
    max_rows: int = Field(default=20_000, ge=10)
    max_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    max_age_s: float = Field(default=7 * 86400.0, gt=0)
    # When the link drops, send again what the broker acknowledged this long before its last
    # acknowledgement: a broker killed or cut off before it saved its state has lost it (it
    # saves every BROKER_AUTOSAVE_INTERVAL_S). The fleet drops the copies; 0 turns this off.
    resend_acked_s: float = Field(default=2.0 * BROKER_AUTOSAVE_INTERVAL_S, ge=0, le=300)


class DebugSettings(_Section):
    """``[debug]``: for tests and benchmarks only; never set on a terminal in the street."""

    # Queue a "debug_tick" event this often.
    emit_event_every_s: float | None = Field(default=None, gt=0)


class SensorSettings(_Section):
    """``[sensors]``: where sensor readings come from."""

    backend: Literal["psutil", "simulated"] = "psutil"
    # Where the clock's sync state comes from: the kernel (adjtimex), or nowhere, for a machine
    # that cannot keep its own time (the demo's simulated terminals in a container or chroot,
    # which may not set the clock): health then says nothing about the clock, rather than a
    # fault that is the host's.
    clock: Literal["kernel", "none"] = "kernel"


class UiLinkSettings(_Section):
    """``[ui]``: the local socket the kiosk UI talks to (heartbeats, session events)."""

    # None: no UI on this machine (a server-side simulated terminal, say).
    socket: Path | None = Path("/run/kiosk/agent.sock")
    liveness_timeout_s: float = Field(default=10.0, gt=0, le=600)


class EnclosureSettings(_Section):
    """``[enclosure]``: the street furniture's sensors (door, temperature, humidity, backlight)."""

    backend: Literal["none", "sysfs", "simulated"] = "none"
    door_gpio: Path | None = None
    temperature: Path | None = None
    humidity: Path | None = None
    backlight: Path | None = None


class ContentSettings(_Section):
    """``[content]``: signed content updates from the fleet (TUF); all three keys, or none."""

    # Where versions are kept; the UI shows <dir>/current (a link switched atomically).
    dir: Path | None = None
    # The fleet's published repository, e.g. https://fleet.example.org/content
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # The root.json the image ships: the first keys this terminal trusts.
    trusted_root: FilePath | None = None

    @model_validator(mode="after")
    def _all_or_nothing(self) -> ContentSettings:
        given = [self.dir is not None, self.base_url is not None, self.trusted_root is not None]
        if any(given) and not all(given):
            raise PydanticCustomError("content_partial", "content incomplete", {"key": "dir"})
        return self

    @property
    def enabled(self) -> bool:
        return self.dir is not None


class ActionSettings(_Section):
    """``[actions]``: how fleet commands act on the machine."""

    # "simulated" only logs what it would do: for the demo and tests, never on a terminal.
    backend: Literal["systemd", "simulated"] = "systemd"
    ui_unit: str = Field(default="kiosk-ui.service", pattern=r"^[A-Za-z0-9@_.-]{1,80}$")


class AgentSettings(_Section):
    """The whole file. After :func:`load_settings`, ``mqtt.password`` is always set."""

    terminal_id: str
    state_dir: Path | None = None
    mqtt: MqttSettings
    health: HealthSettings = HealthSettings()
    sensors: SensorSettings = SensorSettings()
    outbox: OutboxSettings = OutboxSettings()
    ui: UiLinkSettings = UiLinkSettings()
    enclosure: EnclosureSettings = EnclosureSettings()
    actions: ActionSettings = ActionSettings()
    content: ContentSettings = ContentSettings()
    debug: DebugSettings = DebugSettings()

    @field_validator("terminal_id")
    @classmethod
    def _valid_terminal_id(cls, value: str) -> str:
        try:
            return validate_terminal_id(value)
        except ContractError as exc:
            raise PydanticCustomError("bad_terminal_id", "bad terminal id") from exc

    @property
    def mqtt_username(self) -> str:
        """The MQTT user name: the terminal id unless the file says otherwise."""
        return self.mqtt.username or self.terminal_id


def load_settings(path: Path, _: Translate = untranslated) -> AgentSettings:
    """Read and check ``path``; raise :class:`ConfigError` with a translated message if unusable."""
    try:
        with path.open("rb") as config_file:
            raw = tomllib.load(config_file)
    except FileNotFoundError as exc:
        raise ConfigError(
            _(
                "The configuration file {path} does not exist. Create it (kiosk-agent --help "
                "shows an example) or give another one with --config."
            ).format(path=path)
        ) from exc
    except OSError as exc:
        raise ConfigError(
            _("Cannot read the configuration file {path}: {error}.").format(
                path=path, error=exc.strerror or exc
            )
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _(
                "The configuration file {path} is not valid TOML ({error}). Fix the syntax "
                "and start the agent again."
            ).format(path=path, error=exc)
        ) from exc
    try:
        settings = AgentSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(_describe(error, _) for error in exc.errors())
        raise ConfigError(
            _(
                "The configuration file {path} has invalid values: {problems}. Fix them and "
                "start the agent again."
            ).format(path=path, problems=problems)
        ) from exc
    return _with_password(settings, path, _)


def _with_password(settings: AgentSettings, path: Path, _: Translate) -> AgentSettings:
    """Read ``mqtt.password_file`` now, so that a bad file is a configuration error at start."""
    password_file = settings.mqtt.password_file
    if password_file is None:
        return settings
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise ConfigError(
            _(
                "The configuration file {path} names the password file {password_file} "
                '(key "mqtt.password_file"), which cannot be read: {error}.'
            ).format(path=path, password_file=password_file, error=reason or exc)
        ) from exc
    if not password:
        raise ConfigError(
            _(
                'The password file {password_file} named in {path} (key "mqtt.password_file") '
                "is empty."
            ).format(path=path, password_file=password_file)
        )
    mqtt = settings.mqtt.model_copy(update={"password": SecretStr(password)})
    return settings.model_copy(update={"mqtt": mqtt})


def _describe(error: ErrorDetails, _: Translate) -> str:
    """One problem as ``key: what is wrong``, in the user's language."""
    context: dict[str, Any] = dict(error.get("ctx") or {})
    location = [str(part) for part in error["loc"]]
    if "key" in context:
        location.append(str(context["key"]))
    key = ".".join(location) or _("(whole file)")
    return '"{key}": {problem}'.format(key=key, problem=_problem(error["type"], context, _))


def _problem(kind: str, context: dict[str, Any], _: Translate) -> str:
    """What is wrong, for the pydantic error types a hand-written TOML file can produce."""
    if kind == "missing":
        return _("this key is required")
    if kind == "extra_forbidden":
        return _("unknown key (check its spelling)")
    if kind == "bad_terminal_id":
        return _("must be 3 to 40 characters among a-z, 0-9 and '-', and must not be 'fleet'")
    if kind == "password_missing":
        return _("give the MQTT password with password or password_file (one of the two)")
    if kind == "will_delay_too_long":
        return _(
            "must not be longer than mqtt.keepalive_s, so that a dead terminal is still "
            "reported within 1.5 × the keepalive"
        )
    if kind == "health_order":
        return _("health.sample_s ≤ health.interval_s ≤ health.max_silence_s must hold")
    if kind == "content_partial":
        return _("content updates need content.dir, content.base_url and content.trusted_root")
    if kind == "string_pattern_mismatch":
        return _("must be an address starting with https:// (or http://)")
    if kind == "password_twice":
        return _("give password or password_file, not both")
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return _("must be a whole number")
    if kind in {"float_type", "float_parsing"}:
        return _("must be a number")
    if kind in {"string_type", "path_type"}:
        return _("must be a text in quotes")
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return _("must be a section ([name]) of keys")
    if kind == "literal_error":
        return _("must be one of {expected}").format(expected=context.get("expected", ""))
    if kind in {"path_not_file", "path_not_exists"}:
        return _("this file does not exist")
    if kind == "string_too_short":
        return _("must not be empty")
    for bound, text in (
        ("gt", _("must be greater than {limit}")),
        ("ge", _("must be at least {limit}")),
        ("lt", _("must be less than {limit}")),
        ("le", _("must be at most {limit}")),
    ):
        if bound in context:
            return text.format(limit=context[bound])
    return _("invalid value ({error_type})").format(error_type=kind)
