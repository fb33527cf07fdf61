"""Settings of the fleet service: environment variables ``FLEET_*`` and an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from pydantic import SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

#: Where state lives when the database is not a local SQLite file.
DEFAULT_STATE_DIR: Final = Path("/var/lib/fleet")
DEFAULT_DATABASE_URL: Final = f"sqlite:///{DEFAULT_STATE_DIR}/fleet.db"


class FleetSettings(BaseSettings):
    """Everything the fleet needs to know to run; see ``docs`` for each key."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    broker_username: str = "fleet"
    broker_password: SecretStr | None = None
    broker_password_file: Path | None = None
    broker_ca_file: Path | None = None
    broker_keepalive_s: int = 30
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    cookie_secure: bool = False
    default_language: str = "fr"
    display_timezone: str = "Europe/Paris"

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

    def resolved_broker_password(self) -> str | None:
        """The broker password, from the setting or from its file (first line)."""
        if self.broker_password is not None:
            return self.broker_password.get_secret_value()
        if self.broker_password_file is not None:
            return self.broker_password_file.read_text().strip()
        return None


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
