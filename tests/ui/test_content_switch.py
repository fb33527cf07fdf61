"""A content update applied by the agent is shown without restarting, never mid-session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.ui.home import HomeScreen
from tests.ui.conftest import OpenKiosk
from tests.ui.web import open_standin

pytestmark = pytest.mark.qt


def relabelled_copy(bundle: Path, target: Path, label: str) -> Path:
    """The same bundle as a new version whose first tile has another French label."""
    shutil.copytree(bundle, target)
    catalog = json.loads((target / "catalog.json").read_text())
    catalog["version"] = "2099.1.1"
    catalog["tiles"][0]["label"]["fr"] = label
    (target / "catalog.json").write_text(json.dumps(catalog, ensure_ascii=False))
    return target


def labels(home: HomeScreen) -> list[str]:
    """The labels of the stand-in catalog's tiles (in its one group's screen)."""
    home.menu.openGroup("sante")
    shown = [card.label for card in home.menu.group_cards]
    home.menu.closeGroup()
    return shown


def test_a_new_bundle_is_shown_at_once_on_the_home_screen(
    open_kiosk: OpenKiosk, standin_bundle: Path, tmp_path: Path
) -> None:
    home = open_kiosk()
    new = relabelled_copy(standin_bundle, tmp_path / "v2", "Nouveau service")
    assert "Nouveau service" not in labels(home)
    assert home.switch_content(new)
    assert "Nouveau service" in labels(home)


def test_a_bundle_that_does_not_load_is_refused_and_the_current_one_stays(
    open_kiosk: OpenKiosk, standin_bundle: Path, tmp_path: Path
) -> None:
    home = open_kiosk()
    before = labels(home)
    broken = relabelled_copy(standin_bundle, tmp_path / "broken", "x")
    (broken / "catalog.json").write_text("{not json")
    assert not home.switch_content(broken)
    assert labels(home) == before


def test_during_a_session_the_switch_waits_for_its_end(
    open_kiosk: OpenKiosk, qtbot: QtBot, standin_bundle: Path, tmp_path: Path
) -> None:
    home = open_kiosk()
    open_standin(home, qtbot)
    assert home.browser.sessionActive
    assert home.switch_content(relabelled_copy(standin_bundle, tmp_path / "v2", "Plus tard"))
    assert "Plus tard" not in labels(home)
    with qtbot.waitSignal(home.browser.selfCheckDone, timeout=15_000):
        home.browser.finishSession()
    assert "Plus tard" in labels(home)
