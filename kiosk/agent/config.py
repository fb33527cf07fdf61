"""The agent's settings, read from one TOML file (``/etc/kiosk/agent.toml`` by default).

Every problem with the file comes out as one :class:`ConfigError` whose text is a translated,
one-paragraph explanation that names the file and the key, for the technician who wrote it.

Checked by hand rather than with pydantic: the agent runs for months, and pydantic would stay
resident all that time (about 6 MB, docs/agent.md "Memory") only to read this file at start-up.
Each section is a frozen dataclass whose fields say their bounds (:class:`_Rule`); the problems
found keep pydantic's names (``missing``, ``extra_forbidden``, ``int_parsing``...), all of them
reported at once, so that the messages stay the ones the technicians know.

Over 400 lines because it declares every section of agent.toml with its bounds, its checks and
their French messages: many short declarations, read one at a time.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypedDict, get_args

from kiosk.agent.i18n import Translate, untranslated
from kiosk.contract import paths
from kiosk.contract.wire import (
    BROKER_AUTOSAVE_INTERVAL_S,
    CONTENT_URL_PATTERN,
    ContractError,
    validate_terminal_id,
)

if TYPE_CHECKING:
    from kiosk.contract.settings_doc import SettingRow

DEFAULT_WILL_DELAY_S: Final = 10


class ConfigError(Exception):
    """The configuration cannot be used; ``str()`` is the message for the person who wrote it."""


class Problem(TypedDict):
    """One thing wrong in the file: where (``loc``), what (``type``), and its bounds (``ctx``)."""

    loc: tuple[str, ...]
    type: str
    ctx: dict[str, Any]


class InvalidSettings(ValueError):
    """The settings break their rules; ``problems`` says each (see :func:`load_settings`)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{'.'.join(p['loc'])}: {p['type']}" for p in problems))
        self.problems = problems


class SecretStr:
    """A password that does not show in ``repr`` or in logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class _Wrong(ValueError):
    """A value that breaks its rule: the problem's type and context."""

    def __init__(self, kind: str, **context: Any) -> None:
        super().__init__(kind)
        self.kind = kind
        self.context = context


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Wrong("int_from_float")
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _Wrong("int_parsing") from None
    raise _Wrong("int_type")


def _number(value: Any) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Wrong("float_parsing") from None
    raise _Wrong("float_type")


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _Wrong("string_type")
    return value


def _path(value: Any) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str):
        raise _Wrong("path_type")
    return Path(value)


def _file(value: Any) -> Path:
    path = _path(value)
    if not path.is_file():
        raise _Wrong("path_not_file")
    return path


def _secret(value: Any) -> SecretStr:
    return value if isinstance(value, SecretStr) else SecretStr(_text(value))


@dataclass(frozen=True)
class _Rule:
    """How one key is read and checked: a converter, then bounds, length and pattern."""

    convert: Callable[[Any], Any]
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    min_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    #: What the key means, for docs/agent-settings.md (generated: ``python -m
    #: kiosk.agent.config > docs/agent-settings.md``; tests/agent/test_config_doc.py).
    doc: str = ""

    def check(self, value: Any) -> Any:
        if self.choices:
            if value not in self.choices:
                quoted = [repr(choice) for choice in self.choices]
                expected = " or ".join(
                    [", ".join(quoted[:-1]), quoted[-1]] if len(quoted) > 1 else quoted
                )
                raise _Wrong("literal_error", expected=expected)
            return value
        value = self.convert(value)
        if self.gt is not None and value <= self.gt:
            raise _Wrong("greater_than", gt=self.gt)
        if self.ge is not None and value < self.ge:
            raise _Wrong("greater_than_equal", ge=self.ge)
        if self.le is not None and value > self.le:
            raise _Wrong("less_than_equal", le=self.le)
        if self.min_length is not None and len(value) < self.min_length:
            raise _Wrong("string_too_short", min_length=self.min_length)
        if self.pattern is not None and not re.search(self.pattern, value):
            raise _Wrong("string_pattern_mismatch", pattern=self.pattern)
        return value


def _one_of(names: Any, doc: str) -> _Rule:
    """A key that takes one of the strings of the ``Literal`` type ``names``."""
    return _Rule(_text, choices=get_args(names), doc=doc)


def _terminal_id(value: Any) -> str:
    try:
        return validate_terminal_id(_text(value))
    except ContractError:
        raise _Wrong("bad_terminal_id") from None


