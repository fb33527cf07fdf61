"""The kiosk's settings, declared once: type, default, bounds and description of each.

The TOML file (``/etc/kiosk/kiosk.toml`` on a terminal), the checks and
``docs/kiosk-settings.md`` all come from :class:`KioskSettings`. No Qt here: the agent's tools
and the documentation generator import this module too.

``python -m kiosk.ui.settings > docs/kiosk-settings.md`` regenerates the documentation.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.paths import AGENT_SOCKET, KIOSK_CONFIG
from kiosk.contract.settings import (
    DEFAULT_BRIGHTNESS_SCHEDULE,
    InvalidSettings,
    parse_brightness_schedule,
)
from kiosk.i18n import DEFAULT_LANGUAGE
from kiosk.ui.i18n import gettext_for
from kiosk.ui.startsettings import (
    DEFAULT_LANGUAGES,
    LANGUAGE_PATTERN,
    POSITION_RANGE,
    SESSION_SECONDS,
)

__all__ = [
    "DEFAULT_LANGUAGES",
    "KioskSettings",
    "SettingsError",
    "load_settings",
    "settings_from_mapping",
    "settings_markdown",
]

# Settings errors are read by technicians before any language is chosen: French.
_ = gettext_for(DEFAULT_LANGUAGE)

LanguageCode = Annotated[str, StringConstraints(pattern=LANGUAGE_PATTERN)]


class SettingsError(ValueError):
    """The settings file cannot be used; ``str()`` is a French message naming file and key."""


def _seconds(name: str, description: str) -> Any:
    """A session duration's field: its default and bounds as declared in SESSION_SECONDS."""
    default, low, high = SESSION_SECONDS[name]
    return Field(default=default, ge=low, le=high, description=description)


