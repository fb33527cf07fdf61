"""The "home renders" part of a content health check: the real kiosk draws the bundle offscreen.

The agent never imports Qt; it runs the kiosk itself (``python -m kiosk.ui --screenshot``) on the
new bundle with the offscreen platform, as the UI would show it, and reads its exit code. On a
machine without the kiosk (a server-side simulated terminal) the check is skipped.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from kiosk.agent.content.updater import HealthCheck, default_health_check

log = logging.getLogger(__name__)

RENDER_TIMEOUT_S: Final = 60.0


def kiosk_available() -> bool:
    """Whether the kiosk UI (and so Qt) is installed beside the agent."""
    return importlib.util.find_spec("PySide6") is not None


def home_renders(bundle_dir: Path) -> str | None:
    """None when the kiosk draws ``bundle_dir``'s home screen; else why not (for the fleet)."""
    with tempfile.TemporaryDirectory(prefix="kiosk-render-") as scratch:
        picture = Path(scratch) / "home.png"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "QTWEBENGINE_CHROMIUM_FLAGS": os.environ.get(
                "QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu"
            ),
        }
        command = [
            sys.executable,
            "-m",
            "kiosk.ui",
            "--windowed",
            "--catalog",
            str(bundle_dir),
            "--screenshot",
            str(picture),
        ]
        try:
            done = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=RENDER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return f"the home screen did not render within {RENDER_TIMEOUT_S:.0f} s"
        if done.returncode != 0 or not picture.is_file():
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            return f"the home screen did not render (exit {done.returncode}): {last[:150]}"
    return None


def full_health_check() -> HealthCheck:
    """Catalog and pages, then (where the kiosk is installed) the home screen really renders."""
    if not kiosk_available():
        log.info("kiosk UI not installed here: content health checks skip the render check")
        return default_health_check

    def check(bundle_dir: Path) -> str | None:
        return default_health_check(bundle_dir) or home_renders(bundle_dir)

    return check
