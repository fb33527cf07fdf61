"""Serve the content repository as static files (TUF metadata and targets are plain files)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi.staticfiles import StaticFiles

#: Where the fleet mounts the repository; terminals use <base>/metadata/ and <base>/targets/.
MOUNT_PATH: Final = "/content"


def content_files(repo_dir: Path) -> StaticFiles:
    """A Starlette app serving ``repo_dir``; mount it with ``app.mount(MOUNT_PATH, ...)``.

    The keys are never in ``repo_dir`` (see :mod:`fleet.content.keys`), so everything under it
    is public by design: signatures, not secrecy, protect the content.
    """
    return StaticFiles(directory=repo_dir, check_dir=False)
