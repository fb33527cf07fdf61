"""The terminal's configuration directory (``/etc/kiosk``), written all at once or not at all."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kiosk.contract import paths

#: Mode 0600, owned by the agent's user; the other files are 0644.
SECRET_FILES: Final = frozenset(
    {paths.AGENT_CONFIG_NAME, paths.MQTT_PASSWORD_NAME, paths.ENROLMENT_NAME}
)
#: The agent's user: it must read its secrets, the UI must not (docs/systemd.md).
AGENT_USER: Final = "kiosk-agent"
#: Files removed by decommissioning: everything that identifies or authenticates the terminal.
CREDENTIAL_FILES: Final = (
    paths.AGENT_CONFIG_NAME,
    paths.MQTT_PASSWORD_NAME,
    paths.ENROLMENT_NAME,
)


@dataclass(frozen=True)
class FileToWrite:
    name: str
    text: str

    @property
    def mode(self) -> int:
        return 0o600 if self.name in SECRET_FILES else 0o644


def toml_text(values: Mapping[str, Any]) -> str:
    """A flat TOML table of strings, numbers and booleans (what enrolment.toml holds)."""
    import json

    lines = []
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value!r}")
        else:
            lines.append(f"{key} = {json.dumps(str(value), ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def read_enrolment(etc_dir: Path) -> dict[str, Any] | None:
    path = etc_dir / paths.ENROLMENT_NAME
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError:
        return {}


def _agent_uid_gid() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(AGENT_USER)
    except KeyError:
        return None
    return entry.pw_uid, entry.pw_gid


def check_writable(etc_dir: Path) -> None:
    """OSError now, before the one-time code is spent, if ``etc_dir`` cannot be written."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=etc_dir, prefix=".probe-"):
        pass


def write_all(etc_dir: Path, files: list[FileToWrite]) -> None:
    """Write every file, or none: staged beside the targets, then swapped in, enrolment last.

    If a swap fails half-way, the files swapped already are put back as they were.
    """
    etc_dir.mkdir(parents=True, exist_ok=True)
    owner = _agent_uid_gid()
    staging = Path(tempfile.mkdtemp(dir=etc_dir, prefix=".enrol-"))
    backups: list[tuple[Path, Path | None]] = []
    try:
        for item in files:
            staged = staging / item.name
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, item.mode)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(item.text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(staged, item.mode)
            if owner is not None and item.name in SECRET_FILES:
                os.chown(staged, *owner)
        ordered = sorted(files, key=lambda f: f.name == paths.ENROLMENT_NAME)
        for item in ordered:
            target = etc_dir / item.name
            backup: Path | None = None
            if target.exists():
                backup = staging / f"{item.name}.previous"
                os.link(target, backup)
            os.replace(staging / item.name, target)
            backups.append((target, backup))
        _fsync_dir(etc_dir)
    except BaseException:
        for target, backup in reversed(backups):
            with contextlib.suppress(OSError):
                if backup is None:
                    target.unlink()
                else:
                    os.replace(backup, target)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def wipe(etc_dir: Path, names: tuple[str, ...] = CREDENTIAL_FILES) -> list[str]:
    """Remove the terminal's credentials; returns the names that were there."""
    removed = []
    for name in names:
        path = etc_dir / name
        if path.exists():
            path.unlink()
            removed.append(name)
    _fsync_dir(etc_dir)
    return removed


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
