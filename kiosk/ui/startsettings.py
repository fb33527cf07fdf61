"""What the home screen's first frame needs of the kiosk's settings, read without pydantic.

The settings are declared in :class:`kiosk.ui.settings.KioskSettings` (pydantic), which decides
what a file means and words every refusal. Importing pydantic and building that model costs the
kiosk's start some 80 ms, so the start reads the usual file here first: a plain check of the
values the first frame uses (the session's durations, the language, the content folder, the
position), which gives up (``None``) at anything it is not sure the model accepts as it is: a
key it does not know, a value of another type, out of its bounds. Then the model decides before
the first frame, as before. Either way the model checks the same values once the home is shown
(:func:`kiosk.ui.main.main`), and the kiosk stops there if it refuses them.

The defaults and bounds below are the model's (it reads them from here).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.paths import KIOSK_CONFIG
from kiosk.contract.settings import IDLE_TIMEOUT_S, SETTING_BOUNDS
from kiosk.i18n import DEFAULT_LANGUAGE

#: The languages offered on the terminal unless the settings say otherwise.
DEFAULT_LANGUAGES: Final = ("fr", "en", "es", "pt", "ar", "uk")
LANGUAGE_PATTERN: Final = r"^[a-z]{2,3}$"
#: The session's durations in whole seconds: (default, lowest, highest). The fleet may change
#: ``idle_timeout_s`` live: its bounds are the contract's.
SESSION_SECONDS: Final = {
    IDLE_TIMEOUT_S: (120, *SETTING_BOUNDS[IDLE_TIMEOUT_S]),
    "countdown_s": (30, 5, 300),
    "max_session_s": (1800, 120, 4 * 3600),
    "max_session_warning_s": (60, 10, 900),
}
#: The terminal's position in WGS84 degrees: (lowest, highest).
POSITION_RANGE: Final = {"latitude": (-90.0, 90.0), "longitude": (-180.0, 180.0)}

#: The keys the plain check knows; any other key goes to the model (it may be valid).
_PLAIN_KEYS: Final = frozenset(
    {*SESSION_SECONDS, *POSITION_RANGE, "default_language", "catalog_dir", "agent_socket"}
)


@dataclass(frozen=True, slots=True)
class StartSettings:
    """The settings the first frame needs, and the values they come from (checked by the model
    once the home is shown)."""

    #: The file's values (empty: the default file is absent, the defaults apply).
    values: Mapping[str, object]
    #: The file they were read from (None: the defaults).
    source: Path | None
    idle_timeout_s: int
    countdown_s: int
    max_session_s: int
    max_session_warning_s: int
    default_language: str
    catalog_dir: Path
    position: tuple[float, float] | None


def _path(value: object) -> bool:
    return type(value) is str and value != "" and "\x00" not in value


def _number(value: object, low: float, high: float) -> bool:
    if type(value) not in (int, float):
        return False  # a bool, a text...: the model decides
    assert isinstance(value, int | float)
    return math.isfinite(value) and low <= value <= high


def plain_start_settings(values: Mapping[str, object], source: Path | None) -> StartSettings | None:
    """The first frame's settings from ``values`` when the plain check vouches for them."""
    if not values.keys() <= _PLAIN_KEYS:
        return None
    seconds: dict[str, int] = {}
    for name, (default, low, high) in SESSION_SECONDS.items():
        value = values.get(name, default)
        if type(value) is not int or not low <= value <= high:
            return None
        seconds[name] = value
    if seconds["max_session_warning_s"] >= seconds["max_session_s"]:
        return None
    language = values.get("default_language", DEFAULT_LANGUAGE)
    # The languages offered are the defaults here (a "languages" key goes to the model).
    if not isinstance(language, str) or language not in DEFAULT_LANGUAGES:
        return None
    catalog_dir = values.get("catalog_dir")
    if catalog_dir is not None and not _path(catalog_dir):
        return None
    socket = values.get("agent_socket")
    if socket is not None and socket != "" and not _path(socket):
        return None
    latitude, longitude = values.get("latitude"), values.get("longitude")
    position: tuple[float, float] | None = None
    if latitude is not None or longitude is not None:
        if not (
            _number(latitude, *POSITION_RANGE["latitude"])
            and _number(longitude, *POSITION_RANGE["longitude"])
        ):
            return None
        assert isinstance(latitude, int | float)
        assert isinstance(longitude, int | float)
        position = (float(latitude), float(longitude))
    return StartSettings(
        values=values,
        source=source,
        default_language=language,
        catalog_dir=Path(catalog_dir) if isinstance(catalog_dir, str) else default_bundle_dir(),
        position=position,
        **seconds,
    )


def read_start_settings(path: Path | None) -> StartSettings | None:
    """The first frame's settings from ``path`` (or the default file), or None when the model
    must decide (a file that cannot be read, a value the plain check is not sure of)."""
    source = path if path is not None else KIOSK_CONFIG
    try:
        with source.open("rb") as handle:
            values = tomllib.load(handle)
    except FileNotFoundError:
        return plain_start_settings({}, None) if path is None else None
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return plain_start_settings(values, source)