@dataclass(frozen=True, kw_only=True)
class MqttSettings:
    """``[mqtt]``: how to reach the broker and who we are to it."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "host": _Rule(_text, min_length=1, doc="The broker's host name or address."),
        "port": _Rule(_whole, ge=1, le=65535, doc="The broker's port."),
        "username": _Rule(_text, min_length=1, doc="The MQTT user name; unset: the terminal id."),
        "password": _Rule(_secret, doc="The MQTT password; this or `password_file`, not both."),
        "password_file": _Rule(
            _path,
            doc=f"A file whose first line is the MQTT password (`{paths.MQTT_PASSWORD}`, 0600).",
        ),
        "ca_file": _Rule(
            _file,
            doc=(
                "The CA that signed the broker's certificate: set, the link is TLS with a host "
                "name check; unset: plain TCP."
            ),
        ),
        "keepalive_s": _Rule(
            _whole,
            ge=1,
            le=3600,
            doc="MQTT keepalive, seconds: a silent link is noticed after 1.5 times this.",
        ),
        "will_delay_s": _Rule(
            _whole,
            ge=0,
            le=3600,
            doc=(
                "MQTT v5 Will Delay Interval: a link back within it does not show as lost; at most"
                " `keepalive_s`; unset: 10, or a third of `keepalive_s` if smaller."
            ),
        ),
    }

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    keepalive_s: int = 30
    # MQTT v5 Will Delay Interval: a link that comes back within it does not show as "lost".
    will_delay_s: int | None = None

    def __post_init__(self) -> None:
        # A killed agent must still show as "lost" within 1.5 × keepalive.
        if self.will_delay_s is not None and self.will_delay_s > self.keepalive_s:
            raise _Wrong("will_delay_too_long", key="will_delay_s")
        if self.password is None and self.password_file is None:
            raise _Wrong("password_missing", key="password")
        if self.password is not None and self.password_file is not None:
            raise _Wrong("password_twice", key="password")

    @property
    def effective_will_delay_s(self) -> int:
        """``will_delay_s``, else 10 s or a third of the keepalive when that is shorter.

        A third: a frozen (not killed) agent is noticed by the broker only after 1.5 × the
        keepalive and the broker's own check period; the delay comes on top of that.
        """
        if self.will_delay_s is not None:
            return self.will_delay_s
        return min(DEFAULT_WILL_DELAY_S, self.keepalive_s // 3)


@dataclass(frozen=True, kw_only=True)
class HealthSettings:
    """``[health]``: how often health is sampled and published (see docs/agent.md)."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "sample_s": _Rule(
            _number,
            gt=0,
            le=86400,
            doc=(
                "How often health is measured, seconds; unset: 5, or `interval_s` if smaller (with"
                " the UI's 10 s deadline, a silent UI is reported within 15 s)."
            ),
        ),
        "interval_s": _Rule(
            _number,
            gt=0,
            le=86400,
            doc=(
                "Health is published at most this often when something changed beyond its noise "
                "floor (at once past a deadband)."
            ),
        ),
        "max_silence_s": _Rule(
            _number,
            gt=0,
            le=7 * 86400,
            doc=(
                "Health is published at least this often, changed or not; unset: 900, or "
                "`interval_s` if larger. `sample_s ≤ interval_s ≤ max_silence_s` must hold."
            ),
        ),
    }

    # Sampled this often; published at once when a value moved beyond its deadband.
    sample_s: float | None = None
    # Otherwise published at most this often, and only if anything changed at all.
    interval_s: float = 60.0
    # And at least this often whatever happens.
    max_silence_s: float | None = None

    def __post_init__(self) -> None:
        if self.effective_sample_s > self.interval_s:
            raise _Wrong("health_order", key="sample_s")
        if self.interval_s > self.effective_max_silence_s:
            raise _Wrong("health_order", key="max_silence_s")

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


