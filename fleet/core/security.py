"""Passwords, the session signing key and CSRF tokens."""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fleet.core.config import FleetSettings

logger = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH: Final = 12
SECRET_KEY_FILENAME: Final = "secret_key"
CSRF_SESSION_KEY: Final = "csrf_token"

_hasher: Final = PasswordHasher()
# Verified against when the user does not exist, so that a wrong user name takes as long as
# a wrong password and does not reveal which accounts exist.
_DUMMY_HASH: Final = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such user) is checked too, and fails."""
    try:
        _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return password_hash is not None


def session_secret_key(settings: FleetSettings) -> str:
    """The key that signs session cookies: from the settings, or generated once into a file."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    key_file = key_file_path(settings)
    if key_file.is_file():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: if two processes race, one wins and the other reads the winner's key.
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    logger.info("Generated a new session key in %s; sessions survive restarts.", key_file)
    return key


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_token_matches(expected: object, submitted: str | None) -> bool:
    """Constant-time comparison of the session's token with the submitted one."""
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return secrets.compare_digest(expected, submitted)


def key_file_path(settings: FleetSettings) -> Path:
    return settings.secret_key_file or settings.state_dir() / SECRET_KEY_FILENAME


#: API tokens start with this, so that a leaked one is recognisable (secret scanners, logs).
API_TOKEN_PREFIX: Final = "fleet_"


def new_api_token() -> str:
    """A new API token: the prefix and 32 random bytes, URL-safe."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_hash(token: str) -> str:
    """What is stored of a token: SHA-256 is enough for 256 random bits (no guessing to slow)."""
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_matches(stored_hash: str, token: str) -> bool:
    """Constant-time comparison of a stored hash with the hash of a presented token."""
    return secrets.compare_digest(stored_hash, api_token_hash(token))
