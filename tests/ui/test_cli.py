"""The ``kiosk`` command line: help, refusal of a broken bundle, screenshot as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ui.home import WINDOWED_SIZE
from kiosk.ui.main import EXIT_BAD_CONTENT, main
from kiosk.ui.qt import QImage

pytestmark = pytest.mark.qt

REPO = Path(__file__).resolve().parents[2]


def test_help_is_french_and_names_the_accessibility_tools(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Utilisation")
    for option in ("--windowed", "--catalog", "--lang", "--screenshot"):
        assert option in out
    assert "clavier" in out


def test_broken_bundle_is_refused_before_any_window(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert main(["--windowed", "--catalog", str(tmp_path)]) == EXIT_BAD_CONTENT
    assert "catalog.json: file not found" in caplog.text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_screenshot_command_writes_a_png_and_exits_0(tmp_path: Path, language: str) -> None:
    output = tmp_path / "home.png"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QTWEBENGINE_CHROMIUM_FLAGS": "--no-sandbox --disable-gpu",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.ui",
            "--windowed",
            "--lang",
            language,
            "--screenshot",
            str(output),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Our own QML must load without a warning. Qt Virtual Keyboard's own QML prints one
    # (PopupList overriding contentWidth) that is Qt's, not ours.
    ours = [line for line in done.stderr.splitlines() if "kiosk/ui/qml" in line]
    assert not ours, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    image = QImage(str(output))
    assert (image.width(), image.height()) == WINDOWED_SIZE


def test_screenshot_to_an_unwritable_place_exits_1(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.ui",
            "--windowed",
            "--screenshot",
            str(tmp_path / "no" / "x.png"),
        ],
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "could not save the screenshot" in done.stderr
