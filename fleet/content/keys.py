"""The signing keys of the content repository: Ed25519, each in its own PEM file.

Three keys, three places to keep them:

- ``root.pem`` signs the list of trusted keys; it should live offline (USB stick, safe) and is
  always protected by a passphrase;
- ``targets.pem`` signs what a version contains; it may live offline too, behind a passphrase
  given by configuration (``FLEET_CONTENT_TARGETS_PASSPHRASE``) or typed at publish time;
- ``online.pem`` signs ``snapshot`` and ``timestamp``, which expire within days and must be
  re-signed by the server itself, unattended: it has no passphrase, only 0600 permissions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from kiosk.contract.tuf import CryptoSigner

ROOT_KEY: Final = "root.pem"
TARGETS_KEY: Final = "targets.pem"
ONLINE_KEY: Final = "online.pem"


class KeyFileError(Exception):
    """A key file that cannot be read: missing, wrong passphrase, not an Ed25519 key."""


def new_signer() -> CryptoSigner:
    """A fresh Ed25519 key pair."""
    return CryptoSigner(Ed25519PrivateKey.generate())


def save_signer(signer: CryptoSigner, path: Path, passphrase: str | None) -> None:
    """Write the private key of ``signer`` to ``path`` (0600), encrypted when given a passphrase."""
    key = load_pem_private_key(signer.private_bytes, password=None)
    encryption = (
        BestAvailableEncryption(passphrase.encode("utf-8")) if passphrase else NoEncryption()
    )
    data = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def load_signer(path: Path, passphrase: str | None) -> CryptoSigner:
    """The signer whose private key is in ``path``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read the key file {path}: {error.strerror}") from error
    try:
        key = load_pem_private_key(
            data, password=passphrase.encode("utf-8") if passphrase else None
        )
    except (ValueError, TypeError) as error:
        raise KeyFileError(
            f"cannot open the key file {path}: wrong passphrase or not a key"
        ) from error
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"the key file {path} does not hold an Ed25519 key")
    return CryptoSigner(key)
