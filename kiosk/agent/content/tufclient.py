"""The TUF half of a content update: the fetcher, the client, and what its errors mean.

Imported by :mod:`kiosk.agent.content.updater` only when an update actually runs, never at the
agent's start-up: tuf pulls in securesystemslib, cryptography's Rust bindings and urllib3, about
12 MB of resident memory that the agent (running for months, updating content rarely) would
otherwise carry all the time for nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kiosk.contract.tuf import (
    BadVersionNumberError,
    DownloadError,
    ExpiredMetadataError,
    FetcherInterface,
    LengthOrHashMismatchError,
    RepositoryError,
    UnsignedMetadataError,
    Updater,
    UpdaterConfig,
    Urllib3Fetcher,
)

__all__ = [
    "CountingFetcher",
    "DownloadError",
    "RepositoryError",
    "Updater",
    "new_tuf_updater",
    "tuf_reason",
]


class CountingFetcher(FetcherInterface):
    """The default urllib3 fetcher, counting the bytes it receives (for the figures)."""

    def __init__(self, inner: FetcherInterface | None = None) -> None:
        self._inner = inner or Urllib3Fetcher(socket_timeout=30)
        self.bytes_received = 0

    def _fetch(self, url: str) -> Iterator[bytes]:
        for chunk in self._inner.fetch(url):
            self.bytes_received += len(chunk)
            yield chunk


def new_tuf_updater(
    metadata_dir: Path,
    metadata_url: str,
    targets_url: str,
    fetcher: FetcherInterface,
    bootstrap: bytes | None,
) -> Updater:
    """A TUF client on the local trusted metadata (``bootstrap``: the shipped root, first time)."""
    return Updater(
        metadata_dir=str(metadata_dir),
        metadata_base_url=metadata_url,
        target_base_url=targets_url,
        fetcher=fetcher,
        # Targets are content-addressed or named by version, hence immutable already.
        config=UpdaterConfig(prefix_targets_with_hash=False),
        bootstrap=bootstrap,
    )


def tuf_reason(error: Exception) -> str:
    """What a TUF or download error means, for the fleet."""
    if isinstance(error, ExpiredMetadataError):
        return f"expired metadata (refusing a frozen repository): {error}"
    if isinstance(error, BadVersionNumberError):
        return (
            "metadata older than trusted or not matching"
            f" (rollback or mix-and-match refused): {error}"
        )
    if isinstance(error, LengthOrHashMismatchError):
        return f"tampered download (length or hash differs from the signed one): {error}"
    if isinstance(error, UnsignedMetadataError):
        return f"signature not trusted (wrong key or tampered metadata): {error}"
    if isinstance(error, RepositoryError):
        return f"repository metadata refused: {type(error).__name__}: {error}"
    return f"download failed: {error}"
