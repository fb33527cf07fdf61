"""See the terminal, end to end: the dashboard's buttons, the fleet, a test Mosquitto, a real
``kiosk-agent`` process (simulated actions: its journal is its own log records) and a UI on its
local socket that answers as the kiosk does (a PNG on the home screen, a refusal in a session).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fleet.demo import ADMIN_USERNAME, DemoStack
from kiosk.agentlink import AgentLink
from kiosk.contract.local import (
    SCREENSHOT_PART_CHARS,
    AgentMessage,
    ScreenshotPart,
    ScreenshotRequest,
)
from tests.helpers import csrf_token_of, launch_chromium, log_in, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

TERMINAL = "bdx-see-001"
PAGE = f"/terminals/{TERMINAL}"


def a_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (4).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes([0, 10, 80, 160, 240])))
        + chunk(b"IEND", b"")
    )


class KioskStandIn:
    """The kiosk UI's part of the local protocol for this feature, session open or not."""

    def __init__(self, socket_path: Path, png: bytes) -> None:
        self.png = png
        self.session_open = False
        self.requests = 0
        self._lock = threading.Lock()
        self.link = AgentLink(socket_path, ui_version="0.1.0", on_message=self.on_message)

    def on_message(self, message: AgentMessage) -> None:
        if not isinstance(message, ScreenshotRequest):
            return
        with self._lock:
            self.requests += 1
            busy = self.session_open
        if busy:
            self.link.send(ScreenshotPart(request_id=message.request_id, refused="session_open"))
            return
        data = base64.b64encode(self.png).decode()
        parts = [
            data[start : start + SCREENSHOT_PART_CHARS]
            for start in range(0, len(data), SCREENSHOT_PART_CHARS)
        ]
        for index, part in enumerate(parts):
            self.link.send(
                ScreenshotPart(
                    request_id=message.request_id, index=index, count=len(parts), data=part
                )
            )


@pytest.fixture
def stack() -> Iterator[DemoStack]:
    # A short folder: the agent's Unix socket path must fit in 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="see-"))
    demo = DemoStack(
        folder / "demo", terminals=(TERMINAL,), keepalive_s=5, health_interval_s=1, residents=False
    )
    try:
        demo.start()
        yield demo
    finally:
        demo.stop()
        shutil.rmtree(folder, ignore_errors=True)


def ask(client: httpx.Client, name: str) -> None:
    token = csrf_token_of(client.get(PAGE).text)
    response = client.post(f"{PAGE}/see", data={"name": name, "csrf_token": token})
    assert response.status_code == 303, response.text


def panel(client: httpx.Client, kind: str) -> str:
    page = client.get(PAGE).text
    found = re.search(
        rf'<div class="see-part" id="see-{kind}-result">(.*?)</div>\s*(?:<div|</section)',
        page,
        re.S,
    )
    assert found is not None
    return found.group(1)


def test_logs_screen_and_refusal_through_the_broker(stack: DemoStack) -> None:
    png = a_png()
    ui = KioskStandIn(stack.agent_socket(TERMINAL), png)
    ui.link.start()
    try:
        wait_until(lambda: ui.link.connected, 20, "the UI stand-in to reach the agent")
        ui.link.heartbeat(session_open=False)
        with httpx.Client(base_url=stack.dashboard_url, timeout=5) as client:
            assert log_in(client, ADMIN_USERNAME, stack.admin_password).status_code == 303
            wait_until(
                lambda: 'data-state="online"' in client.get(PAGE).text, 20, "the terminal online"
            )
            # 1. Its last log lines.
            ask(client, "logs")
            wait_until(lambda: 'id="see-logs"' in client.get(PAGE).text, 30, "the log lines")
            logs = panel(client, "logs")
            assert "Reçu le " in logs
            assert f"terminal {TERMINAL}" in logs  # the agent's own lines
            assert "://" not in logs
            assert "paho" not in logs
            # 2. A picture of the home screen.
            ui.link.heartbeat(session_open=False)
            ask(client, "screenshot")
            wait_until(
                lambda: 'id="see-screen-picture"' in client.get(PAGE).text, 30, "the picture"
            )
            source = re.search(r'id="see-screen-picture" src="([^"]+)"', client.get(PAGE).text)
            assert source is not None
            picture = client.get(source.group(1))
            assert picture.status_code == 200
            assert picture.content == png
            # 3. A resident comes: refused, and the dashboard says so in French.
            with ui._lock:
                ui.session_open = True
            ui.link.heartbeat(session_open=True)
            asked_before = ui.requests
            ask(client, "screenshot")
            wait_until(
                lambda: "Refusé : une personne utilise la borne" in panel(client, "screenshot"),
                30,
                "the refusal",
            )
            # The agent refused it itself (it knows the session from the heartbeat): the UI
            # was not even asked.
            assert ui.requests == asked_before
    finally:
        ui.link.stop()