@dataclass(frozen=True, kw_only=True)
class OutboxSettings:
    """``[outbox]``: the store-and-forward queue's bounds and drain rate."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "drain_per_s": _Rule(
            _number,
            gt=0,
            le=1000,
            doc="Messages a second when a backlog is sent after a reconnection.",
        ),
        "max_rows": _Rule(
            _whole,
            ge=10,
            doc=(
                "The outbox's bound in rows; past it the oldest health samples go first, events "
                "and acks last."
            ),
        ),
        "max_bytes": _Rule(_whole, ge=64 * 1024, doc="The outbox's bound in payload bytes."),
        "max_age_s": _Rule(
            _number,
            gt=0,
            doc="Older queued messages are dropped (and counted in `dropped_samples`).",
        ),
        "resend_acked_s": _Rule(
            _number,
            ge=0,
            le=300,
            doc=(
                "When the link drops, what the broker acknowledged this long before its last "
                "acknowledgement is sent again: a broker killed before it saved its state has lost"
                " it (the fleet drops the copies); 0: never."
            ),
        ),
    }

    drain_per_s: float = 20.0
    max_rows: int = 20_000
    max_bytes: int = 16 * 1024 * 1024
    max_age_s: float = 7 * 86400.0
    # When the link drops, send again what the broker acknowledged this long before its last
    # acknowledgement: a broker killed or cut off before it saved its state has lost it (it
    # saves every BROKER_AUTOSAVE_INTERVAL_S). The fleet drops the copies; 0 turns this off.
    resend_acked_s: float = 2.0 * BROKER_AUTOSAVE_INTERVAL_S


@dataclass(frozen=True, kw_only=True)
class DebugSettings:
    """``[debug]``: for tests and benchmarks only; never set on a terminal in the street."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "emit_event_every_s": _Rule(
            _number,
            gt=0,
            doc=(
                "Tests and benchmarks only: queue a `debug_tick` event this often; never on a "
                "terminal in the street."
            ),
        )
    }

    # Queue a "debug_tick" event this often.
    emit_event_every_s: float | None = None


SensorBackendName = Literal["psutil", "simulated"]
ClockSource = Literal["kernel", "none"]


@dataclass(frozen=True, kw_only=True)
class SensorSettings:
    """``[sensors]``: where sensor readings come from."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "backend": _one_of(
            SensorBackendName,
            (
                "Where sensor readings come from: `psutil` (the machine itself) or `simulated` "
                "(the demo and tests)."
            ),
        ),
        "clock": _one_of(
            ClockSource,
            (
                "Where the clock's sync state comes from: `kernel` (adjtimex), or `none` for a "
                "machine that cannot keep its own time (the demo in a container): health then says"
                " nothing of the clock."
            ),
        ),
    }

    backend: SensorBackendName = "psutil"
    # Where the clock's sync state comes from: the kernel (adjtimex), or nowhere, for a machine
    # that cannot keep its own time (the demo's simulated terminals in a container or chroot,
    # which may not set the clock): health then says nothing about the clock, rather than a
    # fault that is the host's.
    clock: ClockSource = "kernel"


@dataclass(frozen=True, kw_only=True)
class UiLinkSettings:
    """``[ui]``: the local socket the kiosk UI talks to (heartbeats, session events)."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "socket": _Rule(
            _path, doc="The local socket the kiosk UI connects to; unset: no UI on this machine."
        ),
        "liveness_timeout_s": _Rule(
            _number,
            gt=0,
            le=600,
            doc="A UI silent this long is reported not answering (`ui.alive = false`).",
        ),
    }

    # None: no UI on this machine (a server-side simulated terminal, say).
    socket: Path | None = paths.AGENT_SOCKET
    liveness_timeout_s: float = 10.0


EnclosureBackendName = Literal["none", "sysfs", "simulated"]


@dataclass(frozen=True, kw_only=True)
class EnclosureSettings:
    """``[enclosure]``: the street furniture's sensors (door, temperature, humidity, backlight)."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "backend": _one_of(
            EnclosureBackendName,
            "The street furniture's sensors: `sysfs` (the files below), `simulated` or `none`.",
        ),
        "door_gpio": _Rule(_path, doc="The sysfs file of the door switch."),
        "temperature": _Rule(_path, doc="The sysfs file of the enclosure's temperature sensor."),
        "humidity": _Rule(_path, doc="The sysfs file of the enclosure's humidity sensor."),
        "backlight": _Rule(_path, doc="The sysfs folder of the screen's backlight."),
    }

    backend: EnclosureBackendName = "none"
    door_gpio: Path | None = None
    temperature: Path | None = None
    humidity: Path | None = None
    backlight: Path | None = None


@dataclass(frozen=True, kw_only=True)
class ContentSettings:
    """``[content]``: signed content updates from the fleet (TUF); all three keys, or none."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "dir": _Rule(
            _path,
            doc=(
                "Signed content updates (docs/content.md): where versions are kept; the UI shows "
                "`<dir>/current`. All three `content` keys, or none."
            ),
        ),
        "base_url": _Rule(
            _text,
            pattern=CONTENT_URL_PATTERN,
            doc="The fleet's published repository, e.g. `https://fleet.example.org/content`.",
        ),
        "trusted_root": _Rule(
            _file, doc="The `root.json` the image ships: the first keys this terminal trusts."
        ),
    }

    # Where versions are kept; the UI shows <dir>/current (a link switched atomically).
    dir: Path | None = None
    # The fleet's published repository, e.g. https://fleet.example.org/content
    base_url: str | None = None
    # The root.json the image ships: the first keys this terminal trusts.
    trusted_root: Path | None = None

    def __post_init__(self) -> None:
        given = [self.dir is not None, self.base_url is not None, self.trusted_root is not None]
        if any(given) and not all(given):
            raise _Wrong("content_partial", key="dir")

    @property
    def enabled(self) -> bool:
        return self.dir is not None


