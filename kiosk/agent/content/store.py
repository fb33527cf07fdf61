"""Content versions on the terminal's disk, and the atomic switch between them.

Layout of ``content_dir``::

    current  -> versions/<version>    the bundle the UI shows (a relative symlink)
    previous -> versions/<version>    the one before, kept for rollback
    versions/<version>/               complete, validated bundles, never modified once renamed here
    versions/.staging-<version>/      a bundle being written (deleted when found at start-up)
    versions/.removing-<version>/     a bundle being deleted (deleted when found at start-up)
    objects/<sha256>                  verified downloaded files, so unchanged files are reused
    manifests/<version>.json          the verified manifest of each staged version
    tuf/                              the TUF client's trusted metadata

A directory appears under ``versions/`` only by renaming a fully written and synced staging
directory, and ``current`` changes only by renaming a new symlink over it, so a power cut or a
``kill -9`` at any moment leaves ``current`` on a complete version.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Final

from kiosk.contract.manifest import Manifest, is_valid_version

CURRENT: Final = "current"
PREVIOUS: Final = "previous"
STAGING_PREFIX: Final = ".staging-"
#: A version being deleted is first renamed to this prefix, so that it never looks complete.
REMOVING_PREFIX: Final = ".removing-"


class StoreError(Exception):
    """The content directory refuses an operation; the message says why."""


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class VersionStore:
    """The versions kept in ``content_dir`` and the ``current`` / ``previous`` links."""

    def __init__(self, content_dir: Path) -> None:
        self.content_dir = content_dir
        self.versions_dir = content_dir / "versions"
        self.objects_dir = content_dir / "objects"
        self.manifests_dir = content_dir / "manifests"
        self.metadata_dir = content_dir / "tuf"
        for folder in (self.versions_dir, self.objects_dir, self.manifests_dir, self.metadata_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def clean_leftovers(self) -> None:
        """Remove what an interrupted update left: staging folders, partial files, temp links."""
        for prefix in (STAGING_PREFIX, REMOVING_PREFIX):
            for entry in self.versions_dir.glob(f"{prefix}*"):
                shutil.rmtree(entry, ignore_errors=True)
        for folder in (self.objects_dir, self.manifests_dir, self.content_dir):
            for entry in folder.glob(".*.tmp"):
                entry.unlink(missing_ok=True)

    # -- links ---------------------------------------------------------------------------------

    def _linked_version(self, name: str) -> str | None:
        try:
            target = os.readlink(self.content_dir / name)
        except (FileNotFoundError, OSError):
            return None
        version = Path(target).name
        if not is_valid_version(version) or not self.version_dir(version).is_dir():
            return None
        return version

    def current_version(self) -> str | None:
        return self._linked_version(CURRENT)

    def previous_version(self) -> str | None:
        return self._linked_version(PREVIOUS)

    def current_dir(self) -> Path | None:
        """The folder of the version shown now, or None when nothing was installed yet."""
        version = self.current_version()
        return self.version_dir(version) if version else None

    def _point(self, name: str, version: str | None) -> None:
        link = self.content_dir / name
        if version is None:
            link.unlink(missing_ok=True)
        else:
            temporary = self.content_dir / f".{name}.tmp"
            temporary.unlink(missing_ok=True)
            os.symlink(Path("versions") / version, temporary)
            os.replace(temporary, link)
        _fsync_dir(self.content_dir)

    def switch_to(self, version: str) -> str | None:
        """Make ``version`` current and the old current previous; return the old current."""
        if not self.version_dir(version).is_dir():
            raise StoreError(f"version {version} is not staged")
        old = self.current_version()
        if old != version:
            if old is not None:
                self._point(PREVIOUS, old)
            self._point(CURRENT, version)
        return old

    def switch_back(self, bad: str, good: str | None) -> None:
        """Show ``good`` again after ``bad`` failed its health check (None: the built-in bundle)."""
        self._point(CURRENT, good)
        if self.previous_version() == good:
            self._point(PREVIOUS, None)
        del bad

    # -- versions ------------------------------------------------------------------------------

    def version_dir(self, version: str) -> Path:
        if not is_valid_version(version):
            raise StoreError(f"{version!r} is not a valid content version")
        return self.versions_dir / version

    def object_path(self, sha256: str) -> Path:
        return self.objects_dir / sha256

    def stage(self, manifest: Manifest, max_total_bytes: int) -> Path:
        """Copy the verified objects of ``manifest`` into ``versions/<version>`` atomically."""
        final = self.version_dir(manifest.version)
        if final.is_dir():
            return final
        staging = self.versions_dir / f"{STAGING_PREFIX}{manifest.version}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        written = 0
        for item in manifest.files:
            destination = staging / item.path
            # The manifest model already refuses '..' and absolute paths; check again here,
            # where it matters, against the resolved staging folder.
            if not destination.resolve().is_relative_to(staging.resolve()):
                raise StoreError(f"{item.path} would be written outside the bundle")
            destination.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            descriptor = os.open(destination, flags, 0o644)
            with (
                self.object_path(item.sha256).open("rb") as source,
                os.fdopen(descriptor, "wb") as target,
            ):
                written += _copy_limited(source.read, target.write, item.length)
                target.flush()
                os.fsync(target.fileno())
            if written > max_total_bytes:
                raise StoreError(f"the bundle is larger than {max_total_bytes} bytes")
        for folder in sorted({p.parent for p in staging.rglob("*")}, reverse=True):
            _fsync_dir(folder)
        os.rename(staging, final)
        _fsync_dir(self.versions_dir)
        return final

    def save_manifest(self, manifest: Manifest) -> None:
        path = self.manifests_dir / f"{manifest.version}.json"
        temporary = self.manifests_dir / f".{manifest.version}.json.tmp"
        temporary.write_bytes(manifest.to_bytes())
        os.replace(temporary, path)

    def prune(self) -> list[str]:
        """Delete versions other than current and previous, and objects none of them uses."""
        keep = {v for v in (self.current_version(), self.previous_version()) if v}
        removed = []
        for entry in list(self.versions_dir.iterdir()):
            if entry.name not in keep and not entry.name.startswith("."):
                # Renamed first: a kill -9 inside rmtree must not leave a half-deleted folder
                # under its version's name, which stage() would then take as complete.
                doomed = self.versions_dir / f"{REMOVING_PREFIX}{entry.name}"
                shutil.rmtree(doomed, ignore_errors=True)
                os.rename(entry, doomed)
                _fsync_dir(self.versions_dir)
                shutil.rmtree(doomed)
                (self.manifests_dir / f"{entry.name}.json").unlink(missing_ok=True)
                removed.append(entry.name)
        used: set[str] = set()
        for version in keep:
            path = self.manifests_dir / f"{version}.json"
            if path.is_file():
                used |= {f.sha256 for f in Manifest.model_validate_json(path.read_bytes()).files}
        for entry in self.objects_dir.iterdir():
            if entry.name not in used and not entry.name.startswith("."):
                entry.unlink()
        return sorted(removed)


def _copy_limited(
    read: Callable[[int], bytes], write: Callable[[bytes], object], limit: int
) -> int:
    """Copy at most ``limit`` bytes; a longer source means the object cache was tampered with."""
    copied = 0
    while chunk := read(1 << 16):
        copied += len(chunk)
        if copied > limit:
            raise StoreError("a cached file is longer than its manifest says")
        write(chunk)
    if copied != limit:
        raise StoreError("a cached file is shorter than its manifest says")
    return copied
