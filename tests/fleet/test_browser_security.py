"""In Chromium: no page breaks its own Content-Security-Policy, no page can be framed, and the
features the dashboard never uses are denied; the new account pages, seen at 1280 and 390 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

from .pages import fill, get_paths

pytestmark = pytest.mark.e2e

#: Collects the CSP violations the page reports, before any of its own script runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    directory = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def test_pages_keep_their_policy_and_refuse_framing(settings: FleetSettings, shots: Path) -> None:
    from playwright.sync_api import sync_playwright

    fleet = fill(settings)
    html_pages = [
        path
        for path in get_paths(fleet)
        if (
            not path.startswith(("/api/", "/metrics", "/healthz", "/partials/", "/terminals/"))
            and not path.partition("?")[0].endswith((".csv", ".json", ".png", ".svg"))
        )
        or path == f"/terminals/{fleet.terminal_id}"
    ]
    with (
        served(create_app(settings, start_ingest=False)) as url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        context.add_init_script(RECORD_VIOLATIONS)
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(url + "/login")
        page.fill("#username", ADMIN_USERNAME)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/")
        for path in [*html_pages, "/account/second-factor"]:
            page.goto(url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__violations") == [], path
            for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
                allowed = page.evaluate(f"document.featurePolicy.allowsFeature('{feature}')")
                assert allowed is False, (path, feature)
        assert [line for line in console if "Content Security Policy" in line] == []
        assert [line for line in console if "Permissions-Policy" in line] == []

        for width, height in ((1280, 800), (390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            for name in ("account", "account/second-factor"):
                path = "/" + name
                name = name.replace("/", "-")
                page.goto(url + path)
                page.screenshot(path=str(shots / f"dashboard-{name}-{width}.png"), full_page=True)

        # A page elsewhere that frames the dashboard (clickjacking) gets nothing.
        decoy = context.new_page()
        blocked: list[str] = []
        decoy.on("console", lambda message: blocked.append(message.text))
        decoy.set_content(
            f'<iframe id="trap" src="{url}/" onload="document.body.dataset.loaded = 1"></iframe>'
        )
        decoy.wait_for_function("document.body.dataset.loaded === '1'")
        framed = [frame.url for frame in decoy.frames if frame != decoy.main_frame]
        assert framed
        assert not any(address.startswith(url) for address in framed), framed
        assert any("frame-ancestors" in line for line in blocked), blocked
        browser.close()
