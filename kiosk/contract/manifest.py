"""The list of files of one content version, shared by the fleet (publish) and the terminal.

A published version is a TUF target ``manifests/<version>.json`` naming every file of the bundle
by relative path, SHA-256 and length; each file is its own TUF target ``files/<sha256>``. A file
unchanged between two versions has the same target, so a terminal never downloads it twice.

The rules on paths and sizes live here so that the fleet refuses what the terminal would refuse.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Annotated, BinaryIO, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MANIFEST_FORMAT: Final = 1
#: A content version names a directory on the terminal: one safe path component.
VERSION_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
#: One component of a file path in a bundle: no leading dot (so no ``..``, no hidden files).
COMPONENT_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
MAX_DEPTH: Final = 4
MAX_FILES: Final = 2000
#: Default size limits, for one file and for a whole bundle.
MAX_FILE_BYTES: Final = 20 * 1024 * 1024
MAX_TOTAL_BYTES: Final = 100 * 1024 * 1024
SHA256_PATTERN: Final = r"^[0-9a-f]{64}$"

_COMPONENT_RE = re.compile(COMPONENT_PATTERN)
_VERSION_RE = re.compile(VERSION_PATTERN)

ContentVersion = Annotated[str, StringConstraints(pattern=VERSION_PATTERN)]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]


def manifest_target(version: str) -> str:
    """The TUF target path of the manifest of ``version``."""
    return f"manifests/{version}.json"


def file_target(sha256: str) -> str:
    """The TUF target path of a file, by content."""
    return f"files/{sha256}"


def is_valid_version(version: str) -> bool:
    return bool(_VERSION_RE.match(version)) and ".." not in version


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a bundle file path, or None when it is acceptable."""
    if not path or path.startswith("/") or "\\" in path:
        return "an absolute path or a backslash"
    parts = path.split("/")
    if len(parts) > MAX_DEPTH:
        return f"more than {MAX_DEPTH} levels of folders"
    for part in parts:
        if part in ("", ".", ".."):
            return "an empty, '.' or '..' component"
        if not _COMPONENT_RE.match(part):
            return f"the name {part!r} (letters, digits, '.', '_', '-' only; no leading dot)"
    return None


class ManifestFile(BaseModel):
    """One file of a content version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str
    sha256: Sha256
    length: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _safe_path(cls, path: str) -> str:
        problem = path_problem(path)
        if problem:
            raise ValueError(f"unsafe path {path!r}: {problem}")
        return path


class Manifest(BaseModel):
    """Every file of one content version, sorted by path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = MANIFEST_FORMAT
    version: ContentVersion
    files: list[ManifestFile] = Field(min_length=1, max_length=MAX_FILES)

    @field_validator("files")
    @classmethod
    def _distinct_paths(cls, files: list[ManifestFile]) -> list[ManifestFile]:
        paths = [f.path for f in files]
        if len(set(paths)) != len(paths):
            raise ValueError("a path appears more than once")
        # A path that is also a folder of another path cannot be written.
        folders = {str(p) for f in files for p in PurePosixPath(f.path).parents}
        clash = sorted(folders & set(paths))
        if clash:
            raise ValueError(f"{clash[0]!r} is both a file and a folder")
        return files

    @property
    def total_length(self) -> int:
        return sum(f.length for f in self.files)

    def size_problem(self, max_file_bytes: int, max_total_bytes: int) -> str | None:
        """Why this version is too big for the given limits, or None."""
        for item in self.files:
            if item.length > max_file_bytes:
                return f"{item.path} is {item.length} bytes, above the {max_file_bytes} limit"
        if self.total_length > max_total_bytes:
            return f"the bundle is {self.total_length} bytes, above the {max_total_bytes} limit"
        return None

    def to_bytes(self) -> bytes:
        """Canonical JSON: the same bundle always gives the same manifest bytes."""
        return (self.model_dump_json(indent=None) + "\n").encode("utf-8")


class UnsafeFile(ValueError):
    """An entry of a bundle that is not a regular file with a single name."""


def file_problem(status: os.stat_result) -> str | None:
    """Why an entry (its ``lstat``) cannot be a bundle file, or None for a regular file with
    one name. A symbolic link, or a hard link (a second name of, say, ``/etc/passwd``), would
    publish a file from outside the bundle; a device, pipe or socket has no content to sign."""
    if stat.S_ISLNK(status.st_mode):
        return "a symbolic link"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file (a device, pipe or socket)"
    if status.st_nlink > 1:
        return f"a hard link ({status.st_nlink} names for one file)"
    return None


def open_bundle_file(path: Path) -> BinaryIO:
    """Open a bundle file for reading, refusing what :func:`file_problem` refuses, checked on
    the open file itself (so that nothing swapped in after a check is read)."""
    # O_NOFOLLOW: a symbolic link fails to open; O_NONBLOCK: a pipe does not wait for a writer.
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        problem = file_problem(os.fstat(descriptor))
        if problem is not None:
            raise UnsafeFile(f"{path} is {problem}")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def sha256_of(path: Path) -> str:
    """The SHA-256 of a bundle file; raises :class:`UnsafeFile` (or ``OSError`` for a link)."""
    digest = hashlib.sha256()
    with open_bundle_file(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(bundle_dir: Path) -> Iterator[Path]:
    """Every entry under ``bundle_dir`` (files, folders, links), sorted, without following links."""
    yield from sorted(bundle_dir.rglob("*"))


def build_manifest(bundle_dir: Path, version: str) -> Manifest:
    """The manifest of a bundle already checked to hold only regular files with safe names;
    anything else found now (swapped in since the check) raises :class:`UnsafeFile`."""
    files = [
        ManifestFile(
            path=entry.relative_to(bundle_dir).as_posix(),
            sha256=sha256_of(entry),
            length=entry.lstat().st_size,
        )
        for entry in bundle_files(bundle_dir)
        if not entry.is_dir() or entry.is_symlink()
    ]
    files.sort(key=lambda f: f.path)
    return Manifest(version=version, files=files)
