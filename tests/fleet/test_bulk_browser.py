"""The bulk actions page and the styled rollout and user forms in Chromium, at 1280 and 390 px.

A real fleet process (uvicorn) on a SQLite file with a signed content repository; no broker is
needed: commands stay stored until one answers, as the page says.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.content.helpers import new_fleet
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

from .conftest import make_settings, prepare_database
from .test_bulk import add_alert, add_terminals

pytestmark = pytest.mark.e2e


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def fleet_url(tmp_path: Path) -> Iterator[str]:
    content = new_fleet(tmp_path / "content")
    content.publish("2026.11.1")
    content.publish("2026.12.1")
    settings: FleetSettings = make_settings(tmp_path, content_repo=content.repo.repo_dir)
    prepare_database(settings)
    add_terminals(settings, 40)
    add_alert(settings, "bdx-000003")
    with served(create_app(settings, start_ingest=False)) as url:
        yield url


def label_above(page: Any, field: str) -> None:
    """The field's label sits above it, and both fit in the window."""
    label = page.locator(f"label[for='{field}']").bounding_box()
    control = page.locator(f"#{field}").bounding_box()
    assert label is not None
    assert control is not None
    assert label["y"] + label["height"] <= control["y"] + 1, field
    assert control["x"] >= 0
    assert control["x"] + control["width"] <= page.viewport_size["width"], field


def fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_bulk_page_and_styled_forms_in_chromium(fleet_url: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, suffix in ((1280, ""), (390, "-phone")):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
            page = context.new_page()
            page.goto(fleet_url + "/login")
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", ADMIN_PASSWORD)
            page.press("#password", "Enter")
            page.wait_for_url(fleet_url + "/")
            if width == 1280:
                page.click("a[href='/terminals/actions']")
            else:
                page.goto(fleet_url + "/terminals/actions")
            expect(page.locator("h1")).to_have_text("Actions groupées")
            page.select_option("#bulk-state", "lost")
            page.click("#bulk-filter button[type=submit]")
            expect(page.locator("#bulk-matching")).to_have_attribute("data-count", "14")
            for field in ("bulk-state", "bulk-commune", "bulk-text", "bulk-what", "bulk-minutes"):
                label_above(page, field)
            fits(page, width)
            page.screenshot(path=str(shots / f"dashboard-bulk{suffix}.png"), full_page=True)

            page.check("#tick-bdx-000000")
            page.check("#tick-bdx-000003")
            page.select_option("#bulk-what", "maintenance")
            page.fill("#bulk-minutes", "45")
            page.fill("#bulk-reason", "Remplacement de l’écran")
            page.click("#bulk-form button[type=submit]")
            expect(page.locator("#bulk-confirm-text")).to_contain_text(
                "Commencer une maintenance sur 2 bornes."
            )
            fits(page, width)
            page.screenshot(path=str(shots / f"dashboard-bulk-confirm{suffix}.png"), full_page=True)
            page.click("#bulk-do button[type=submit]")
            expect(page.locator("#bulk-flash")).to_have_text(
                "Maintenance de 45 minutes ouverte pour 2 bornes."
            )

            page.goto(fleet_url + "/rollouts")
            options = page.locator("#rollout-version option").all_inner_texts()
            assert options == ["2026.12.1", "2026.11.1"]
            for field in ("rollout-version", "rollout-canary", "rollout-percent", "rollout-error"):
                label_above(page, field)
            fits(page, width)
            page.screenshot(path=str(shots / f"dashboard-rollouts{suffix}.png"), full_page=True)

            page.goto(fleet_url + "/users")
            for field in ("new-username", "new-password", "new-role"):
                label_above(page, field)
            fits(page, width)
            page.screenshot(path=str(shots / f"dashboard-users{suffix}.png"), full_page=True)
            context.close()
        browser.close()
