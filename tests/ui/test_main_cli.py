"""The ``kiosk`` command line's settings: ``--config``, its errors, and the ready signal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ui.main import (
    EXIT_BAD_SETTINGS,
    READY_LINE,
    main,
    make_singletons_immortal,
    session_timeouts,
)
from kiosk.ui.qt import QObject, Signal
from kiosk.ui.session import SessionTimeouts
from kiosk.ui.settings import KioskSettings

pytestmark = pytest.mark.qt

REPO = Path(__file__).resolve().parents[2]


def test_help_offers_config_and_hides_the_benchmark_switch(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "--config FICHIER.toml" in out
    assert "Fichier de réglages" in out
    assert "/etc/kiosk/kiosk.toml" in out
    assert "--exit-when-ready" not in out


def test_settings_map_to_the_session_clock() -> None:
    settings = KioskSettings(
        idle_timeout_s=90, countdown_s=20, max_session_s=1200, max_session_warning_s=120
    )
    assert session_timeouts(settings) == SessionTimeouts(
        idle_timeout_s=90, countdown_s=20, max_length_s=1200, max_length_warning_s=120
    )


def test_a_missing_config_file_exits_2_in_french(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "absent.toml"
    assert main(["--windowed", "--config", str(missing)]) == EXIT_BAD_SETTINGS == 2
    err = capsys.readouterr().err
    assert f"{missing} : fichier de réglages introuvable" in err


def test_a_bad_value_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text("idle_timeout_s = 10\n", encoding="utf-8")
    assert main(["--windowed", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err
    assert "« idle_timeout_s »" in err
    assert "au moins 30" in err


def test_exit_when_ready_prints_once_the_tiles_are_shown(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('agent_socket = ""\ndefault_language = "fr"\n', encoding="utf-8")
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
            "--config",
            str(config),
            "--exit-when-ready",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == READY_LINE


class _Emitter(QObject):
    ping = Signal(str)


def test_signal_emissions_cannot_exhaust_true(qapp: object) -> None:
    """PySide6 6.12 on Python 3.11 drops a reference to True per emit; the guard absorbs it."""
    make_singletons_immortal()
    emitter = _Emitter()
    before = sys.getrefcount(True)
    for _ in range(10_000):
        emitter.ping.emit("x")
    lost = before - sys.getrefcount(True)
    assert lost in (0, 10_000)  # 0 once PySide6 is fixed
    if sys.version_info < (3, 12):
        assert sys.getrefcount(True) > 1 << 39


def test_void_calls_cannot_exhaust_none(qapp: object) -> None:
    """PySide6 6.12 on Python 3.11 drops a reference to None per call of a void Qt method."""
    make_singletons_immortal()
    target = QObject()
    before = sys.getrefcount(None)
    for _ in range(10_000):
        target.setObjectName("x")
    lost = before - sys.getrefcount(None)
    assert lost in (0, 10_000)  # 0 once PySide6 is fixed
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > 1 << 39
