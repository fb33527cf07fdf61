"""axe-core on every HTML page of the dashboard in Chromium, at 1280 and 390 px: zero violations.

The pages are every GET route of the app (``pages.get_paths``, so a new page is checked without
being listed here), the login page and the API's reference, with something on each: a lost
terminal with an open "down" alert, a degraded one, alerts of every kind and state, a rollout,
an enrolment code and an API token, seen by an administrator. Answers that are not pages
(JSON, CSV, Prometheus text, fragments inserted into a page) are named in :data:`NOT_PAGES`
with their reason, and the test fails if one of them turns out to be a page or a page stops
being one. axe-core comes from the npm registry, pinned by ``tests/axe/package-lock.json``
(``make pytest`` installs it). Every impact level fails the test.

With ``KIOSK_SCREENSHOT_DIR`` set (``make screenshots``), every page is also saved there at both
widths as ``dashboard-<page>.png`` and ``dashboard-<page>-phone.png``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest

from fleet import crud, enrolment, second_factor
from fleet.alerts.rules import ALERT_KINDS
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import Alert, Terminal
from kiosk.contract.mqtt import Channel, topic_for
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

from .conftest import health_payload, status_payload
from .pages import Fleet, fill, get_paths
from .test_command_web import store

pytestmark = pytest.mark.e2e

AXE_JS: Final = Path(__file__).parents[1] / "axe" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS: Final = ((1280, 900, ""), (390, 844, "-phone"))
HEALTHY: Final = "bdx-page-002"
GUARDED_USERNAME: Final = "camille"
#: Each alert's summary as fleet.alerts.rules writes it.
SUMMARIES: Final = {
    "down": "lost (connection lost) for 4 min",
    "flapping": "6 presence changes in the last 10 min (now online)",
    "disk_full": "disk 96 % used (limit 90 %)",
    "temperature": "78.5 °C, outside -10 to 70 °C",
    "ui_not_responding": "the UI sends no heartbeat to the agent",
    "ui_crash_loop": "the UI crashed 3 times in 10 min",
    "wipe_failed": "the self-check after the last privacy wipe failed",
    "door_open": "enclosure door open outside a maintenance window",
    "content_failed": "the last content update failed",
}

#: GET routes that are not pages a person opens, each with why axe does not look at it.
NOT_PAGES: Final = {
    r"/api/v1/.*": "the REST API: JSON (or CSV) for programs, documented at /docs",
    r"/healthz": "a JSON probe for load balancers",
    r"/metrics": "Prometheus text for a scraper",
    r"/partials/terminals": "the overview's rows, swapped into the overview (checked there)",
    r"/login/sso(/callback)?": "redirects to the identity provider (none configured: 404)",
    r"/availability\.csv": "a CSV download of daily availability",
    r"/terminals/[^/]+/screen/[^/]+\.png": "a terminal's screen (PNG), shown inside its page",
    r"/observatoire/donnees/.+": "the observatory's published files (CSV, datapackage.json)",
    r"/observatoire/graphiques/.+": "SVG charts, drawn inside /observatoire (checked there)",
    r"/opendata/observatoire(/.+)?": "the open data: their index (JSON) and files (CSV, JSON)",
    r"/plan/communes\.svg": "the communes' outlines, drawn inside the plan (checked there)",
}
#: Pages another browser test draws in a richer state (``make screenshots`` runs it too).
DRAWN_ELSEWHERE: Final = {
    "enrolment": "test_dashboard_browser: a new code, large, its command and QR code",
}
#: Rules left out on a page, each with its reason: only Swagger UI's page structure on /docs
#: (its React components put the API's title outside its own <main>, and its operations under
#: h3 after an h2 title or none); its colours that fell short are darkened by api-docs.css.
RULES_OFF: Final = {"/docs": ("region", "heading-order")}
#: Pages seen only before logging in.
ANONYMOUS_PAGES: Final = ("/login",)
#: Addresses a person may type or keep that lead nowhere: a page saying so, not bare JSON.
ERROR_PAGES: Final = ("/terminals", "/terminals/bdx-nowhere-001")
#: Pages outside the routers: the API's reference (Swagger UI, served by fleet.main).
EXTRA_PAGES: Final = ("/docs",)


def is_page(path: str) -> bool:
    bare = path.partition("?")[0]
    return not any(re.fullmatch(pattern, bare) for pattern in NOT_PAGES)


def page_name(path: str, fleet: Fleet) -> str:
    """``/`` is the overview, ``/terminals/<id>`` the terminal page, ``/a/b`` is ``a-b``."""
    named = {
        "/": "overview",
        f"/terminals/{fleet.terminal_id}": "terminal",
        f"/terminals/{fleet.terminal_id}/rollout": "terminal-rollout",
        f"/rollouts/{fleet.rollout_id}": "rollout",
    }
    return named.get(path, path.strip("/").replace("/", "-"))


def fill_with_a_lost_terminal(settings: FleetSettings) -> Fleet:
    """``pages.fill``, then its terminal lost, a healthy one placed, alerts and a code."""
    fleet = fill(settings)
    now = crud.utc_now()
    store(settings, topic_for(HEALTHY, Channel.STATUS), status_payload(at=now), now)
    store(settings, topic_for(HEALTHY, Channel.HEALTH), health_payload(at=now, cpu=95.0), now)
    # The lost terminal was online for half an hour, reporting its health, until 4 min ago.
    came_at = now - timedelta(minutes=34)
    online = status_payload("online", at=came_at, birth_seq=2)
    store(settings, topic_for(fleet.terminal_id, Channel.STATUS), online, came_at)
    for seq in range(1, 7):
        at = came_at + timedelta(minutes=5 * seq)
        health = health_payload(seq=seq, at=at, cpu=20.0 + 10 * seq)
        store(settings, topic_for(fleet.terminal_id, Channel.HEALTH), health, at)
    lost_at = now - timedelta(minutes=4)
    store(
        settings,
        topic_for(fleet.terminal_id, Channel.STATUS),
        status_payload("lost", at=lost_at, birth_seq=2),
        lost_at,
    )
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        healthy = session.get(Terminal, HEALTHY)
        assert healthy is not None
        healthy.site_name, healthy.commune = "Hôtel de ville", "Mérignac"
        healthy.latitude, healthy.longitude = 44.8386, -0.6436
        lost = session.get(Terminal, fleet.terminal_id)
        assert lost is not None
        assert lost.state == "lost"
        lost.site_name, lost.commune = "Place de la Victoire", "Bordeaux"
        lost.latitude, lost.longitude = 44.8310, -0.5730
        for number, kind in enumerate(ALERT_KINDS):
            state = ("open", "acknowledged", "resolved")[number % 3] if kind != "down" else "open"
            terminal_id = fleet.terminal_id if kind == "down" else HEALTHY
            opened = now - timedelta(minutes=3 + 7 * number)
            session.add(
                Alert(
                    terminal_id=terminal_id,
                    kind=kind,
                    state=state,
                    active_key=None if state == "resolved" else f"{terminal_id}:{kind}",
                    opened_at=opened,
                    acknowledged_at=now if state == "acknowledged" else None,
                    acknowledged_by=ADMIN_USERNAME if state == "acknowledged" else None,
                    resolved_at=now if state == "resolved" else None,
                    summary=SUMMARIES.get(kind, kind),
                    last_notified_state=state,
                )
            )
        enrolment.create_code(
            session, "Mairie de Pessac", "Pessac", None, None, ADMIN_USERNAME, now
        )
        crud.create_api_token(session, "supervision", "viewer", ADMIN_USERNAME, now)
        # Someone whose login asks for a second factor: the page between the two steps.
        guarded = crud.create_user(session, GUARDED_USERNAME, ADMIN_PASSWORD, "viewer")
        second_factor.enable(session, guarded, second_factor.new_secret(), 0, now)
        session.commit()
    engine.dispose()
    return fleet


def violations(page: Any, rules_off: tuple[str, ...] = ()) -> list[str]:
    """axe-core's every rule on the open page (but ``rules_off``), each violation as rule,
    impact, target and help."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found = page.evaluate(
        """async (off) => {
          const rules = Object.fromEntries(off.map((id) => [id, {enabled: false}]));
          const results = await axe.run(document, {resultTypes: ["violations"], rules});
          return results.violations.flatMap((rule) => rule.nodes.map((node) =>
            `${rule.id} (${rule.impact}) ${node.target.join(" ")}: ${rule.help}`
            + ` ${node.failureSummary.replace(/\\s+/g, " ")}`));
        }""",
        list(rules_off),
    )
    return [str(line) for line in found]


