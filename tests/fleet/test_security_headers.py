"""The browser's defences on every answer: CSP without inline code, no framing, nosniff,
Referrer-Policy, Permissions-Policy, HSTS over TLS."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleet.api.security_headers import CONTENT_SECURITY_POLICY, DENIED_FEATURES
from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import log_in

from .conftest import make_settings, prepare_database
from .pages import fill, get_paths

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
}


def check_headers(path: str, headers: Mapping[str, str]) -> None:
    csp = headers.get("content-security-policy", "")
    assert csp == CONTENT_SECURITY_POLICY, path
    directives = dict(part.strip().partition(" ")[::2] for part in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'", path
    assert directives["default-src"] == "'none'", path
    assert "'unsafe-inline'" not in csp, path
    assert "'unsafe-eval'" not in csp, path
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (path, name)
    permissions = headers.get("permissions-policy", "")
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions, (path, feature)


def test_every_page_and_answer_carries_every_header(settings: FleetSettings) -> None:
    fleet = fill(settings)
    app = create_app(settings, start_ingest=False)
    with TestClient(app) as client:
        anonymous = ["/login", "/static/fleet.css", "/static/dashboard.js", "/no/such/page"]
        for path in anonymous:
            check_headers(path, client.get(path, follow_redirects=False).headers)
        assert log_in(client).status_code == 303
        paths = get_paths(fleet)
        assert len(paths) >= 20, paths
        for path in paths:
            response = client.get(path, follow_redirects=False)
            assert response.status_code < 500, path
            check_headers(path, response.headers)
        # Errors, redirects and form answers too.
        check_headers("404", client.get(f"/terminals/{fleet.terminal_id}-nope").headers)
        check_headers("POST /logout", client.post("/logout", follow_redirects=False).headers)
        check_headers("API 401", TestClient(app).get("/api/v1/terminals").headers)


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style>")
        if "style" in names:
            self.found.append(f"style= on <{tag}>")
        self.found += [f"{name}= on <{tag}>" for name in names if name.startswith("on")]
        if tag == "a" and any((v or "").startswith("javascript:") for _n, v in attrs):
            self.found.append("javascript: link")


def test_no_page_holds_inline_script_or_style(settings: FleetSettings) -> None:
    fleet = fill(settings)
    app = create_app(settings, start_ingest=False)
    with TestClient(app) as client:
        pages = {"/login": client.get("/login").text}
        log_in(client)
        for path in get_paths(fleet):
            response = client.get(path)
            if response.headers.get("content-type", "").startswith("text/html"):
                pages[path] = response.text
        pages["/account/second-factor"] = client.get("/account/second-factor").text
    assert len(pages) >= 15
    for path, html in pages.items():
        parser = InlineCode()
        parser.feed(html)
        assert parser.found == [], path


def test_hsts_only_over_tls(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cookie_secure=True)
    prepare_database(settings)
    app = create_app(settings, start_ingest=False)
    with TestClient(app, base_url="https://fleet.example") as tls:
        assert tls.get("/login").headers["strict-transport-security"] == "max-age=31536000"
    with TestClient(app) as plain:
        assert "strict-transport-security" not in plain.get("/login").headers
        # A client cannot claim TLS for itself: no proxy is trusted by default.
        claimed = plain.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in claimed.headers


def test_a_trusted_tls_proxy_turns_hsts_on(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies="10.0.0.0/24, 127.0.0.1")
    prepare_database(settings)
    app = create_app(settings, start_ingest=False)
    with TestClient(app, client=("10.0.0.5", 443)) as proxied:
        answer = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" in answer.headers


def test_every_denied_feature_is_in_the_policy() -> None:
    assert len(DENIED_FEATURES) == len(set(DENIED_FEATURES))
    assert all(re.fullmatch(r"[a-z-]+", feature) for feature in DENIED_FEATURES)


@pytest.mark.parametrize("proxies", ["not-an-address", "10.0.0.0/33"])
def test_a_wrong_proxy_setting_is_refused_at_startup(tmp_path: Path, proxies: str) -> None:
    with pytest.raises(ValueError, match="does not appear to be"):
        make_settings(tmp_path, trusted_proxies=proxies)
