"""A terminal updates its content from the fleet's own web server (the /content mount)."""

from __future__ import annotations

from pathlib import Path

import httpx

from fleet.main import create_app
from kiosk.agent.content.updater import ContentUpdater
from kiosk.contract.mqtt import ContentUpdateState
from tests.content.conftest import terminal_settings
from tests.content.helpers import Fleet, new_fleet
from tests.fleet.conftest import make_settings
from tests.helpers import served


def test_the_fleet_serves_its_repository_publicly_and_a_terminal_applies_it(
    tmp_path: Path,
) -> None:
    fleet: Fleet = new_fleet(tmp_path / "content")
    fleet.publish("2026.11.1")
    settings = make_settings(tmp_path, content_repo=fleet.repo.repo_dir)
    with served(create_app(settings, start_ingest=False)) as url:
        # No login: the signatures protect the content, and terminals have no session.
        root = httpx.get(f"{url}/content/metadata/1.root.json", timeout=5)
        assert root.status_code == 200
        assert root.json()["signed"]["_type"] == "root"
        updater = ContentUpdater(terminal_settings(f"{url}/content", fleet, tmp_path / "terminal"))
        result = updater.update_to("2026.11.1")
    assert result.state == ContentUpdateState.APPLIED, result.reason
    assert updater.current_version() == "2026.11.1"


def test_a_fleet_without_a_repository_serves_no_content(tmp_path: Path) -> None:
    with served(create_app(make_settings(tmp_path), start_ingest=False)) as url:
        assert httpx.get(f"{url}/content/metadata/1.root.json", timeout=5).status_code == 404
