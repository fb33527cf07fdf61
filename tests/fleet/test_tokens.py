"""API tokens: created by admins (shown once), hashed, used as Bearer, revoked at once."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from fleet import crud
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.core.security import api_token_hash
from fleet.models import ApiToken
from tests.helpers import csrf_token_of, log_in

from .conftest import NOW, status_payload
from .test_web import store


def new_token(client: TestClient, name: str, role: str) -> str:
    token = csrf_token_of(client.get("/tokens").text)
    page = client.post("/tokens", data={"name": name, "role": role, "csrf_token": token})
    assert page.status_code == 201
    assert page.headers["cache-control"] == "no-store"
    match = re.search(r'id="new-token-secret">([^<]+)<', page.text)
    assert match is not None
    return match.group(1)


def stored_tokens(settings: FleetSettings) -> list[ApiToken]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        rows = list(crud.list_api_tokens(session))
        session.expunge_all()
    engine.dispose()
    return rows


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_token_is_shown_once_and_stored_hashed(client: TestClient, settings: FleetSettings) -> None:
    log_in(client)
    secret = new_token(client, "grafana", "viewer")

    (row,) = stored_tokens(settings)
    assert row.secret_hash == api_token_hash(secret)
    assert secret not in client.get("/tokens").text
    assert "grafana" in client.get("/tokens").text


def test_bearer_token_reads_the_api_and_records_use(
    client: TestClient, settings: FleetSettings
) -> None:
    log_in(client)
    secret = new_token(client, "script", "viewer")
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    api = TestClient(client.app)

    response = api.get("/api/v1/terminals", headers=bearer(secret))

    assert response.status_code == 200
    assert stored_tokens(settings)[0].last_used_at == NOW
    assert api.get("/api/v1/terminals", headers=bearer("fleet_wrong")).status_code == 401


def test_viewer_token_cannot_send_commands_operator_token_needs_no_csrf(
    client: TestClient, settings: FleetSettings
) -> None:
    store(settings, "kiosk/v1/bdx-001/status", status_payload())
    log_in(client)
    viewer = new_token(client, "ro", "viewer")
    operator = new_token(client, "ops", "operator")
    api = TestClient(client.app)
    body = {"name": "reboot", "args": {}}

    refused = api.post("/api/v1/terminals/bdx-001/commands", json=body, headers=bearer(viewer))
    accepted = api.post("/api/v1/terminals/bdx-001/commands", json=body, headers=bearer(operator))

    assert refused.status_code == 403
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["issued_by"] == "token:ops"


def test_session_requests_still_need_the_csrf_header(client: TestClient) -> None:
    log_in(client)
    response = client.post("/api/v1/terminals/bdx-001/commands", json={"name": "reboot"})
    assert response.status_code == 403


def test_revoked_token_is_refused_at_once(client: TestClient, settings: FleetSettings) -> None:
    log_in(client)
    secret = new_token(client, "old", "admin")
    api = TestClient(client.app)
    assert api.get("/api/v1/terminals", headers=bearer(secret)).status_code == 200
    (row,) = stored_tokens(settings)

    form = csrf_token_of(client.get("/tokens").text)
    revoked = client.post(
        f"/tokens/{row.id}/revoke", data={"csrf_token": form}, follow_redirects=False
    )

    assert revoked.status_code == 303
    assert api.get("/api/v1/terminals", headers=bearer(secret)).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(
    client: TestClient, settings: FleetSettings
) -> None:
    log_in(client)
    secret = new_token(client, "busy", "viewer")
    api = TestClient(client.app)
    for offset, expected in ((0, 0), (30, 0), (61, 61)):
        client.app.state.clock = lambda offset=offset: NOW + timedelta(seconds=offset)  # type: ignore[attr-defined,misc]
        api.get("/api/v1/terminals", headers=bearer(secret))
        assert stored_tokens(settings)[0].last_used_at == NOW + timedelta(seconds=expected)


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert schemes["ApiToken"]["scheme"] == "bearer"
