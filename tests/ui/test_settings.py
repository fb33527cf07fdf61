"""The kiosk's settings: declared once, loaded from TOML, documented from the declaration."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from kiosk.contract.catalog import default_bundle_dir
from kiosk.contract.settings import (
    SETTING_BOUNDS,
    UI_SETTINGS,
    InvalidSettings,
    validate_settings,
)
from kiosk.ui.settings import (
    DEFAULT_LANGUAGES,
    KioskSettings,
    SettingsError,
    load_settings,
    settings_markdown,
)
from kiosk.ui.startsettings import SESSION_SECONDS, read_start_settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "kiosk-settings.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_issue() -> None:
    settings = KioskSettings()
    assert settings.idle_timeout_s == 120
    assert settings.countdown_s == 30
    assert settings.languages == DEFAULT_LANGUAGES == ("fr", "en", "es", "pt", "ar", "uk")
    assert settings.default_language == "fr"
    assert settings.agent_socket == Path("/run/kiosk/agent.sock")
    assert settings.catalog_dir == default_bundle_dir()


def test_every_setting_has_a_description() -> None:
    for name, field in KioskSettings.model_fields.items():
        assert field.description, f"{name} has no description"


def test_settings_doc_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == settings_markdown(), (
        "docs/kiosk-settings.md is stale: run "
        "`python -m kiosk.ui.settings > docs/kiosk-settings.md`"
    )


def test_doc_names_every_setting() -> None:
    text = settings_markdown()
    for name in KioskSettings.model_fields:
        assert f"| `{name}` |" in text


@pytest.mark.parametrize("name", [n for n in UI_SETTINGS if n in SETTING_BOUNDS])
def test_the_fleets_live_settings_have_the_contracts_bounds(name: str) -> None:
    """A value the agent passes on from the fleet is one the kiosk's model accepts, and the
    other way round: the model's bounds are the contract's, not a copy."""
    low, high = SETTING_BOUNDS[name]
    for value in (low, high):
        assert validate_settings({name: value}) == {name: value}
        assert getattr(KioskSettings().updated({name: value}), name) == value
    for value in (low - 1, high + 1):
        with pytest.raises(InvalidSettings):
            validate_settings({name: value})
        with pytest.raises(ValidationError):
            KioskSettings().updated({name: value})


def test_every_live_setting_is_a_kiosk_setting() -> None:
    assert set(UI_SETTINGS) <= KioskSettings.model_fields.keys()
    KioskSettings().updated(validate_settings({"brightness_schedule": "00:00-12:00=40"}))


def test_a_file_overrides_some_settings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'idle_timeout_s = 90\nlanguages = ["fr", "ar"]\nagent_socket = ""\n'
        f'catalog_dir = "{tmp_path}"\n',
    )
    settings = load_settings(path)
    assert settings.idle_timeout_s == 90
    assert settings.languages == ("fr", "ar")
    assert settings.agent_socket is None
    assert settings.catalog_dir == tmp_path
    assert settings.countdown_s == 30


def test_missing_default_file_means_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("kiosk.ui.settings.KIOSK_CONFIG", tmp_path / "absent.toml")
    assert load_settings(None) == KioskSettings()


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"absent\.toml") as raised:
        load_settings(tmp_path / "absent.toml")
    assert "introuvable" in str(raised.value)


@pytest.mark.parametrize(
    ("text", "key", "french"),
    [
        ("idle_timeout_s = 5", "idle_timeout_s", "au moins 30"),
        ("idle_timeout_s = 4000", "idle_timeout_s", "au plus 1800"),
        ('idle_timeout_s = "long"', "idle_timeout_s", "nombre entier"),
        ("colour = 3", "colour", "inconnu"),
        ('default_language = "de"', "default_language", "languages"),
        ('languages = ["fr", "fr"]', "languages", "une seule fois"),
        ("languages = []", "languages", "vide"),
        ('brightness_schedule = "toujours"', "brightness_schedule", "brightness_schedule"),
        ("max_session_warning_s = 900\nmax_session_s = 600", "max_session_warning_s", ""),
        ("heartbeat_interval_s = 0", "heartbeat_interval_s", "plus de 0"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key_in_french(
    tmp_path: Path, text: str, key: str, french: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    message = str(raised.value)
    assert str(path) in message
    assert f"« {key} »" in message
    assert french in message


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "idle_timeout_s = = 3")
    with pytest.raises(SettingsError, match="TOML"):
        load_settings(path)


def test_settings_are_frozen_and_updates_are_checked() -> None:
    settings = KioskSettings()
    with pytest.raises(ValueError, match="frozen"):
        settings.idle_timeout_s = 60  # type: ignore[misc]
    assert settings.updated({"idle_timeout_s": 60}).idle_timeout_s == 60
    with pytest.raises(ValueError, match="idle_timeout_s"):
        settings.updated({"idle_timeout_s": 1})


# ----- the first frame's plain read: never accepts what the model refuses, same values -------


@pytest.mark.parametrize(
    "text",
    [
        "",
        'agent_socket = ""',
        'agent_socket = "/run/other.sock"\nidle_timeout_s = 90\ncountdown_s = 5',
        "idle_timeout_s = 30\nmax_session_s = 120\nmax_session_warning_s = 10",
        "latitude = 44.8378\nlongitude = -0.5792",
        "latitude = 44\nlongitude = -1",
        'default_language = "ar"\ncatalog_dir = "/srv/content/current"',
        # Each of these, the plain read leaves to the model (which accepts or refuses it).
        "idle_timeout_s = 5",
        "idle_timeout_s = 90.0",
        "idle_timeout_s = true",
        'idle_timeout_s = "90"',
        "max_session_warning_s = 900\nmax_session_s = 600",
        'default_language = "de"',
        'languages = ["fr", "ar"]\ndefault_language = "ar"',
        'brightness_schedule = "07:00-22:00=100,22:00-07:00=30"',
        "latitude = 44.8",
        "latitude = 100.0\nlongitude = 0.0",
        "latitude = nan\nlongitude = 0.0",
        'catalog_dir = ""',
        "agent_socket = 3",
        "colour = 3",
    ],
)
def test_the_first_frames_plain_read_agrees_with_the_model(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    start = read_start_settings(path)
    if start is None:
        return  # the model decides (the tests above check how)
    settings = load_settings(path)
    assert start.values == tomllib.loads(text)
    assert start.source == path
    for name in SESSION_SECONDS:
        assert getattr(start, name) == getattr(settings, name), name
    assert start.default_language == settings.default_language
    assert start.catalog_dir == settings.catalog_dir
    assert start.position == settings.position


def test_the_usual_files_need_no_model(tmp_path: Path) -> None:
    assert (
        read_start_settings(write(tmp_path, 'agent_socket = ""\nidle_timeout_s = 90')) is not None
    )
    assert read_start_settings(tmp_path / "absent.toml") is None  # the model words the error
