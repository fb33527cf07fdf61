"""The dashboard in Chromium (Playwright) against real processes: broker, fleet and agents.

A killed agent turns its row and its dot on the plan "perdu" without a reload (server-sent
events); a command sent from the terminal page shows its final state and reason; an alert is
acknowledged from the alerts page; the observatory CSV is downloaded from the dashboard's form.
"""

from __future__ import annotations

import csv
import io
import os
import re
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from fleet import crud
from fleet.core.db import make_engine, make_session_factory
from fleet.demo import ADMIN_USERNAME, DemoStack
from fleet.models import Alert, Terminal
from fleet.observatory import CSV_FIELDS
from tests.helpers import launch_chromium, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

TERMINALS = ("bdx-web-001", "bdx-web-002", "bdx-web-003")
PLACES = {
    "bdx-web-001": ("Mairie de Bègles", "Bègles", 44.8086, -0.5478),
    "bdx-web-002": ("Place de la Victoire", "Bordeaux", 44.8310, -0.5730),
}
KEEPALIVE_S = 2
FINAL_COMMAND_STATES = ("done", "failed", "refused", "expired")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    demo = DemoStack(
        tmp_path / "demo", terminals=TERMINALS, keepalive_s=KEEPALIVE_S, health_interval_s=0.5
    )
    try:
        demo.start()
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """docs/screenshots when KIOSK_SCREENSHOT_DIR says so, else a throwaway directory."""
    directory = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def place_terminals(stack: DemoStack) -> None:
    """What ``fleet terminals locate`` does, straight in the demo's database."""
    engine = make_engine(f"sqlite:///{stack.state_dir / 'fleet.db'}")
    with make_session_factory(engine)() as session:
        for terminal_id, (site, commune, latitude, longitude) in PLACES.items():
            terminal = session.get(Terminal, terminal_id)
            assert terminal is not None
            terminal.site_name, terminal.commune = site, commune
            terminal.latitude, terminal.longitude = latitude, longitude
        session.commit()
    engine.dispose()