def assert_states_differ_beyond_colour(page: Any) -> None:
    """On the plan and in its legend, the lost and online marks differ in shape, not only in
    colour (a dashed outline for the lost one)."""
    for selector in (".plan-dot.state-{}", ".legend-dot.state-{}"):
        online = page.locator(selector.format("online")).first.evaluate(
            "(e) => getComputedStyle(e).strokeDasharray + getComputedStyle(e).backgroundImage"
        )
        lost = page.locator(selector.format("lost")).first.evaluate(
            "(e) => getComputedStyle(e).strokeDasharray + getComputedStyle(e).backgroundImage"
        )
        assert online != lost, (selector, online)


# One width per test, each well inside the default timeout on a loaded machine.
@pytest.mark.parametrize(("width", "height", "suffix"), WIDTHS, ids=("1280px", "390px"))
def test_every_page_passes_axe(
    settings: FleetSettings, width: int, height: int, suffix: str
) -> None:
    from playwright.sync_api import sync_playwright

    if not AXE_JS.is_file():
        pytest.fail(f"{AXE_JS} is missing: run `make axe-core` (npm ci in tests/axe)")
    shots_env = os.environ.get("KIOSK_SCREENSHOT_DIR")
    shots = Path(shots_env) if shots_env else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    fleet = fill_with_a_lost_terminal(settings)
    every_path = get_paths(fleet)
    pages = [
        path for path in every_path if is_page(path) and not path.startswith(ANONYMOUS_PAGES)
    ] + list(EXTRA_PAGES)
    assert len(pages) >= 12, pages
    found: dict[str, list[str]] = {}
    with (
        served(create_app(settings, start_ingest=False)) as url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": height})
        page = context.new_page()
        for path in ANONYMOUS_PAGES:
            page.goto(url + path)
            found[f"{path} at {width} px"] = violations(page)
            if shots is not None:
                name = path.strip("/")
                page.screenshot(path=str(shots / f"dashboard-{name}{suffix}.png"), full_page=True)
        # The second step of a login with a second factor.
        page.fill("#username", GUARDED_USERNAME)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/login/second-factor")
        found[f"/login/second-factor at {width} px"] = violations(page)
        if shots is not None:
            shot = shots / f"dashboard-login-second-factor{suffix}.png"
            page.screenshot(path=str(shot), full_page=True)
        context.clear_cookies()
        page.goto(url + "/login")
        page.fill("#username", ADMIN_USERNAME)
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/")
        for path in every_path:
            if is_page(path):
                continue
            # What is exempt must not be a page: a new page under one of these paths
            # would otherwise escape the check.
            answer = context.request.get(url + path, max_redirects=0)
            kind = answer.headers.get("content-type", "")
            assert not (answer.ok and kind.startswith("text/html") and "<html" in answer.text()), (
                path
            )
        for path in pages:
            response = page.goto(url + path)
            assert response is not None, path
            assert response.ok, path
            assert response.headers["content-type"].startswith("text/html"), path
            if path == "/docs":
                page.locator(".swagger-ui .opblock").first.wait_for(timeout=20_000)
            found[f"{path} at {width} px"] = violations(page, RULES_OFF.get(path, ()))
            if path == "/":
                assert_states_differ_beyond_colour(page)
            name = page_name(path, fleet)
            if shots is not None and name not in DRAWN_ELSEWHERE:
                page.screenshot(path=str(shots / f"dashboard-{name}{suffix}.png"), full_page=True)
        for path in ERROR_PAGES:
            response = page.goto(url + path)
            assert response is not None, path
            assert response.status == 404, path
            assert response.headers["content-type"].startswith("text/html"), path
            found[f"{path} at {width} px"] = violations(page)
            if shots is not None and path == ERROR_PAGES[0]:
                page.screenshot(
                    path=str(shots / f"dashboard-not-found{suffix}.png"), full_page=True
                )
        browser.close()
    report = "\n".join(
        f"{where}:\n  " + "\n  ".join(lines) for where, lines in found.items() if lines
    )
    assert not report, "axe-core violations\n" + report


def test_a_browser_lost_on_a_wrong_address_gets_a_page_and_a_program_json(
    settings: FleetSettings,
) -> None:
    """``/terminals`` (the list is the overview, a terminal is ``/terminals/<id>``) showed a
    browser bare JSON: a page without title or language. A program still gets the JSON."""
    from fastapi.testclient import TestClient

    from tests.helpers import log_in

    browser_accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    with TestClient(create_app(settings, start_ingest=False)) as client:
        log_in(client)
        for path in ERROR_PAGES:
            page = client.get(path, headers=browser_accept)
            assert page.status_code == 404
            assert page.headers["content-type"].startswith("text/html")
            assert '<html lang="fr">' in page.text
            assert "<title>Page introuvable · " in page.text
            assert '<a href="/">' in page.text
            answer = client.get(path)
            assert answer.status_code == 404
            assert answer.json()["error"] == "not_found"
        # The terminal page's own reason, in French.
        assert "Borne inconnue." in client.get(ERROR_PAGES[1], headers=browser_accept).text
        # The API stays JSON whatever the client accepts.
        api = client.get("/api/v1/terminals/bdx-nowhere-001/commands", headers=browser_accept)
        assert api.status_code == 404
        assert api.json()["error"] == "not_found"
