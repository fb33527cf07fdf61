"""Single sign-on end to end: a real OpenID provider (the certified `oidc-provider` package on
Node.js, over HTTPS with its own CA), the fleet under uvicorn, a person in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleet import audit
from fleet.broker import free_port
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from fleet.models import User, WebSession
from tests.agent.broker_control import make_tls_files
from tests.helpers import launch_chromium, served

from .conftest import make_settings, prepare_database

pytestmark = pytest.mark.e2e

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENT_ID = "fleet-dashboard"
CLIENT_SECRET = "a-client-secret-for-tests-only"
ACCOUNTS = {
    "alice": {"groups": ["staff", "fleet-operators"]},
    "carol": {"groups": ["fleet-admins", "fleet-operators"]},
    "bob": {"groups": ["staff"]},
    "admin": {"groups": ["fleet-viewers"]},  # the fleet's local administrator has this name
}


@dataclass(frozen=True)
class Provider:
    issuer: str
    ca_file: Path


@dataclass(frozen=True)
class Fleet:
    url: str
    settings: FleetSettings


def _wait_listening(process: subprocess.Popen[str], timeout_s: float) -> None:
    ready = threading.Event()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if line.strip() == "listening":
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout_s):
        process.kill()
        pytest.fail(f"the OpenID provider did not start: {''.join(output)[-2000:]}")


@pytest.fixture
def fleet_port() -> int:
    return free_port()


@pytest.fixture
def provider(tmp_path: Path, fleet_port: int) -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "the test OpenID provider is not installed: run `make setup` "
            "(Node.js and npm from Debian, then `npm ci` in tests/oidc)"
        )
    tls = make_tls_files(tmp_path / "tls", "127.0.0.1")
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    config = {
        "issuer": issuer,
        "port": port,
        "cert_file": str(tls.cert_file),
        "key_file": str(tls.key_file),
        "client": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"http://127.0.0.1:{fleet_port}/login/sso/callback"],
        },
        "accounts": ACCOUNTS,
    }
    config_file = tmp_path / "provider.json"
    config_file.write_text(json.dumps(config))
    process = subprocess.Popen(
        [node, str(OIDC_DIR / "provider.mjs"), str(config_file)],
        cwd=OIDC_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_listening(process, timeout_s=30)
        yield Provider(issuer, tls.ca_file)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def fleet(tmp_path: Path, provider: Provider, fleet_port: int) -> Iterator[Fleet]:
    settings = make_settings(
        tmp_path,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_ca_file=provider.ca_file,
        oidc_scopes="openid profile groups",
        oidc_admin_groups="fleet-admins",
        oidc_operator_groups="fleet-operators, fleet-technicians",
        oidc_viewer_groups="fleet-viewers",
        oidc_button_label="Compte de la Métropole",
    )
    prepare_database(settings)
    with served(create_app(settings, start_ingest=False), port=fleet_port) as url:
        yield Fleet(url, settings)


def users(settings: FleetSettings) -> dict[str, User]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        found = {user.username: user for user in session.query(User)}
    engine.dispose()
    return found


def change_user(settings: FleetSettings, username: str, **values: Any) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        user = session.query(User).filter_by(username=username).one()
        for name, value in values.items():
            setattr(user, name, value)
        session.commit()
    engine.dispose()


def sign_on(browser: Any, fleet: Fleet, login: str) -> Any:
    """A new person clicks the single sign-on button and signs in at the provider."""
    context = browser.new_context(ignore_https_errors=True, locale="fr-FR")
    page = context.new_page()
    page.goto(fleet.url + "/login")
    page.click("#sso-login")
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.click("button[type=submit]")
    page.wait_for_url(f"{fleet.url}/**")
    return page


def test_single_sign_on_with_a_real_provider(fleet: Fleet) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        login = browser.new_context().new_page()
        login.goto(fleet.url + "/login")
        assert login.inner_text("#sso-login") == "Compte de la Métropole"

        alice = sign_on(browser, fleet, "alice")
        assert alice.url == fleet.url + "/"
        assert alice.inner_text("#my-account") == "alice"
        assert "/enrolment" in alice.content()  # an operator's menu
        alice.goto(fleet.url + "/account")
        assert "authentification unique" in alice.content() or "single sign-on" in alice.content()

        # Roles follow the provider's groups at every login.
        change_user(fleet.settings, "alice", role="viewer")
        assert sign_on(browser, fleet, "alice").url == fleet.url + "/"
        carol = sign_on(browser, fleet, "carol")
        assert carol.url == fleet.url + "/"
        found = users(fleet.settings)
        assert found["alice"].role == "operator"
        assert found["carol"].role == "admin"
        assert found["alice"].oidc_subject == f"{fleet.settings.oidc_issuer}|alice"
        assert found["alice"].password_hash == "!sso"

        # In none of the fleet's groups: not let in, and told why.
        bob = sign_on(browser, fleet, "bob")
        assert bob.url.startswith(fleet.url + "/login")
        assert "groupes" in bob.content() or "groups" in bob.content()
        # A local account of the same name is not taken over.
        taken = sign_on(browser, fleet, "admin")
        assert "/login" in taken.url
        assert users(fleet.settings)["admin"].oidc_subject is None
        # Disabled in the fleet: the provider's word is not enough.
        change_user(fleet.settings, "carol", disabled=True)
        assert "/login" in sign_on(browser, fleet, "carol").url
        browser.close()

    engine = make_engine(fleet.settings.database_url)
    with make_session_factory(engine)() as session:
        entries = [(e.username, e.action, e.detail) for e in audit.recent(session)]
        methods = {row.method for row in session.query(WebSession)}
    engine.dispose()
    assert ("alice", "login", "single sign-on") in entries
    assert ("bob", "sso_refused", "no_role") in entries
    assert ("admin", "sso_refused", "name_taken") in entries
    assert ("carol", "sso_refused", "disabled") in entries
    assert ("sso", "user_role_changed", "operator") in entries
    assert methods == {"sso"}


def test_a_forged_or_replayed_callback_opens_nothing(fleet: Fleet) -> None:
    with httpx.Client(base_url=fleet.url) as client:
        forged = client.get("/login/sso/callback", params={"code": "x", "state": "y"})
        assert forged.status_code == 400
        assert client.get("/", follow_redirects=False).status_code == 303

        # A real start, then a code that is not the provider's: the token request fails.
        start = client.get("/login/sso", follow_redirects=False)
        assert start.status_code == 302
        location = httpx.URL(start.headers["location"])
        assert location.params["code_challenge_method"] == "S256"
        assert location.params["nonce"]
        state = location.params["state"]
        wrong = client.get("/login/sso/callback", params={"code": "not-a-code", "state": state})
        assert wrong.status_code == 400
        assert client.get("/", follow_redirects=False).status_code == 303


def test_without_settings_there_is_no_single_sign_on(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    prepare_database(settings)
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings, start_ingest=False)) as client:
        assert 'id="sso-login"' not in client.get("/login").text
        assert client.get("/login/sso", follow_redirects=False).status_code == 404