ActionBackendName = Literal["systemd", "simulated"]


@dataclass(frozen=True, kw_only=True)
class ActionSettings:
    """``[actions]``: how fleet commands act on the machine."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "backend": _one_of(
            ActionBackendName,
            (
                "How commands act on the machine: `systemd`, or `simulated`, which only logs what "
                "it would do (the demo and tests)."
            ),
        ),
        "ui_unit": _Rule(
            _text, pattern=r"^[A-Za-z0-9@_.-]{1,80}$", doc="The unit `restart_ui` restarts."
        ),
    }

    # "simulated" only logs what it would do: for the demo and tests, never on a terminal.
    backend: ActionBackendName = "systemd"
    ui_unit: str = "kiosk-ui.service"


@dataclass(frozen=True, kw_only=True)
class AgentSettings:
    """The whole file. After :func:`load_settings`, ``mqtt.password`` is always set."""

    RULES: ClassVar[dict[str, _Rule]] = {
        "terminal_id": _Rule(
            _terminal_id,
            doc="The terminal's id, `[a-z0-9-]{3,40}` and never `fleet`; also its MQTT user name.",
        ),
        "state_dir": _Rule(
            _path,
            doc=(
                "Where the counters (`message.seq`, `birth.seq`), the outbox "
                "(`outbox/outbox.sqlite3`) and the command records live; unset: memory only "
                "(tests)."
            ),
        ),
    }
    SECTIONS: ClassVar[dict[str, type[Any]]] = {
        "mqtt": MqttSettings,
        "health": HealthSettings,
        "sensors": SensorSettings,
        "outbox": OutboxSettings,
        "ui": UiLinkSettings,
        "enclosure": EnclosureSettings,
        "actions": ActionSettings,
        "content": ContentSettings,
        "debug": DebugSettings,
    }

    terminal_id: str
    state_dir: Path | None = None
    mqtt: MqttSettings
    health: HealthSettings = field(default_factory=HealthSettings)
    sensors: SensorSettings = field(default_factory=SensorSettings)
    outbox: OutboxSettings = field(default_factory=OutboxSettings)
    ui: UiLinkSettings = field(default_factory=UiLinkSettings)
    enclosure: EnclosureSettings = field(default_factory=EnclosureSettings)
    actions: ActionSettings = field(default_factory=ActionSettings)
    content: ContentSettings = field(default_factory=ContentSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)

    @property
    def mqtt_username(self) -> str:
        """The MQTT user name: the terminal id unless the file says otherwise."""
        return self.mqtt.username or self.terminal_id

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> AgentSettings:
        """The settings ``raw`` (a parsed TOML file) gives, or :class:`InvalidSettings`."""
        problems: list[Problem] = []
        settings = _read_section(cls, raw, (), problems)
        if settings is None or problems:
            raise InvalidSettings(problems)
        assert isinstance(settings, AgentSettings)
        return settings


def _read_section(
    section: type[Any], raw: Any, where: tuple[str, ...], problems: list[Problem]
) -> Any:
    """``section`` built from ``raw``, or None with every problem found added to ``problems``."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(loc=where, type="model_type", ctx={}))
        return None
    rules: dict[str, _Rule] = section.RULES
    sections: dict[str, type[Any]] = getattr(section, "SECTIONS", {})
    found = len(problems)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(section):
        name = spec.name
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                problems.append(Problem(loc=(*where, name), type="missing", ctx={}))
            continue
        if name in sections:
            values[name] = _read_section(sections[name], raw[name], (*where, name), problems)
            continue
        try:
            values[name] = rules[name].check(raw[name])
        except _Wrong as wrong:
            problems.append(Problem(loc=(*where, name), type=wrong.kind, ctx=wrong.context))
    known = {spec.name for spec in dataclasses.fields(section)}
    for key in raw:
        if key not in known:
            problems.append(Problem(loc=(*where, str(key)), type="extra_forbidden", ctx={}))
    if len(problems) > found:
        return None
    try:
        return section(**values)
    except _Wrong as wrong:
        problems.append(Problem(loc=where, type=wrong.kind, ctx=wrong.context))
        return None


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
        settings = AgentSettings.from_mapping(raw)
    except InvalidSettings as exc:
        problems = "; ".join(_describe(problem, _) for problem in exc.problems)
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
    # Set beside the file it came from: the file stays named (for the logs), the check of
    # "one of the two" was made on what the technician wrote.
    mqtt = copy.copy(settings.mqtt)
    object.__setattr__(mqtt, "password", SecretStr(password))
    return dataclasses.replace(settings, mqtt=mqtt)