class KioskSettings(BaseModel):
    """Everything a terminal's operator may set for the kiosk UI."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    idle_timeout_s: int = _seconds(
        "idle_timeout_s",
        "Seconds without a touch before the « Êtes-vous toujours là ? » countdown "
        "starts. The fleet may change it live (`set_settings`).",
    )
    countdown_s: int = _seconds(
        "countdown_s",
        "Seconds the idle countdown waits for « Je suis là » before ending and wiping the session.",
    )
    max_session_s: int = _seconds(
        "max_session_s",
        "The longest a resident session may last, whatever the resident does; "
        "then it ends and is wiped.",
    )
    max_session_warning_s: int = _seconds(
        "max_session_warning_s",
        "How long before `max_session_s` the resident is warned that the session "
        "will end. Must be shorter than `max_session_s`.",
    )
    agent_socket: Path | None = Field(
        default=AGENT_SOCKET,
        description="The agent's local socket (session events, heartbeats, wipe orders). "
        'An empty string (`agent_socket = ""`) runs the kiosk without an agent.',
    )
    heartbeat_interval_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Seconds between two heartbeats to the agent (the agent reports the UI as "
        "not alive after 10 s without one).",
    )
    languages: tuple[LanguageCode, ...] = Field(
        default=DEFAULT_LANGUAGES,
        min_length=1,
        description="Languages offered by the language button, in this order (ISO 639-1 codes).",
    )
    default_language: LanguageCode = Field(
        default=DEFAULT_LANGUAGE,
        description="The language of the attract and home screens, and of every new session. "
        "Must be one of `languages`.",
    )
    brightness_schedule: str = Field(
        default=DEFAULT_BRIGHTNESS_SCHEDULE,
        max_length=200,
        description="Backlight brightness by time of day: `HH:MM-HH:MM=percent` periods, "
        "comma-separated, not overlapping. The fleet may change it live.",
    )
    latitude: float | None = Field(
        default=None,
        ge=POSITION_RANGE["latitude"][0],
        le=POSITION_RANGE["latitude"][1],
        description="The terminal's own position (WGS84 degrees, e.g. 44.8378): the help-places "
        "guide lists the nearest places first. Set with `longitude`; unset, places are listed "
        "by name.",
    )
    longitude: float | None = Field(
        default=None,
        ge=POSITION_RANGE["longitude"][0],
        le=POSITION_RANGE["longitude"][1],
        description="The terminal's longitude (WGS84 degrees, e.g. -0.5792); see `latitude`.",
    )
    catalog_dir: Path = Field(
        default_factory=default_bundle_dir,
        description="The content bundle (`catalog.json` and its pictograms). Default: the "
        "bundle shipped with the kiosk. `kiosk --catalog` overrides it.",
    )

    @field_validator("agent_socket", mode="before")
    @classmethod
    def _empty_means_no_agent(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("languages")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(_("each language may appear only once"))
        return value

    @field_validator("brightness_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        try:
            parse_brightness_schedule(value)
        except InvalidSettings as exc:
            # The agent's checks speak English (they go to the fleet); the key is named anyway.
            raise ValueError(str(exc)) from exc
        return value.replace(" ", "")

    @model_validator(mode="after")
    def _consistent(self) -> KioskSettings:
        if self.default_language not in self.languages:
            raise _cross_field_error("default_language", _("must be one of « languages »"))
        if (self.latitude is None) != (self.longitude is None):
            raise _cross_field_error("longitude", _("« latitude » and « longitude » go together"))
        if self.max_session_warning_s >= self.max_session_s:
            raise _cross_field_error(
                "max_session_warning_s", _("must be shorter than « max_session_s »")
            )
        return self

    @property
    def position(self) -> tuple[float, float] | None:
        """(latitude, longitude) of the terminal, when both are set."""
        if self.latitude is None or self.longitude is None:
            return None
        return (self.latitude, self.longitude)

    def updated(self, changes: Mapping[str, object]) -> KioskSettings:
        """These settings with ``changes`` applied and checked (raise ``ValidationError``)."""
        return KioskSettings.model_validate({**self.model_dump(), **changes})


def _cross_field_error(key: str, reason: str) -> PydanticCustomError:
    """An error about two settings together, pinned on ``key`` (pydantic gives no location)."""
    return PydanticCustomError("kiosk_setting", "{reason}", {"key": key, "reason": reason})


def _where(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    context = error.get("ctx") or {}
    return location or str(context.get("key", "")) or _("(whole file)")


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _reason(error: Mapping[str, Any]) -> str:
    """Why a value was refused, in French when the kind of error is a usual one."""
    context = error.get("ctx") or {}
    kind = error["type"]
    if kind == "greater_than_equal":
        return _("must be at least {limit}").format(limit=_number(context["ge"]))
    if kind == "less_than_equal":
        return _("must be at most {limit}").format(limit=_number(context["le"]))
    if kind == "greater_than":
        return _("must be more than {limit}").format(limit=_number(context["gt"]))
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return _("must be a whole number")
    if kind in {"float_type", "float_parsing"}:
        return _("must be a number")
    if kind in {"string_type", "path_type"}:
        return _("must be a text")
    if kind == "string_pattern_mismatch":
        return _("must be a language code such as fr or ar")
    if kind in {"tuple_type", "list_type"}:
        return _("must be a list")
    if kind == "too_short":
        return _("must not be empty")
    if kind == "string_too_long":
        return _("is too long")
    if kind == "value_error":
        return str(context["error"])
    if kind == "kiosk_setting":
        return str(context["reason"])
    return str(error["msg"])


def settings_from_mapping(values: Mapping[str, object], source: Path) -> KioskSettings:
    """Check ``values`` (read from ``source``); raise :class:`SettingsError` on a bad value."""
    try:
        return KioskSettings.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _where(first)
        if first["type"] == "extra_forbidden":
            raise SettingsError(
                _("{file}: unknown setting « {key} » (see docs/kiosk-settings.md)").format(
                    file=source, key=key
                )
            ) from exc
        raise SettingsError(
            _("{file}: invalid value for « {key} »: {reason}").format(
                file=source, key=key, reason=_reason(first)
            )
        ) from exc


def load_settings(path: Path | None) -> KioskSettings:
    """The settings in ``path``, or in the default file when ``path`` is None.

    The default file may be missing (the defaults apply); a file named explicitly must exist.
    Raise :class:`SettingsError` with a French message naming the file (and the key).
    """
    explicit = path is not None
    source = path if path is not None else KIOSK_CONFIG
    try:
        with source.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError as exc:
        if not explicit:
            return KioskSettings()
        raise SettingsError(_("{file}: settings file not found").format(file=source)) from exc
    except OSError as exc:
        raise SettingsError(
            _("{file}: cannot read the settings file ({reason})").format(
                file=source, reason=exc.strerror or exc
            )
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(
            _("{file}: not a valid TOML file ({reason})").format(file=source, reason=exc)
        ) from exc
    return settings_from_mapping(values, source)


def _default_text(name: str) -> str:
    field = KioskSettings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if name == "catalog_dir":
        return "the shipped bundle (`kiosk/content/`)"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{item}"' for item in value) + "]`"
    if isinstance(value, str):
        return f'`"{value}"`'
    if isinstance(value, Path):
        return f'`"{value}"`'
    return f"`{value}`"


def _type_text(name: str) -> str:
    schema = KioskSettings.model_json_schema()["properties"][name]
    kinds = {
        "integer": "integer",
        "number": "number",
        "string": "text",
        "array": "list of texts",
    }
    if "anyOf" in schema:
        names = [kinds.get(option.get("type", ""), "") for option in schema["anyOf"]]
        text = " or ".join(n for n in names if n)
        return text + (" (path, or empty)" if name == "agent_socket" else "")
    kind = str(schema.get("type", ""))
    text = kinds.get(kind, kind)
    if name.endswith(("_dir", "_socket")):
        text += " (path)"
    high = schema.get("maximum")
    if high is None:
        return text
    if "minimum" in schema:
        return f"{text}, {schema['minimum']} to {high}"
    if "exclusiveMinimum" in schema:
        return f"{text}, more than {schema['exclusiveMinimum']}, at most {high}"
    return text


def settings_markdown() -> str:
    """``docs/kiosk-settings.md``, generated from :class:`KioskSettings`."""
    lines = [
        "# Kiosk settings",
        "",
        "<!-- Generated by `python -m kiosk.ui.settings > docs/kiosk-settings.md` from",
        "     kiosk/ui/settings.py; do not edit by hand (tests/ui/test_settings.py checks it). -->",
        "",
        f"The kiosk reads `{KIOSK_CONFIG}` (TOML) at start-up, or the file given with",
        "`kiosk --config FILE`. A missing default file means every default below; a file named",
        "with `--config` must exist. An unknown key or a bad value stops the kiosk with exit",
        "code 2 and a French message naming the file and the key.",
        "",
        "`idle_timeout_s` and `brightness_schedule` may also be changed live by the fleet",
        "(`set_settings` command → agent → `settings` message on the local socket).",
        "",
        "| setting | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, field in KioskSettings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_text(name)} | {_default_text(name)} | {description} |")
    lines += [
        "",
        "Example:",
        "",
        "```toml",
        "idle_timeout_s = 90",
        'languages = ["fr", "en", "ar"]',
        'brightness_schedule = "07:30-21:00=100,21:00-07:30=25"',
        "```",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(settings_markdown())
