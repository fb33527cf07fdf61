"""Severity first and the operator's words in Chromium, at 1280 and 390 px: the overview with a
lost terminal on top and its page with stale readings and waiting commands (screenshots in
``KIOSK_SCREENSHOT_DIR`` when set)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

from .test_french_pages import LOST, fill_everything

pytestmark = [pytest.mark.e2e]

#: How many tables scroll sideways inside their box (their text would be cut on a phone).
#: The tables wider than their box, named by their table's id or caption (none: nothing
#: scrolls sideways).
WIDER_THAN_THEIR_BOX = (
    "[...document.querySelectorAll('.table-wrap')]"
    ".filter(e => e.scrollWidth > e.clientWidth + 1)"
    ".map(e => { const t = e.querySelector('table'); const c = e.querySelector('caption');"
    " return (t && t.id) || (c && c.textContent.trim()) || e.outerHTML.slice(0, 80); })"
)


def test_the_lost_terminal_leads_and_its_page_says_its_readings_are_stale(
    settings: FleetSettings, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    fill_everything(settings)
    with served(create_app(settings, start_ingest=False)) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, height, name in ((1280, 900, "wide"), (390, 844, "phone")):
            page = browser.new_page(viewport={"width": width, "height": height}, locale="fr-FR")
            page.goto(url + "/login")
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", ADMIN_PASSWORD)
            page.press("#password", "Enter")
            first = page.locator("#terminal-rows tr").first
            expect(first).to_have_attribute("data-state", "lost")
            expect(first.locator(".row-alert-lost")).to_have_text("Perdue depuis 4 minutes")
            expect(page.locator("#terminal-rows .row-alert-ok").first).to_have_text(
                "Rien à signaler"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(shots / f"words-overview-{name}.png"), full_page=True)
            first.screenshot(path=str(shots / f"words-overview-first-row-{name}.png"))

            page.goto(f"{url}/terminals/{LOST}")
            expect(page.locator("#stale-notice")).to_contain_text("Relevés périmés")
            expect(page.locator("#latest-figures .stale-age").first).to_contain_text(
                "relevé il y a"
            )
            expect(page.locator("#unreachable-notice")).to_contain_text("attend son retour")
            expect(page.locator("#terminal-alerts")).to_contain_text("perdue : la connexion")
            expect(page.locator("#commands .command-waiting")).to_contain_text("jusqu’au")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate(WIDER_THAN_THEIR_BOX) == [], "a table is wider than its box"
            page.screenshot(path=str(shots / f"words-lost-terminal-{name}.png"), full_page=True)
            figures = page.locator("section", has=page.locator("#latest-figures"))
            figures.screenshot(path=str(shots / f"words-stale-figures-{name}.png"))

            page.goto(f"{url}/alerts")
            expect(page.locator("#alerts tbody tr").first).to_have_attribute("data-kind", "down")
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            assert page.evaluate(WIDER_THAN_THEIR_BOX) == [], "a table is wider than its box"
            page.screenshot(path=str(shots / f"words-alerts-{name}.png"), full_page=True)
            page.close()
        browser.close()
