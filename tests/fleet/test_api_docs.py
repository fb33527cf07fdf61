"""``/docs``: the API's OpenAPI description in Swagger UI, every file served by the fleet."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_page_loads_only_the_fleets_own_files(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert sources, page.text
    for source in sources:
        assert source.startswith("/"), f"/docs loads {source} from elsewhere"
        assert client.get(source).status_code == 200, source
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text


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
