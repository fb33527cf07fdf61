"""The kiosk's start-up stays lean: what the home's first frame does not need stays lazy.

The cold start is measured against a bare QtWebEngine app (bench/kiosk_start.py, target 1.2×):
pydantic and the models built with it cost it some 120 ms, Babel some 30 ms, the QR codes of
the guide some 12 ms.
They come after the first frame (the agent's link, the full settings check) or with the first
page that needs them (the guide).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pytestqt.qtbot import QtBot

from kiosk.contract.catalog import default_bundle_dir, load_catalog
from kiosk.ui.home import HomeScreen
from kiosk.ui.qt import QGuiApplication
from tests.ui.conftest import close_home

#: Imported by nothing the kiosk runs before its first frame.
LAZY = (
    "pydantic",
    "pydantic_core",
    "babel",
    "segno",
    "kiosk.contract.catalog_model",
    "kiosk.contract.mqtt",
    "kiosk.contract.local",
    "kiosk.agentlink",
    "kiosk.contract.places",
    "kiosk.contract.manifest",
    "kiosk.ui.settings",
    "kiosk.ui.agent_bridge",
    "kiosk.ui.browser.guide",
    "kiosk.ui.browser.nearby",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "code",
    [
        "import kiosk.ui.main",
        # What the first frame reads: the settings file and the shipped bundle.
        "import pathlib, tempfile\n"
        "from kiosk.ui.startsettings import read_start_settings\n"
        "from kiosk.contract.catalog import default_bundle_dir, load_catalog\n"
        "toml = pathlib.Path(tempfile.mkdtemp()) / 'kiosk.toml'\n"
        'toml.write_text(\'agent_socket = ""\\nidle_timeout_s = 90\\nlatitude = 44.8\\n'
        "longitude = -0.6\\n')\n"
        "assert read_start_settings(toml) is not None\n"
        "load_catalog(default_bundle_dir())",
    ],
)
def test_start_up_does_not_import_what_is_lazy(code: str) -> None:
    loaded = _loaded_after(code)
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))


def test_a_refused_bundle_is_still_worded_by_the_models() -> None:
    loaded = _loaded_after(
        "import json, tempfile, pathlib\n"
        "from kiosk.contract.catalog import CatalogError, load_catalog\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "(d / 'catalog.json').write_text(json.dumps({'v': 2}))\n"
        "try:\n    load_catalog(d)\nexcept CatalogError:\n    pass"
    )
    assert {"pydantic", "kiosk.contract.catalog_model"} <= loaded


def test_the_first_sessions_profile_is_made_once_the_home_is_shown(
    qapp: QGuiApplication, qtbot: QtBot
) -> None:
    # Making it starts Chromium's side of the web engine (~180 ms): not before the first frame.
    home = HomeScreen(qapp, load_catalog(default_bundle_dir()), default_bundle_dir(), "fr")
    assert home.browser.property("profile") is None
    with qtbot.waitSignal(home.browser.profileChanged, timeout=10_000):
        home.show(windowed=True)
    assert home.browser.property("profile") is not None
    close_home(home, qtbot)


def test_a_tile_touched_before_that_gets_its_fresh_profile(
    qapp: QGuiApplication, qtbot: QtBot
) -> None:
    catalog = load_catalog(default_bundle_dir())
    home = HomeScreen(qapp, catalog, default_bundle_dir(), "fr")
    # A page of the kiosk's own (nothing leaves the machine).
    home.browser.openTile(next(tile.id for tile in catalog.tiles if tile.page == "numbers"))
    assert home.browser.property("profile") is not None
    assert home.browser.sessionActive
    close_home(home, qtbot)
