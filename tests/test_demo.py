"""``make demo`` as a newcomer sees it, on a machine without a display.

One stack as ``fleet.demo.main`` builds it (the real kiosk on a virtual screen, UI stand-ins with
simulated residents, terminals placed, no clock state where the clock is not synchronised),
residents in a hurry: every terminal is online and not degraded, placed, the stand-ins' sessions
are in the observatory export; and the printed kiosk address shows the real kiosk in Chromium,
where a click on a tile opens it (the kiosk tells its agent, which tells the fleet).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from fleet.core.db import make_engine, make_session_factory
from fleet.demo import (
    ADMIN_USERNAME,
    DEMO_PLACES,
    DEMO_TERMINALS,
    DemoStack,
    Pace,
    check_demo,
)
from fleet.demo_screen import missing_programs
from fleet.models import EventRecord
from tests.helpers import launch_chromium, wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.broker,
    # Beside another worker its simulated residents end no session in 90 s (seen under
    # pytest-xdist, alone it takes 26 s): it runs after the parallel run.
    pytest.mark.serial,
    pytest.mark.skipif(
        bool(missing_programs()),
        reason=f"the demo's virtual screen needs Debian's {' '.join(missing_programs())}",
    ),
]

ROOT = Path(__file__).resolve().parents[1]
TILE = "caf"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    demo = DemoStack(
        tmp_path / "demo",
        keepalive_s=5,
        health_interval_s=1.0,
        kiosk_mode="screen",
        resident_pace=Pace(between_s=1.0, visit_s=1.5),
        place_terminals=True,
    )
    try:
        demo.start()
        yield demo
    finally:
        demo.stop()


def tile_centre(tile_id: str) -> dict[str, float]:
    """Where ``tile_id`` is in the kiosk's window, from the same QML laid out offscreen."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.locate_tile", tile_id],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    position: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return position


def kiosk_sessions_started(stack: DemoStack) -> list[str]:
    engine = make_engine(stack.database_url)
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(
                select(EventRecord).where(
                    EventRecord.terminal_id == stack.kiosk_terminal,
                    EventRecord.kind == "session_started",
                )
            ).all()
            return [str((row.data or {}).get("tile")) for row in rows]
    finally:
        engine.dispose()


def test_the_demo_is_healthy_with_data_and_its_kiosk_is_touchable_in_a_browser(
    stack: DemoStack, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert stack.terminals == DEMO_TERMINALS
    assert set(DEMO_PLACES) == set(DEMO_TERMINALS)
    assert stack.kiosk_url is not None
    assert re.match(r"^http://127\.0\.0\.1:\d+/vnc_lite\.html\?", stack.kiosk_url)
    position = tile_centre(TILE)

    problems: list[str] = []

    def healthy() -> bool:
        problems[:] = check_demo(stack).problems(tuple(stack.uis))
        return not problems

    deadline = time.monotonic() + 90
    while not healthy():
        assert time.monotonic() < deadline, f"after 90 s the demo is not healthy: {problems}"
        time.sleep(0.5)
    result = check_demo(stack)
    # The kiosk's terminal: a live UI (online, not "UI not responding"), no session yet.
    assert result.states[stack.kiosk_terminal] == "online"
    assert kiosk_sessions_started(stack) == []

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        # The dashboard as the tour in the README describes it: all online, all on the plan.
        board = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        board.goto(stack.dashboard_url)
        board.fill("#username", ADMIN_USERNAME)
        board.fill("#password", stack.admin_password)
        board.press("#password", "Enter")
        online = board.locator("#terminal-rows tr[data-state='online']")
        expect(online).to_have_count(len(DEMO_TERMINALS), timeout=15_000)
        for terminal_id in DEMO_TERMINALS:
            expect(board.locator(f"#plan-{terminal_id}")).to_have_attribute("data-state", "online")
        board.screenshot(path=str(shots / "demo-dashboard.png"), full_page=True)
        board.close()

        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(stack.kiosk_url)
        expect(page.locator("#status")).to_contain_text("Connected", timeout=20_000)
        canvas = page.locator("#screen canvas")
        expect(canvas).to_be_visible()
        # The home screen drawn: the canvas is not one flat colour any more.
        wait_until(
            lambda: len(set(canvas.screenshot()[::97])) > 50,
            timeout_s=30,
            what="the kiosk's home screen on the virtual screen",
        )
        page.screenshot(path=str(shots / "demo-kiosk-browser.png"))
        box = canvas.bounding_box()
        assert box is not None
        x = box["x"] + position["x"] * box["width"] / position["width"]
        y = box["y"] + position["y"] * box["height"] / position["height"]
        page.mouse.click(x, y)
        wait_until(
            lambda: TILE in kiosk_sessions_started(stack),
            timeout_s=20,
            what=f"the {TILE} tile opened on the real kiosk by a click in the browser",
        )
        browser.close()
    # Only this machine can reach the virtual screen: VNC and noVNC listen on loopback alone.
    assert stack.screen is not None
    ports = {stack.screen.vnc_port, stack.screen.web_port}
    listening = [
        c.laddr for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
    ]
    ours = [address for address in listening if address.port in ports]
    assert {address.port for address in ours} == ports
    assert all(ipaddress.ip_address(address.ip).is_loopback for address in ours), ours
