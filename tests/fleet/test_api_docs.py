"""``/docs``: the API's OpenAPI description in Swagger UI, every file served by the fleet."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import launch_chromium, served


def test_docs_page_loads_only_the_fleets_own_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert sources, page.text
    for source in sources:
        assert source.startswith("/"), f"/docs loads {source} from elsewhere"
        assert client.get(source).status_code == 200, source
    assert 'data-openapi-url="/openapi.json"' in page.text


def test_openapi_lists_the_main_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in (
        "/api/v1/terminals",
        "/api/v1/terminals/{terminal_id}/commands",
        "/api/v1/observatory",
        "/api/v1/rollouts",
        "/api/v1/enrol",
        "/healthz",
    ):
        assert route in paths, route


@pytest.mark.e2e
def test_docs_page_draws_the_api_in_chromium_within_the_policy(settings: FleetSettings) -> None:
    """Swagger UI starts under the dashboard's CSP (no inline script) and lists the routes."""
    from playwright.sync_api import sync_playwright

    with (
        served(create_app(settings, start_ingest=False)) as url,
        sync_playwright() as playwright,
    ):
        browser = launch_chromium(playwright)
        page = browser.new_page()
        violations: list[str] = []
        page.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if "Content Security Policy" in message.text and "script" in message.text
                else None
            ),
        )
        page.goto(url + "/docs")
        page.get_by_text("/api/v1/terminals", exact=True).first.wait_for(timeout=20_000)
        browser.close()
    assert violations == []