def _describe(error: Problem, _: Translate) -> str:
    """One problem as ``key: what is wrong``, in the user's language."""
    context: dict[str, Any] = dict(error.get("ctx") or {})
    location = [str(part) for part in error["loc"]]
    if "key" in context:
        location.append(str(context["key"]))
    key = ".".join(location) or _("(whole file)")
    return '"{key}": {problem}'.format(key=key, problem=_problem(error["type"], context, _))


def _problem(kind: str, context: dict[str, Any], _: Translate) -> str:
    """What is wrong, for the problems a hand-written TOML file can have (pydantic's names)."""
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


# --- docs/agent-settings.md, generated from the declarations above ---------------------------

_KINDS: Final[dict[Callable[[Any], Any], str]] = {
    _whole: "integer",
    _number: "number",
    _text: "text",
    _path: "path",
    _file: "path of an existing file",
    _secret: "secret text",
    _terminal_id: "terminal id",
}


def _rows(section: type[Any], prefix: str) -> Iterator[SettingRow]:
    from kiosk.contract.settings_doc import SettingRow, bounds_text, default_text  # docs only

    rules: dict[str, _Rule] = section.RULES
    sections: dict[str, type[Any]] = getattr(section, "SECTIONS", {})
    for spec in dataclasses.fields(section):
        if spec.name in sections:
            yield from _rows(sections[spec.name], f"{prefix}{spec.name}.")
            continue
        rule = rules[spec.name]
        if rule.choices:
            kind = "one of " + ", ".join(f"`{choice}`" for choice in rule.choices)
        else:
            bounds = {"minimum": rule.ge, "exclusiveMinimum": rule.gt, "maximum": rule.le}
            schema: dict[str, Any] = {
                name: value for name, value in bounds.items() if value is not None
            }
            if rule.pattern is not None:
                schema["pattern"] = rule.pattern
            kind = _KINDS[rule.convert] + bounds_text(schema)
            if rule.min_length == 1:
                kind += ", not empty"
        if spec.default is not dataclasses.MISSING:
            default = default_text(spec.default)
        else:
            default = "(required)"
        yield SettingRow(f"{prefix}{spec.name}", kind, default, rule.doc)


def settings_markdown() -> str:
    """``docs/agent-settings.md``, generated from :class:`AgentSettings` and its sections."""
    from kiosk.contract.settings_doc import rows_table  # docs only: it imports pydantic

    lines = [
        "# Agent settings",
        "",
        "<!-- Generated by `python -m kiosk.agent.config > docs/agent-settings.md` from",
        "     kiosk/agent/config.py; do not edit by hand (tests/agent/test_config_doc.py). -->",
        "",
        f"The agent reads `{paths.AGENT_CONFIG}` (TOML), or the file given with",
        "`kiosk-agent --config FILE`. `section.key` below is the key `key` of the section",
        "`[section]`. An unknown key or a bad value stops the agent with exit code 2 and a",
        "message naming the file and the key, in the technician's language. `kiosk-provision",
        "enroll` writes this file from what the fleet answers.",
        "",
        *rows_table(_rows(AgentSettings, "")),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    sys.stdout.write(settings_markdown())
