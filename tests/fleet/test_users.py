"""The users page: administrators create users, change roles, disable and enable them."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from fleet import audit
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from tests.helpers import ADMIN_USERNAME, csrf_token_of, log_in

PASSWORD = "a long enough password"


def user_id(page: str, username: str) -> int:
    match = re.search(
        rf'data-username="{re.escape(username)}">.*?action="/users/(\d+)/role"', page, re.S
    )
    assert match is not None, f"{username} not listed"
    return int(match.group(1))


def create(client: TestClient, username: str, role: str, password: str = PASSWORD) -> int:
    token = csrf_token_of(client.get("/users").text)
    response = client.post(
        "/users",
        data={"username": username, "password": password, "role": role, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def audit_actions(settings: FleetSettings) -> list[str]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        actions = [entry.action for entry in audit.recent(session)]
    engine.dispose()
    return actions


def post_form(client: TestClient, path: str, **fields: str) -> int:
    token = csrf_token_of(client.get("/users").text)
    response = client.post(path, data={**fields, "csrf_token": token}, follow_redirects=False)
    return response.status_code


def test_admin_creates_a_user_who_can_log_in(client: TestClient, settings: FleetSettings) -> None:
    log_in(client)
    assert create(client, "camille", "operator") == 303
    page = client.get("/users").text
    assert "camille" in page
    assert "Utilisateurs" in page
    assert "user_created" in audit_actions(settings)

    client.cookies.clear()
    assert log_in(client, "camille", PASSWORD).status_code == 303


def test_short_password_and_duplicate_name_are_refused(client: TestClient) -> None:
    log_in(client)
    assert create(client, "short", "viewer", password="too short") == 400
    assert create(client, ADMIN_USERNAME, "viewer") == 400
    assert create(client, "nobody", "emperor") == 400
    assert "short" not in client.get("/users").text


def test_forms_need_the_csrf_token(client: TestClient) -> None:
    log_in(client)
    response = client.post(
        "/users",
        data={"username": "x-user", "password": PASSWORD, "role": "viewer", "csrf_token": "bad"},
    )
    assert response.status_code == 400
    assert "x-user" not in client.get("/users").text


def test_only_admins_see_the_page(client: TestClient) -> None:
    log_in(client)
    create(client, "viewer-1", "viewer")
    client.cookies.clear()
    log_in(client, "viewer-1", PASSWORD)
    assert client.get("/users").status_code == 403
    assert client.get("/tokens").status_code == 403


def test_change_role_and_disable(client: TestClient, settings: FleetSettings) -> None:
    log_in(client)
    create(client, "dominique", "viewer")
    target = user_id(client.get("/users").text, "dominique")

    assert post_form(client, f"/users/{target}/role", role="operator") == 303
    assert post_form(client, f"/users/{target}/disabled", disabled="1") == 303
    actions = audit_actions(settings)
    assert {"user_role_changed", "user_disabled"} <= set(actions)

    other = TestClient(client.app)
    assert log_in(other, "dominique", PASSWORD).status_code == 401

    assert post_form(client, f"/users/{target}/disabled", disabled="0") == 303
    assert log_in(other, "dominique", PASSWORD).status_code == 303


def test_disabling_ends_open_sessions(client: TestClient) -> None:
    log_in(client)
    create(client, "eve", "viewer")
    target = user_id(client.get("/users").text, "eve")
    other = TestClient(client.app)
    log_in(other, "eve", PASSWORD)
    assert other.get("/", follow_redirects=False).status_code == 200

    post_form(client, f"/users/{target}/disabled", disabled="1")

    assert other.get("/", follow_redirects=False).status_code == 303
    assert other.get("/api/v1/terminals").status_code == 401


def test_the_last_admin_cannot_be_demoted_or_disabled(client: TestClient) -> None:
    log_in(client)
    me = user_id(client.get("/users").text, ADMIN_USERNAME)

    assert post_form(client, f"/users/{me}/role", role="viewer") == 409
    token = csrf_token_of(client.get("/users").text)
    refused = client.post(f"/users/{me}/disabled", data={"disabled": "1", "csrf_token": token})
    assert refused.status_code == 409
    assert "sans administrateur actif" in refused.text
    assert log_in(TestClient(client.app)).status_code == 303

    create(client, "second-admin", "admin")
    assert post_form(client, f"/users/{me}/role", role="operator") == 303


def test_the_add_user_form_is_styled_labels_above_grouped_fields(client: TestClient) -> None:
    """The house style: every label tied to its field, each pair in a .field, one styled form;
    the stylesheet lays them out (its rules are checked in Chromium by test_bulk_browser)."""
    log_in(client)
    page = client.get("/users").text
    form = page[page.index('<form method="post" action="/users" class="styled-form"') :]
    form = form[: form.index("</form>")]
    for field in ("new-username", "new-password", "new-role"):
        assert re.search(
            rf'<div class="field">\s*<label for="{field}">[^<]+</label>\s*'
            rf'<(input|select) id="{field}"',
            form,
        ), field
    assert "caractères au moins." in form
    css = client.get("/static/fleet.css").text
    assert ".styled-form .field { display: grid;" in css
    assert ".visually-hidden {" in css  # the role label of each row is for screen readers
