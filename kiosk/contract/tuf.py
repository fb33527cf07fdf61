"""The one place that imports ``tuf`` and ``securesystemslib`` names.

Both packages re-export their public classes implicitly; pyproject.toml lets mypy accept that
for them (``implicit_reexport``), and keeping every import here keeps that exception contained.
"""

from __future__ import annotations

from securesystemslib.signer import (
    CryptoSigner,
    Signer,
)
from tuf.api.exceptions import (
    BadVersionNumberError,
    DownloadError,
    ExpiredMetadataError,
    LengthOrHashMismatchError,
    RepositoryError,
    UnsignedMetadataError,
)
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.ngclient import Updater, UpdaterConfig
from tuf.ngclient.fetcher import FetcherInterface
from tuf.ngclient.urllib3_fetcher import Urllib3Fetcher

__all__ = [
    "BadVersionNumberError",
    "CryptoSigner",
    "DownloadError",
    "ExpiredMetadataError",
    "FetcherInterface",
    "LengthOrHashMismatchError",
    "MetaFile",
    "Metadata",
    "RepositoryError",
    "Root",
    "Signer",
    "Snapshot",
    "TargetFile",
    "Targets",
    "Timestamp",
    "UnsignedMetadataError",
    "Updater",
    "UpdaterConfig",
    "Urllib3Fetcher",
]
