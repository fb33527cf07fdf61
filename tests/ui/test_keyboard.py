"""The on-screen keyboard: shown inside the window when a web field is touched, never over it.

Qt Virtual Keyboard must be chosen before the application exists, so the check runs in its own
process (``tests/ui/keyboard_probe.py``) against the same stand-in site.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qt

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("where", ["site", "local-page"])
def test_touching_a_field_shows_the_keyboard_below_it(where: str) -> None:
    """On a site and on a page of the content bundle alike (the same view, the same panel)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("QTWEBENGINE_CHROMIUM_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.keyboard_probe"]
        + (["--local-page"] if where == "local-page" else []),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["panel_visible"]
    assert result["locale"] == "fr"
    # The keyboard is in the window, at its bottom; the page ends where the keyboard begins.
    assert 0 < result["panel_top"] < result["window_height"]
    assert result["view_bottom"] == pytest.approx(result["panel_top"], abs=1)
    # The touched field is entirely above the keyboard.
    assert result["field_bottom"] <= result["panel_top"]
    assert result["field_top"] >= 0
