"""The availability page and a terminal's section in Chromium, at 1280 and 390 px, with a month of
history and a terminal lost a few minutes ago (screenshots in KIOSK_SCREENSHOT_DIR if set)."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fleet import availability
from fleet.api.formatting import display_zone
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import Alert, EventRecord, MaintenanceWindow, StateChange, Terminal
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

from .conftest import make_settings, prepare_database

NOW = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)
SITES = ["Mairie", "Médiathèque", "Gare", "Marché des Capucins", "Piscine", "CCAS"]
COMMUNES = ["Bordeaux", "Mérignac", "Pessac", "Talence", "Bègles", "Cenon"]


def fill_history(url: str) -> None:
    """Twelve terminals since 20 October: a few outages a week each, sessions every day, a
    maintenance window, one terminal lost four minutes ago."""
    rng = random.Random(15)
    start = datetime(2025, 10, 20, 6, 0, tzinfo=UTC)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        for index in range(12):
            terminal_id = f"bdx-{index + 1:03d}"
            lost = index == 1
            session.add(
                Terminal(
                    id=terminal_id,
                    state="lost" if lost else "online",
                    state_since=NOW - timedelta(minutes=4) if lost else start,
                    created_at=start,
                    versions={},
                    site_name=f"{SITES[index % 6]} {index + 1}",
                    commune=COMMUNES[index % 6],
                )
            )
            session.flush()
            session.add(StateChange(terminal_id=terminal_id, at=start, state="online"))
            moment = start
            seq = 0
            while True:
                moment += timedelta(hours=rng.uniform(30, 120))
                if moment > NOW - timedelta(hours=2):
                    break
                down = "lost" if rng.random() < 0.5 else "offline"
                session.add(StateChange(terminal_id=terminal_id, at=moment, state=down))
                back = moment + timedelta(minutes=rng.uniform(2, 150))
                session.add(StateChange(terminal_id=terminal_id, at=back, state="online"))
                if rng.random() < 0.4:
                    session.add(
                        Alert(
                            terminal_id=terminal_id,
                            kind="down",
                            state="resolved",
                            opened_at=moment + timedelta(minutes=2),
                            resolved_at=back,
                            summary="down",
                        )
                    )
            if lost:
                session.add(
                    StateChange(
                        terminal_id=terminal_id, at=NOW - timedelta(minutes=4), state="lost"
                    )
                )
            day = start
            while day < NOW:
                for _ in range(rng.randint(5, 30)):
                    seq += 1
                    sent = day + timedelta(minutes=rng.uniform(0, 20 * 60))
                    if sent < NOW:
                        session.add(
                            EventRecord(
                                terminal_id=terminal_id,
                                seq=seq,
                                kind="session_ended",
                                sent_at=sent,
                                received_at=sent,
                                data={},
                            )
                        )
                day += timedelta(days=1)
        session.add(
            MaintenanceWindow(
                terminal_id="bdx-004",
                starts_at=datetime(2025, 11, 18, 8, 0, tzinfo=UTC),
                ends_at=datetime(2025, 11, 18, 12, 0, tzinfo=UTC),
                reason="écran changé",
                created_by="admin",
            )
        )
        session.commit()
        availability.roll_up(session, NOW, display_zone("Europe/Paris"))
    engine.dispose()


def test_the_availability_page_at_both_widths(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    settings = make_settings(tmp_path)
    prepare_database(settings)
    fill_history(settings.database_url)
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: NOW
    with served(app) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, suffix in ((1280, ""), (390, "-phone")):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
            page = context.new_page()
            page.goto(url + "/login")
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", ADMIN_PASSWORD)
            page.press("#password", "Enter")
            page.wait_for_url(url + "/")
            page.goto(url + "/availability?month=2025-11")
            expect(page.locator("h1")).to_have_text("Disponibilité du parc")
            # bdx-002, lost four minutes ago, heads the outages, still down.
            first_outage = page.locator("#fleet-outages-table tbody tr").first
            expect(first_outage).to_contain_text("bdx-002")
            expect(first_outage).to_contain_text("toujours hors service")
            assert page.locator("#availability-days tbody tr").count() == 26
            # The page itself never scrolls sideways; wide tables scroll in their frame.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            for selector in ("h1", "#availability-month", "#availability-export button"):
                box = page.locator(selector).bounding_box()
                assert box is not None
                assert box["x"] >= 0
                assert box["x"] + box["width"] <= width
            page.screenshot(path=str(shots / f"availability{suffix}.png"), full_page=True)
            page.goto(url + "/terminals/bdx-002")
            section = page.locator("#availability-section")
            expect(section).to_contain_text("Disponibilité")
            expect(section.locator("#terminal-outages li").first).to_contain_text(
                "toujours hors service"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            section.screenshot(path=str(shots / f"terminal-availability{suffix}.png"))
            context.close()
        browser.close()
