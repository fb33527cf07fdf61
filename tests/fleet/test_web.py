"""Dashboard pages and API through the app, on a real SQLite file, without MQTT."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.handler import handle_message
from kiosk.contract.mqtt import Channel, topic_for
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, csrf_token_of, log_in

from .conftest import health_payload, later, status_payload


def store(settings: FleetSettings, topic: str, payload: bytes) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        handle_message(session, topic, payload, later(1))
    engine.dispose()


def test_dashboard_redirects_to_login_when_logged_out(client: TestClient) -> None:
    for path in ("/", "/partials/terminals"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"
    assert client.get("/api/v1/terminals").status_code == 401


def test_login_page_is_french_with_a_csrf_token(client: TestClient) -> None:
    page = client.get("/login")

    assert page.status_code == 200
    assert "Se connecter" in page.text
    assert csrf_token_of(page.text)
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_wrong_password_is_refused_with_a_generic_message(client: TestClient) -> None:
    response = log_in(client, password="not the password")

    assert response.status_code == 401
    assert "Identifiant ou mot de passe incorrect" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_unknown_user_gets_the_same_message(client: TestClient) -> None:
    response = log_in(client, username="nobody")

    assert "Identifiant ou mot de passe incorrect" in response.text


def test_right_password_opens_the_dashboard(client: TestClient) -> None:
    response = log_in(client)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Aucune borne ne s'est encore signalée." in page.text
    assert ADMIN_USERNAME in page.text


def test_login_without_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    for data in (
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD, "csrf_token": "forged"},
    ):
        response = client.post("/login", data=data, follow_redirects=False)
        assert response.status_code == 400
        assert "Ce formulaire a expiré" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_logout_needs_the_token_and_ends_the_session(client: TestClient) -> None:
    log_in(client)
    token = csrf_token_of(client.get("/").text)

    assert client.post("/logout", data={}, follow_redirects=False).status_code == 400
    assert client.get("/", follow_redirects=False).status_code == 200

    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303


def test_dashboard_shows_terminals_with_state_and_figures(
    client: TestClient, settings: FleetSettings
) -> None:
    store(settings, topic_for("bdx-test-a", Channel.STATUS), status_payload("online"))
    store(settings, topic_for("bdx-test-a", Channel.HEALTH), health_payload())
    store(settings, topic_for("bdx-test-b", Channel.STATUS), status_payload("lost"))
    store(settings, "kiosk/v1/bdx-test-b/health", b"garbage")
    log_in(client)

    for path in ("/", "/partials/terminals"):
        page = client.get(path).text
        assert '<tr id="terminal-bdx-test-a" data-state="online">' in page
        assert '<tr id="terminal-bdx-test-b" data-state="lost">' in page
        assert "en ligne" in page
        assert "perdu" in page
        assert "12 %" in page  # CPU 12.5, rounded half to even
        assert "72 %" in page  # the fullest disk
        assert "48 °C" in page
        assert 'id="rejected-count">1<' in page
        assert 'id="count-online">1<' in page


def test_language_switch_is_remembered(client: TestClient) -> None:
    assert "Log in" in client.get("/login?lang=en").text
    assert "Wrong username or password" in log_in(client, password="nope").text
    log_in(client)
    assert "No terminal has reported yet." in client.get("/").text
    assert "Se déconnecter" in client.get("/?lang=fr").text


def test_api_lists_terminals_as_json(client: TestClient, settings: FleetSettings) -> None:
    store(settings, topic_for("bdx-test-a", Channel.HEALTH), health_payload())
    log_in(client)

    terminals = client.get("/api/v1/terminals").json()

    assert [t["id"] for t in terminals] == ["bdx-test-a"]
    assert terminals[0]["state"] == "unknown"
    assert terminals[0]["temperature_c"] == 48.0


def test_healthz_needs_no_login(client: TestClient) -> None:
    body = client.get("/healthz").json()

    assert body["database"] == "ok"
    assert body["broker"] == "disabled"
    assert body["status"] == "ok"


def test_static_files_are_served_locally(client: TestClient) -> None:
    page = client.get("/login").text

    assert "http://" not in page
    assert "https://" not in page
    assert client.get("/static/fleet.css").status_code == 200
    assert client.get("/static/dashboard.js").status_code == 200
