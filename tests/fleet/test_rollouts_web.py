"""Rollout pages and API: roles, CSRF, per-terminal states; and the retained Desired on a real
broker."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from fleet import rollouts
from fleet.core.config import FleetSettings
from fleet.main import create_app
from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Channel,
    Desired,
    Event,
    decode,
    subscription_for,
    topic_for,
)
from tests.conftest import TestBroker
from tests.content.helpers import Fleet, new_fleet
from tests.helpers import csrf_token_of, log_in, wait_until

from .conftest import later, make_settings, prepare_database, status_payload
from .test_command_web import logged_in_as, store

IDS = ("bdx-test-a", "bdx-test-b", "bdx-test-c")


def content_event(terminal_id: str, seq: int, version: str, state: str, reason: str = "") -> bytes:
    data: dict[str, str | int | None] = {"version": version, "state": state}
    if reason:
        data["reason"] = reason
    return Event(seq=seq, sent_at=later(seq), kind="content_update", data=data).to_bytes()


@pytest.fixture
def fleet(settings: FleetSettings) -> FleetSettings:
    for n, terminal_id in enumerate(IDS, start=1):
        store(settings, topic_for(terminal_id, Channel.STATUS), status_payload("online"))
        payload = content_event(terminal_id, n, "v1", "applied")
        store(settings, topic_for(terminal_id, Channel.EVENT), payload)
    return settings


FORM = {
    "version": "v2",
    "canary_terminals": "bdx-test-a",
    "wave_size": "5",
    "success_threshold": "100",
    "error_threshold": "50",
}


def test_viewer_reads_but_cannot_create_or_act(client: TestClient, fleet: FleetSettings) -> None:
    token = logged_in_as(client, fleet, "viewer")
    assert client.get("/rollouts").status_code == 200
    assert 'id="rollout-form"' not in client.get("/rollouts").text
    assert client.post("/rollouts", data={**FORM, "csrf_token": token}).status_code == 403
    api = client.post(
        "/api/v1/rollouts",
        json={"version": "v2", "canary_percent": 10},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 403


def test_forms_need_the_csrf_token(client: TestClient, fleet: FleetSettings) -> None:
    logged_in_as(client, fleet, "operator")
    assert client.post("/rollouts", data={**FORM, "csrf_token": "forged"}).status_code == 400
    api = client.post("/api/v1/rollouts", json={"version": "v2", "canary_percent": 10})
    assert api.status_code == 403
    assert client.get("/api/v1/rollouts").json() == []


def test_operator_creates_follows_and_rolls_back(client: TestClient, fleet: FleetSettings) -> None:
    token = logged_in_as(client, fleet, "operator")
    created = client.post("/rollouts", data={**FORM, "csrf_token": token}, follow_redirects=False)
    assert created.status_code == 303
    page_url = created.headers["location"]
    rollout_id = int(page_url.rsplit("/", 1)[1])
    store(
        fleet,
        topic_for("bdx-test-a", Channel.EVENT),
        content_event(
            "bdx-test-a", 10, "v2", "failed", "expired metadata (refusing a frozen repository)"
        ),
    )

    page = client.get(page_url).text
    assert '<tr id="target-bdx-test-a" data-state="failed" data-wave="0">' in page
    assert "expired metadata (refusing a frozen repository)" in page
    assert 'id="rollout" data-state="halted"' in page
    # The engine's reason, stored in English, reads in French; the agent's detail as sent.
    assert (
        '<dd id="rollout-reason">1 bornes sur 1 en échec dans le groupe pilote '
        "(seuil d’erreur 50 %)</dd>"
    ) in page
    detail = client.get(f"/api/v1/rollouts/{rollout_id}").json()
    assert (detail["state"], detail["states"]["failed"], detail["waves"][0]["total"]) == (
        "halted",
        1,
        1,
    )
    listing = client.get("/rollouts").text
    assert f'id="rollout-{rollout_id}" data-state="halted"' in listing
    terminal_page = client.get("/terminals/bdx-test-a").text
    assert 'id="content-version">v1<' in terminal_page
    assert 'id="desired-content-version">v2<' in terminal_page
    fragment = client.get("/terminals/bdx-test-a/rollout").text
    assert 'data-state="failed"' in fragment

    assert client.post(f"/rollouts/{rollout_id}/pause", data={"csrf_token": "x"}).status_code == 400
    back = client.post(f"/rollouts/{rollout_id}/rollback", data={"csrf_token": token})
    assert back.status_code == 200
    after = client.get(f"/api/v1/rollouts/{rollout_id}").json()
    assert after["state"] == "rolled_back"
    # No broker in this process: the wish waits for the keeper of a process that has one.
    assert after["targets"][0]["reason"] == rollouts.ROLLBACK_WAITING
    assert "retour arrière : version précédente pas encore publiée" in client.get(page_url).text
    # A refused action says why in French, the rollout's state too.
    refused = client.post(f"/rollouts/{rollout_id}/pause", data={"csrf_token": token})
    assert f"le déploiement {rollout_id} est « revenu en arrière », pas en cours" in refused.text
    audit = client.get("/audit")
    assert audit.status_code == 403  # operators do not read the audit log; admins do


def test_api_token_creates_and_pauses(client: TestClient, fleet: FleetSettings) -> None:
    token = logged_in_as(client, fleet, "admin")
    response = client.post(
        "/api/v1/rollouts",
        json={"version": "v2", "canary_percent": 33, "wave_size": 1},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["total"], len(body["waves"]), body["previous_version"]) == (3, 3, "v1")
    conflict = client.post(
        "/api/v1/rollouts",
        json={"version": "v3", "canary_percent": 10},
        headers={"X-CSRF-Token": token},
    )
    assert conflict.status_code == 409
    paused = client.post(f"/api/v1/rollouts/{body['id']}/pause", headers={"X-CSRF-Token": token})
    assert paused.json()["state"] == "paused"
    again = client.post(f"/api/v1/rollouts/{body['id']}/pause", headers={"X-CSRF-Token": token})
    assert again.status_code == 409
    assert "rollout_paused" in client.get("/audit").text


@pytest.mark.broker
def test_the_retained_desired_reaches_the_canary_terminal(
    tmp_path: Path, broker: TestBroker
) -> None:
    settings = make_settings(
        tmp_path, broker_port=broker.port, broker_password=broker.password(FLEET_USERNAME)
    )
    prepare_database(settings)
    for terminal_id in IDS:
        store(settings, topic_for(terminal_id, Channel.STATUS), status_payload("online"))
    with TestClient(create_app(settings)) as client:
        wait_until(lambda: client.get("/healthz").json()["broker"] == "connected", 20, "the ingest")
        log_in(client)
        token = csrf_token_of(client.get("/rollouts").text)
        created = client.post(
            "/rollouts", data={**FORM, "csrf_token": token}, follow_redirects=False
        )
        assert created.status_code == 303
        client.app.state.ingest._keeper.run_rollouts_once()  # type: ignore[attr-defined]

        # Subscribing afterwards, as the terminal: only a retained message can arrive.
        arrived = threading.Event()
        received: list[mqtt.MQTTMessage] = []

        def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
            received.append(message)
            arrived.set()

        terminal = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bdx-test-a-desired",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        terminal.username_pw_set("bdx-test-a", broker.password("bdx-test-a"))
        terminal.on_message = on_message
        terminal.connect(broker.host, broker.port)
        terminal.loop_start()
        try:
            terminal.subscribe(subscription_for(Channel.DESIRED, "bdx-test-a"), qos=1)
            assert arrived.wait(20), "no retained desired on the canary's topic"
        finally:
            terminal.disconnect()
            terminal.loop_stop()
        [message] = received
        assert message.retain
        assert message.topic == "kiosk/v1/bdx-test-a/desired"
        desired = decode(Channel.DESIRED, bytes(message.payload))
        assert isinstance(desired, Desired)
        assert desired.content_version == "v2"
        rollout = client.get("/api/v1/rollouts").json()[0]
        states = {
            t["terminal_id"]: t["state"]
            for t in client.get(f"/api/v1/rollouts/{rollout['id']}").json()["targets"]
        }
        assert states == {"bdx-test-a": "pending", "bdx-test-b": "waiting", "bdx-test-c": "waiting"}


# --------------------------------------------------------------------------------------------
# Published versions to pick from (a real signed repository)


@pytest.fixture
def published_fleet(tmp_path: Path) -> tuple[FleetSettings, Fleet]:
    content = new_fleet(tmp_path / "content")
    content.publish("2026.11.1")
    content.publish("2026.12.1")
    settings = make_settings(tmp_path, content_repo=content.repo.repo_dir)
    prepare_database(settings)
    for n, terminal_id in enumerate(IDS, start=1):
        store(settings, topic_for(terminal_id, Channel.STATUS), status_payload("online"))
        store(
            settings,
            topic_for(terminal_id, Channel.EVENT),
            content_event(terminal_id, n, "v1", "applied"),
        )
    return settings, content


def test_the_form_offers_the_published_versions_newest_first(
    published_fleet: tuple[FleetSettings, Fleet],
) -> None:
    settings, _content = published_fleet
    with TestClient(create_app(settings, start_ingest=False)) as client:
        token = logged_in_as(client, settings, "operator")
        page = client.get("/rollouts").text
        assert '<select id="rollout-version" name="version" required' in page
        options = re.findall(r'<option value="([^"]+)">\1</option>', page)
        assert options == ["2026.12.1", "2026.11.1"]
        assert '<label for="rollout-version">Version de contenu publiée</label>' in page
        assert "<legend>Groupe pilote</legend>" in page
        refused = client.post("/rollouts", data={**FORM, "version": "v2", "csrf_token": token})
        assert (
            "la version v2 n’est pas publiée dans le dépôt de contenu du parc "
            "(publiées : 2026.12.1, 2026.11.1)"
        ) in refused.text
        api = client.post(
            "/api/v1/rollouts",
            json={"version": "9.9", "canary_percent": 10},
            headers={"X-CSRF-Token": token},
        )
        assert api.status_code == 422
        assert "not published" in api.json()["detail"]
        assert client.get("/api/v1/rollouts").json() == []
        created = client.post(
            "/rollouts",
            data={**FORM, "version": "2026.12.1", "csrf_token": token},
            follow_redirects=False,
        )
        assert created.status_code == 303
        assert client.get("/api/v1/rollouts").json()[0]["version"] == "2026.12.1"


def test_a_tampered_repository_offers_no_version(
    published_fleet: tuple[FleetSettings, Fleet],
) -> None:
    settings, content = published_fleet
    # A version slipped into the targets metadata without its key: the signature breaks.
    targets_file = content.repo.metadata_dir / "targets.json"
    document = json.loads(targets_file.read_text())
    manifests = document["signed"]["targets"]
    manifests["manifests/6.6.6.json"] = manifests["manifests/2026.12.1.json"]
    targets_file.write_text(json.dumps(document))
    assert rollouts.published_versions(content.repo.repo_dir) == []
    with TestClient(create_app(settings, start_ingest=False)) as client:
        token = logged_in_as(client, settings, "operator")
        page = client.get("/rollouts").text
        assert "Aucune version signée n’est encore publiée" in page
        refused = client.post("/rollouts", data={**FORM, "version": "6.6.6", "csrf_token": token})
        assert "la version 6.6.6 n’est pas publiée" in refused.text
