"""The units and the image name the terminal's files where :mod:`kiosk.contract.paths` does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Final

import pytest

from kiosk.contract import paths

ROOT: Final = Path(__file__).resolve().parents[2]
UNIT_DIR: Final = ROOT / "systemd"
IMAGE_DIR: Final = ROOT / "images" / "mkosi.extra"
#: Where systemd puts the directories a unit names by ``<Kind>Directory=`` (system units).
DIRECTORY_ROOTS: Final = {
    "RuntimeDirectory": Path("/run"),
    "StateDirectory": Path("/var/lib"),
    "ConfigurationDirectory": Path("/etc"),
}


def settings(path: Path) -> list[tuple[str, str]]:
    """A unit's ``key=value`` lines, in order (a key may come more than once)."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith(("#", ";")):
            pairs.append((key.strip(), value.strip()))
    return pairs


def directories(path: Path) -> dict[str, set[Path]]:
    found: dict[str, set[Path]] = {}
    for key, value in settings(path):
        if key in DIRECTORY_ROOTS:
            found.setdefault(key, set()).update(DIRECTORY_ROOTS[key] / v for v in value.split())
    return found


def test_the_agents_unit_makes_the_contracts_directories() -> None:
    assert directories(UNIT_DIR / "kiosk-agent.service") == {
        "RuntimeDirectory": {paths.RUNTIME_DIR},
        "StateDirectory": {paths.AGENT_STATE_DIR},
        "ConfigurationDirectory": {paths.ETC_DIR},
    }


def test_the_agents_unit_reads_the_contracts_config_file() -> None:
    starts = [v for k, v in settings(UNIT_DIR / "kiosk-agent.service") if k == "ExecStart"]
    assert starts == [f"/usr/bin/kiosk-agent --config {paths.AGENT_CONFIG}"]


def test_tmpfiles_make_the_state_and_configuration_folders() -> None:
    made = {
        Path(line.split()[1])
        for line in (UNIT_DIR / "tmpfiles.d" / "kiosk.conf").read_text().splitlines()
        if line.startswith("d ")
    }
    assert made == {paths.STATE_DIR, paths.ETC_DIR}


@pytest.mark.parametrize(
    ("unit", "condition"),
    [
        ("kiosk-ui.service.d/50-enrolled.conf", str(paths.AGENT_CONFIG)),
        ("kiosk-technician.service", f"!{paths.AGENT_CONFIG}"),
    ],
)
def test_enrolled_means_the_contracts_agent_config_exists(unit: str, condition: str) -> None:
    pairs = settings(IMAGE_DIR / "usr" / "lib" / "systemd" / "system" / unit)
    assert ("ConditionPathExists", condition) in pairs
    assert ("RequiresMountsFor", str(paths.ETC_DIR)) in pairs


def test_the_image_mounts_the_state_and_configuration_folders() -> None:
    mounts = {
        line.split()[1]
        for line in (IMAGE_DIR / "etc" / "fstab").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {str(paths.STATE_DIR), str(paths.ETC_DIR)} <= mounts


def test_the_paths_and_settings_declarations_import_nothing_of_the_project() -> None:
    """The agent and the kiosk UI import both at start: no pydantic, no other module of ours.

    ``kiosk/__init__.py`` takes ``__version__`` from :mod:`kiosk.contract.version`, a constant.
    """
    probe = (
        "import json, sys\n"
        "import kiosk.contract.paths, kiosk.contract.settings\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('kiosk', 'pydantic')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == [
        "kiosk",
        "kiosk.contract",
        "kiosk.contract.paths",
        "kiosk.contract.settings",
        "kiosk.contract.version",
    ]