def test_dashboard_live_plan_and_a_command_in_chromium(stack: DemoStack, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    victim = TERMINALS[0]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        page.goto(stack.dashboard_url)
        expect(page).to_have_url(re.compile(r"/login"))
        page.fill("#username", ADMIN_USERNAME)
        page.fill("#password", stack.admin_password)
        page.press("#password", "Enter")
        expect(page.locator("#terminal-rows tr[data-state='online']")).to_have_count(
            len(TERMINALS), timeout=10_000
        )
        expect(page.locator("#live")).to_have_attribute("data-live-mode", "events")

        # Placing terminals reaches the open page by the event stream, without a reload.
        place_terminals(stack)
        dot = page.locator(f"#plan-{victim}")
        expect(dot).to_have_attribute("data-state", "online", timeout=5_000)
        expect(page.locator(f"#plan-{TERMINALS[1]}")).to_be_visible()
        expect(page.locator("#not-placed")).to_contain_text(TERMINALS[2])
        expect(page.locator(f"#terminal-{victim}")).to_contain_text("%", timeout=10_000)
        # Each terminal's UI stand-in says it is alive within a few seconds of its start.
        expect(page.locator("#count-degraded")).to_have_text("0", timeout=15_000)
        page.screenshot(path=str(shots / "dashboard-overview.png"), full_page=True)

        os.kill(stack.agents[victim].pid, signal.SIGKILL)
        row = page.locator(f"#terminal-{victim}")
        expect(row).to_have_attribute("data-state", "lost", timeout=1.5 * KEEPALIVE_S * 1000 + 3000)
        expect(row).to_contain_text("perdu")
        expect(page.locator(f"#plan-{victim}")).to_have_attribute("data-state", "lost")
        expect(page.locator(f"#plan-{victim} title")).to_contain_text("perdu")
        expect(page.locator("#count-lost")).to_have_text("1")
        page.screenshot(path=str(shots / "dashboard-plan-lost.png"), full_page=True)

        # Filtering is server-side and keeps the live stream.
        page.select_option("#filter-state", "lost")
        page.click("#filters button[type=submit]")
        expect(page.locator("#terminal-rows tr[data-state]")).to_have_count(1)
        expect(page.locator("#live")).to_have_attribute("data-live-mode", "events")

        # A command from the terminal page, and its final state with its reason.
        target = TERMINALS[1]
        page.goto(f"{stack.dashboard_url}terminals/{target}")
        expect(page.locator("#chart-cpu")).to_be_visible()
        page.get_by_role("button", name="Terminer et effacer la session en cours").click()
        expect(page.locator("#command-flash")).to_be_visible()
        command_row = page.locator("#commands tbody tr[data-state]").first

        def command_finished() -> bool:
            if command_row.get_attribute("data-state") in FINAL_COMMAND_STATES:
                return True
            page.reload()
            return False

        wait_until(command_finished, timeout_s=15, what="the command's final state")
        reason = command_row.locator("td").nth(4)
        if command_row.get_attribute("data-state") != "done":
            expect(reason).not_to_have_text("—")
        page.screenshot(path=str(shots / "dashboard-terminal.png"), full_page=True)

        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
        phone.context.add_cookies(page.context.cookies())
        phone.goto(stack.dashboard_url)
        expect(phone.locator("#plan-svg")).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the phone page scrolls sideways ({width} px)"
        phone.screenshot(path=str(shots / "dashboard-phone.png"), full_page=True)
        browser.close()


def open_down_alert(stack: DemoStack, terminal_id: str) -> int:
    """What the alert keeper writes once a terminal is down past the grace period (2 min by
    default): written straight in the demo's database rather than waited for.

    The terminal is made lost since the same five minutes, or the keeper's next pass, which
    comes first on a loaded machine, finds it down for seconds only and resolves the alert.
    """
    engine = make_engine(f"sqlite:///{stack.state_dir / 'fleet.db'}")
    with make_session_factory(engine)() as session:
        now = crud.utc_now()
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        assert terminal.state == "lost"
        terminal.state_since = now - timedelta(minutes=5)
        alert = Alert(
            terminal_id=terminal_id,
            kind="down",
            state="open",
            active_key=f"{terminal_id}:down",
            opened_at=now - timedelta(minutes=3),
            summary="lost: the connection dropped without a goodbye (the broker's last will)",
            details={"state": "lost", "since": (now - timedelta(minutes=5)).isoformat()},
            last_notified_state="open",
        )
        session.add(alert)
        session.commit()
        alert_id = alert.id
    engine.dispose()
    return alert_id


def test_acknowledge_an_alert_and_export_the_observatory_csv(stack: DemoStack) -> None:
    from playwright.sync_api import expect, sync_playwright

    screenshots = os.environ.get("KIOSK_SCREENSHOT_DIR")
    victim = TERMINALS[0]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(
            viewport={"width": 1280, "height": 900}, locale="fr-FR", accept_downloads=True
        )
        page.goto(stack.dashboard_url)
        page.fill("#username", ADMIN_USERNAME)
        page.fill("#password", stack.admin_password)
        page.press("#password", "Enter")
        row = page.locator(f"#terminal-{victim}")
        expect(row).to_have_attribute("data-state", "online", timeout=10_000)
        # Down (its will says lost at once), so that the alert keeper does not resolve it.
        os.kill(stack.agents[victim].pid, signal.SIGKILL)
        expect(row).to_have_attribute("data-state", "lost", timeout=1.5 * KEEPALIVE_S * 1000 + 3000)
        alert_id = open_down_alert(stack, victim)
        # The open alert reaches the open dashboard's counter by the event stream.
        expect(page.locator("#count-open-alerts")).to_have_text("1", timeout=5_000)

        page.goto(f"{stack.dashboard_url}alerts")
        row = page.locator(f"#alert-{alert_id}")
        expect(row).to_have_attribute("data-state", "open")
        row.get_by_role("button").click()
        row = page.locator(f"#alert-{alert_id}")
        expect(row).to_have_attribute("data-state", "acknowledged")
        expect(row).to_contain_text(ADMIN_USERNAME)
        if screenshots:
            page.screenshot(path=str(Path(screenshots) / "alerts-acknowledged.png"), full_page=True)

        page.goto(stack.dashboard_url)
        expect(page.locator("#count-open-alerts")).to_have_text("0")
        form = page.locator("#export-form")
        expect(form).to_be_visible()
        page.fill("#export-from", "2026-01-01")
        page.fill("#export-to", "2026-01-31")
        page.select_option("#export-format", "csv")
        with page.expect_download() as download_info:
            page.click("#export-submit")
        download = download_info.value
        assert download.suggested_filename == "observatory-2026-01-01-2026-01-31.csv"
        content = Path(download.path()).read_text(encoding="utf-8")
        header = next(csv.reader(io.StringIO(content)))
        assert header == list(CSV_FIELDS)
        if screenshots:
            page.screenshot(path=str(Path(screenshots) / "dashboard-export.png"), full_page=True)
        browser.close()


def test_an_enrolment_code_is_large_copied_whole_and_shown_as_a_qr_code(
    stack: DemoStack, shots: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    fleet = stack.dashboard_url.rstrip("/")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, name in (
            (1280, "dashboard-enrolment.png"),
            (390, "dashboard-enrolment-phone.png"),
        ):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
            context.grant_permissions(["clipboard-read", "clipboard-write"])
            page = context.new_page()
            page.goto(stack.dashboard_url)
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", stack.admin_password)
            page.press("#password", "Enter")
            expect(page.locator("#terminal-rows")).to_be_visible()
            page.goto(fleet + "/enrolment")
            page.fill("#enrolment-site", "Mairie de Mérignac")
            page.fill("#enrolment-commune", "Mérignac")
            page.click(".create-token button[type=submit]")
            code = page.locator("#new-enrolment-code").inner_text()
            command = page.locator("#enrolment-command")
            expect(command).to_have_text(f"kiosk-provision enroll --code {code} --fleet {fleet}")
            page.click("button[data-copy='enrolment-command']")
            expect(page.locator("#copy-status")).to_have_text("Copié.")
            assert page.evaluate("navigator.clipboard.readText()") == command.inner_text()
            # Nothing of the command or the code is cut off at this width.
            for selector in ("#enrolment-command", "#new-enrolment-code", ".qr svg"):
                box = page.locator(selector).bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= width
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.screenshot(path=str(shots / name), full_page=True)
            context.close()
        browser.close()
