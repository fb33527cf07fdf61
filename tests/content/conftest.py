from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.agent.content.updater import ContentUpdater, ContentUpdaterSettings
from tests.content.helpers import Fleet, new_fleet, static_server


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    return new_fleet(tmp_path)


@pytest.fixture
def base_url(fleet: Fleet) -> Iterator[str]:
    with static_server(fleet.repo.repo_dir) as url:
        yield url


def terminal_settings(base_url: str, fleet: Fleet, content_dir: Path) -> ContentUpdaterSettings:
    return ContentUpdaterSettings(
        content_dir=content_dir,
        metadata_url=f"{base_url}/metadata/",
        targets_url=f"{base_url}/targets/",
        trusted_root=fleet.repo.metadata_dir / "1.root.json",
        attempts=2,
        retry_delay_s=0.05,
    )


@pytest.fixture
def settings(base_url: str, fleet: Fleet, tmp_path: Path) -> ContentUpdaterSettings:
    return terminal_settings(base_url, fleet, tmp_path / "terminal")


@pytest.fixture
def updater(settings: ContentUpdaterSettings) -> ContentUpdater:
    return ContentUpdater(settings)
