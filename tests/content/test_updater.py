"""The terminal fetches, stages and switches content versions."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.agent.content.updater import (
    ContentUpdater,
    ContentUpdaterSettings,
    ContentUpdateState,
    UpdateResult,
)
from kiosk.contract.catalog import load_catalog
from tests.content.helpers import Fleet


def test_first_update_applies_and_current_points_to_it(
    fleet: Fleet, updater: ContentUpdater
) -> None:
    fleet.publish("2025.12.1")
    seen: list[ContentUpdateState] = []
    updater._on_state = lambda result: seen.append(result.state)
    result = updater.update_to("2025.12.1")
    assert result.state is ContentUpdateState.APPLIED, result.reason
    assert seen == [
        ContentUpdateState.PENDING,
        ContentUpdateState.DOWNLOADING,
        ContentUpdateState.VERIFIED,
        ContentUpdateState.STAGED,
        ContentUpdateState.APPLIED,
    ]
    current = updater.current_bundle_dir()
    assert current is not None
    assert load_catalog(current).version == "2025.12.1"
    link = updater.settings.content_dir / "current"
    assert os.readlink(link) == "versions/2025.12.1"


def test_second_version_downloads_only_the_changed_page_and_keeps_the_previous(
    fleet: Fleet, updater: ContentUpdater
) -> None:
    fleet.publish("2025.12.1", page_text="one")
    assert updater.update_to("2025.12.1").state is ContentUpdateState.APPLIED
    fleet.publish("2025.12.2", page_text="two")
    result = updater.update_to("2025.12.2")
    assert result.state is ContentUpdateState.APPLIED, result.reason
    # catalog.json (its version changed) and the page; the pictograms are reused.
    assert result.files_downloaded == 2
    assert result.files_reused >= 8
    assert updater.store.previous_version() == "2025.12.1"
    current = updater.current_bundle_dir()
    assert current is not None
    assert "two" in (current / "pages" / "aide.html").read_text(encoding="utf-8")


def test_an_open_session_stages_without_switching_until_it_ends(
    fleet: Fleet, settings: ContentUpdaterSettings
) -> None:
    session = {"open": True}
    updater = ContentUpdater(settings, session_open=lambda: session["open"])
    fleet.publish("2025.12.1")
    result = updater.update_to("2025.12.1")
    assert result.state is ContentUpdateState.STAGED
    assert result.reason == "waiting for the resident session to end"
    assert updater.current_bundle_dir() is None
    session["open"] = False
    assert updater.apply_staged("2025.12.1").state is ContentUpdateState.APPLIED
    assert updater.current_version() == "2025.12.1"


def test_a_failed_health_check_rolls_back_to_the_previous_version(
    fleet: Fleet, settings: ContentUpdaterSettings
) -> None:
    fleet.publish("2025.12.1", page_text="one")
    fleet.publish("2025.12.2", page_text="two")
    assert ContentUpdater(settings).update_to("2025.12.1").state is ContentUpdateState.APPLIED

    def home_does_not_render(bundle: Path) -> str | None:
        return "home did not render" if bundle.name == "2025.12.2" else None

    result = ContentUpdater(settings, health_check=home_does_not_render).update_to("2025.12.2")
    assert result.state is ContentUpdateState.FAILED
    assert result.reason is not None
    assert "rolled back to 2025.12.1" in result.reason
    assert ContentUpdater(settings).current_version() == "2025.12.1"


def test_operator_roll_back_returns_to_the_previous_version(
    fleet: Fleet, updater: ContentUpdater
) -> None:
    fleet.publish("2025.12.1", page_text="one")
    fleet.publish("2025.12.2", page_text="two")
    updater.update_to("2025.12.1")
    updater.update_to("2025.12.2")
    assert updater.roll_back().state is ContentUpdateState.APPLIED
    assert updater.current_version() == "2025.12.1"


def test_unknown_version_fails_with_a_reason(fleet: Fleet, updater: ContentUpdater) -> None:
    fleet.publish("2025.12.1")
    result = updater.update_to("2099.1.1")
    assert result.state is ContentUpdateState.FAILED
    assert result.reason == "version 2099.1.1 is not published in the signed repository"
    assert updater.current_bundle_dir() is None


def test_result_event_data_is_flat_and_small() -> None:
    data = UpdateResult("v1", ContentUpdateState.FAILED, reason="x" * 500).event_data()
    assert data["state"] == "failed"
    assert len(str(data["reason"])) == 200
