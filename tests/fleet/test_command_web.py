"""Commands through the API and the terminal page, on a real SQLite file, without MQTT."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from fleet import crud, rollouts
from fleet.api import formatting
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.i18n import gettext_for
from fleet.ingest.handler import handle_message
from fleet.models import CommandRecord
from kiosk.contract.mqtt import Channel, CommandAck, Health, Reason, topic_for
from tests.helpers import csrf_token_of, log_in

from .conftest import health_payload, later, status_payload

TERMINAL = "bdx-test-a"
PASSWORD = "a long enough password"
API = f"/api/v1/terminals/{TERMINAL}/commands"
PAGE = f"/terminals/{TERMINAL}"


def store(settings: FleetSettings, topic: str, payload: bytes, at: datetime | None = None) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        handle_message(session, topic, payload, at or later(1))
    engine.dispose()


def add_user(settings: FleetSettings, username: str, role: str) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        crud.create_user(session, username, PASSWORD, role)
        session.commit()
    engine.dispose()


@pytest.fixture
def terminal(settings: FleetSettings) -> str:
    store(settings, topic_for(TERMINAL, Channel.STATUS), status_payload("online"))
    return TERMINAL


def logged_in_as(client: TestClient, settings: FleetSettings, role: str) -> str:
    """Log in with ``role`` (a new user, or the fixture's admin); returns the CSRF token."""
    if role == "admin":
        assert log_in(client).status_code == 303
    else:
        add_user(settings, role, role)
        assert log_in(client, role, PASSWORD).status_code == 303
    return csrf_token_of(client.get("/").text)


def test_logged_out_api_is_401(client: TestClient, terminal: str) -> None:
    assert client.post(API, json={"name": "reboot"}).status_code == 401
    assert client.get(API).status_code == 401


def test_viewer_may_read_but_not_send(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    token = logged_in_as(client, settings, "viewer")

    response = client.post(API, json={"name": "reboot"}, headers={"X-CSRF-Token": token})

    assert response.status_code == 403
    assert client.get(API).json() == []


@pytest.mark.parametrize("header", [None, "forged"])
def test_sending_needs_the_session_csrf_token_in_a_header(
    client: TestClient, settings: FleetSettings, terminal: str, header: str | None
) -> None:
    logged_in_as(client, settings, "operator")
    headers = {} if header is None else {"X-CSRF-Token": header}

    response = client.post(API, json={"name": "reboot"}, headers=headers)

    assert response.status_code == 403
    assert "X-CSRF-Token" in response.json()["detail"]
    assert client.get(API).json() == []


def test_operator_sends_a_command_and_lists_it(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    token = logged_in_as(client, settings, "operator")

    response = client.post(
        API,
        json={"name": "set_settings", "args": {"volume": 60}, "ttl_s": 120},
        headers={"X-CSRF-Token": token},
    )

    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
    assert body["terminal_id"] == TERMINAL
    assert (body["name"], body["args"], body["state"]) == (
        "set_settings",
        {"volume": 60},
        "pending",
    )
    assert body["issued_by"] == "operator"
    # No MQTT in this process: held for the ingest, not lost.
    assert body["published_at"] is None
    issued = datetime.fromisoformat(body["issued_at"])
    assert (datetime.fromisoformat(body["expires_at"]) - issued).total_seconds() == 120

    second = client.post(API, json={"name": "reboot"}, headers={"X-CSRF-Token": token}).json()
    listed = client.get(API).json()
    assert [c["id"] for c in listed] == [second["id"], body["id"]]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "self_destruct"},
        {"name": "set_settings", "args": {"homepage": "http://evil.example"}},
        {"name": "set_settings", "args": {"nested": {"a": 1}}},
        {"name": "reboot", "ttl_s": 1},
        {"args": {}},
    ],
)
def test_invalid_commands_are_422(
    client: TestClient, settings: FleetSettings, terminal: str, body: dict[str, object]
) -> None:
    token = logged_in_as(client, settings, "admin")  # the fixture's admin exists already

    response = client.post(API, json=body, headers={"X-CSRF-Token": token})

    assert response.status_code == 422
    assert response.json()["detail"]


def test_unknown_terminal_is_404(client: TestClient, settings: FleetSettings) -> None:
    token = logged_in_as(client, settings, "operator")

    missing = "/api/v1/terminals/bdx-nowhere/commands"
    assert (
        client.post(missing, json={"name": "reboot"}, headers={"X-CSRF-Token": token}).status_code
        == 404
    )
    assert client.get(missing).status_code == 404
    assert client.get("/terminals/bdx-nowhere").status_code == 404


def test_acks_show_in_the_api(client: TestClient, settings: FleetSettings, terminal: str) -> None:
    token = logged_in_as(client, settings, "operator")
    command = client.post(API, json={"name": "reboot"}, headers={"X-CSRF-Token": token}).json()

    ack = CommandAck(
        id=command["id"], result="refused", reason="session open", seq=1, sent_at=later(2)
    )
    store(settings, topic_for(TERMINAL, Channel.CMD_ACK), ack.to_bytes(), later(3))

    [listed] = client.get(API).json()
    assert (listed["state"], listed["reason"]) == ("refused", "session open")