#: What the real kiosk's grab gave on its home screen (tests/ui/test_screen_picture.py).
HOME_PICTURE = Path(__file__).parent.parent / "docs" / "screenshots" / "kiosk-screen-command.png"


def test_the_panel_in_chromium_at_both_widths(stack: DemoStack, tmp_path: Path) -> None:
    """The panel with a picture and log lines, in Chromium at 1280 and 390 px: nothing scrolls
    sideways; screenshots in KIOSK_SCREENSHOT_DIR when set."""
    from playwright.sync_api import expect, sync_playwright

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    ui = KioskStandIn(stack.agent_socket(TERMINAL), HOME_PICTURE.read_bytes())
    ui.link.start()
    try:
        wait_until(lambda: ui.link.connected, 20, "the UI stand-in to reach the agent")
        ui.link.heartbeat(session_open=False)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
            page.goto(stack.dashboard_url)
            page.fill("#username", ADMIN_USERNAME)
            page.fill("#password", stack.admin_password)
            page.press("#password", "Enter")
            page.goto(f"{stack.dashboard_url}terminals/{TERMINAL}")
            expect(page.locator("#terminal")).to_have_attribute(
                "data-state", "online", timeout=20_000
            )
            # Each button posts its form: the page it leads to is waited for, or the next click
            # or reload lands on the page being left.
            for button in ("#see-ask-logs", "#see-ask-screenshot"):
                with page.expect_navigation():
                    page.click(button)

            def answered() -> bool:
                page.reload()
                logs = int(page.locator("#see-logs").count())
                return logs == 1 and int(page.locator("#see-screen-picture").count()) == 1

            wait_until(answered, 30, "both answers on the page")
            expect(page.locator("#see-screen-picture")).to_be_visible()
            natural = page.eval_on_selector("#see-screen-picture", "img => img.naturalWidth")
            assert natural == 800
            page.locator("#see-terminal").screenshot(path=str(shots / "dashboard-see-terminal.png"))
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="fr-FR")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{stack.dashboard_url}terminals/{TERMINAL}")
            expect(phone.locator("#see-screen-picture")).to_be_visible()
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the phone page scrolls sideways ({width} px)"
            phone.locator("#see-terminal").screenshot(
                path=str(shots / "dashboard-see-terminal-phone.png")
            )
            # A resident comes: the next request is refused, said in French on the page (the
            # previous picture stays, with its time).
            with ui._lock:
                ui.session_open = True
            ui.link.heartbeat(session_open=True)
            with page.expect_navigation():
                page.click("#see-ask-screenshot")

            def refused() -> bool:
                page.reload()
                return (
                    "Refusé : une personne utilise la borne"
                    in page.locator("#see-screenshot-result").inner_text()
                )

            wait_until(refused, 30, "the refusal on the page")
            expect(page.locator("#see-screenshot-result")).to_contain_text("Réponse précédente")
            page.locator("#see-screenshot-result").screenshot(
                path=str(shots / "dashboard-see-terminal-refused.png")
            )
            browser.close()
    finally:
        ui.link.stop()
