"""Settings from the environment and a TOML file; the generated session key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from fleet.core.config import load_settings
from fleet.core.security import session_secret_key


def test_toml_file_is_read_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text('broker_port = 8883\nhttp_port = 9000\ndefault_language = "en"\n')
    monkeypatch.setenv("FLEET_HTTP_PORT", "9100")

    settings = load_settings(config)

    assert (settings.broker_port, settings.http_port, settings.default_language) == (
        8883,
        9100,
        "en",
    )


def test_unknown_key_in_the_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text("brokr_port = 1\n")

    with pytest.raises(ValidationError):
        load_settings(config)


def test_password_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    monkeypatch.setenv("FLEET_BROKER_PASSWORD_FILE", str(tmp_path / "pw"))

    assert load_settings().resolved_broker_password() == "s3cret"


def test_session_key_is_generated_once_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_DATABASE_URL", f"sqlite:///{tmp_path / 'state' / 'fleet.db'}")
    settings = load_settings()

    first = session_secret_key(settings)
    key_file = tmp_path / "state" / "secret_key"

    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert session_secret_key(settings) == first
    assert len(first) >= 32