def test_the_page_shows_a_terminal_s_reason_in_the_reader_s_language(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    """The API keeps the reason as sent (machines read it); the page says it in French, and a
    technical detail that is not one of the contract's reasons is shown as it came."""
    token = logged_in_as(client, settings, "operator")
    for seq, reason in enumerate((Reason.UI_NO_ANSWER, "systemctl reboot timed out"), start=1):
        command = client.post(API, json={"name": "wipe_session"}, headers={"X-CSRF-Token": token})
        ack = CommandAck(
            id=command.json()["id"], result="failed", reason=reason, seq=seq, sent_at=later(seq)
        )
        store(settings, topic_for(TERMINAL, Channel.CMD_ACK), ack.to_bytes(), later(seq))

    page = client.get(f"/terminals/{TERMINAL}").text

    assert "l’écran de la borne n’a pas répondu à l’ordre d’effacement" in page
    assert "systemctl reboot timed out" in page
    assert Reason.UI_NO_ANSWER.value not in page
    assert Reason.UI_NO_ANSWER.value in {c["reason"] for c in client.get(API).json()}


def test_every_fixed_reason_reads_in_french() -> None:
    french = gettext_for("fr")
    for reason in Reason:
        label = formatting.command_reason(reason.value, french)
        assert label != reason.value, f"no French for the reason {reason.value!r}"
    assert formatting.command_reason(None, french) == formatting.MISSING


def test_overdue_commands_read_as_expired(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    token = logged_in_as(client, settings, "operator")
    command = client.post(
        API, json={"name": "reboot", "ttl_s": 10}, headers={"X-CSRF-Token": token}
    ).json()
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        row = session.get(CommandRecord, command["id"])
        assert row is not None
        row.expires_at = row.issued_at  # as if ten seconds had gone by
        session.commit()
    engine.dispose()

    [listed] = client.get(API).json()
    assert listed["state"] == "expired"
    assert "expirée" in client.get(PAGE).text


def test_terminal_page_shows_figures_and_buttons_for_an_operator(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    report = Health.model_validate(
        {
            **Health.model_validate_json(health_payload(seq=2)).model_dump(),
            "clock_synced": False,
            "ui": {"alive": False},
            "enclosure": {"door_open": True, "temperature_c": 31.0},
            "dropped_samples": 7,
        }
    )
    store(settings, topic_for(TERMINAL, Channel.HEALTH), report.to_bytes())
    logged_in_as(client, settings, "operator")

    page = client.get(PAGE)

    assert page.status_code == 200
    text = page.text
    assert "Borne bdx-test-a" in text
    assert "en ligne" in text
    assert '<dd id="ui-alive">ne répond pas</dd>' in text
    assert '<dd id="door-open">ouverte</dd>' in text
    assert '<dd id="enclosure-temperature">31 °C</dd>' in text
    assert '<dd id="clock-synced">non synchronisée</dd>' in text
    assert '<dd id="dropped-samples">7</dd>' in text
    assert "0.1.0" in text  # the agent's version from its birth
    for label in (
        "Redémarrer",
        "Relancer l&#39;interface",
        "Terminer et effacer la session en cours",
        "Actualiser le contenu",
    ):
        assert f'<button type="submit">{label}</button>' in text
    assert "Aucune commande envoyée à cette borne pour l'instant." in text

    dashboard = client.get("/").text
    assert f'<a href="/terminals/{TERMINAL}">{TERMINAL}</a>' in dashboard
    assert "Interface bloquée" in dashboard
    assert "Porte ouverte" in dashboard


def test_viewer_sees_no_buttons_and_cannot_post(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    token = logged_in_as(client, settings, "viewer")

    page = client.get(PAGE).text
    assert 'id="command-buttons"' not in page
    assert "Redémarrer</button>" not in page

    response = client.post(
        f"{PAGE}/commands", data={"name": "reboot", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 403
    assert client.get(API).json() == []


def test_the_page_form_sends_and_redirects_back(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    token = csrf_token_of(client.get(PAGE).text)

    response = client.post(
        f"{PAGE}/commands",
        data={"name": "wipe_session", "csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == PAGE
    page = client.get(PAGE).text
    [command] = client.get(API).json()
    assert command["name"] == "wipe_session"
    assert f'<tr id="command-{command["id"]}" data-state="pending">' in page
    assert "Terminer et effacer la session en cours : commande conservée" in page
    assert "en attente du courtier MQTT" in page
    # The message is shown once.
    assert "commande conservée" not in client.get(PAGE).text


def test_the_page_form_needs_its_csrf_token_and_a_button_name(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    token = logged_in_as(client, settings, "operator")

    forged = client.post(f"{PAGE}/commands", data={"name": "reboot", "csrf_token": "forged"})
    unknown = client.post(f"{PAGE}/commands", data={"name": "screenshot", "csrf_token": token})

    assert forged.status_code == 400
    assert unknown.status_code == 422
    assert client.get(API).json() == []


def test_logged_out_form_post_goes_to_login(client: TestClient, terminal: str) -> None:
    response = client.post(f"{PAGE}/commands", data={"name": "reboot"}, follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_stored_english_reasons_read_in_french_and_typed_text_as_typed() -> None:
    french = gettext_for("fr")
    halted = rollouts.HALTED_WAVE % {"failed": 3, "total": 12, "wave": 2, "threshold": 10}
    shown = formatting.stored_text(halted, rollouts.STORED_REASONS, french)
    assert shown == "3 bornes sur 12 en échec dans la vague 2 (seuil d’erreur 10 %)"
    typed = "3 of 12 look odd, stopping (%s)"
    assert formatting.stored_text(typed, rollouts.STORED_REASONS, french) == typed
    assert formatting.stored_text(None, rollouts.STORED_REASONS, french) == formatting.MISSING
