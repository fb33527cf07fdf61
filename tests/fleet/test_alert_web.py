"""The alerts page, maintenance windows and the audit log through the web app, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fleet import crud
from fleet.alerts.rules import AlertLimits
from fleet.core.config import FleetSettings
from fleet.main import create_app
from fleet.models import Alert, AuditEntry, MaintenanceWindow
from kiosk.contract.mqtt import Channel
from tests.helpers import ADMIN_USERNAME, csrf_token_of, log_in

from .alerting import TERMINAL, health, make_engine_for, send, status

PASSWORD = "a long enough password"


@pytest.fixture
def web(web_settings: FleetSettings) -> Iterator[TestClient]:
    with TestClient(create_app(web_settings, start_ingest=False)) as test_client:
        yield test_client


@pytest.fixture
def disk_alert(factory: sessionmaker[Session]) -> int:
    """An open "disk nearly full" alert on TERMINAL, notified to nobody."""
    now = crud.utc_now()
    status(factory, "online", now)
    send(factory, Channel.HEALTH, health(1, now, disk=96.0), now)
    make_engine_for(factory, None, None, AlertLimits()).run_once(now)
    with factory() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.kind == "disk_full"))
    assert alert_id is not None
    return alert_id


def logged_in_as(client: TestClient, factory: sessionmaker[Session], role: str) -> str:
    """Log in as ``role`` (a new user named after it, or the admin); returns the CSRF token."""
    if role == "admin":
        assert log_in(client).status_code == 303
    else:
        with factory() as session:
            crud.create_user(session, role, PASSWORD, role)
            session.commit()
        assert log_in(client, role, PASSWORD).status_code == 303
    return csrf_token_of(client.get("/").text)


def audit_rows(factory: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(entry.username, entry.action, entry.target) for entry in entries]


def test_the_alerts_page_needs_a_login(web: TestClient) -> None:
    response = web.get("/alerts", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_an_operator_acknowledges_from_the_page(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    token = logged_in_as(web, factory, "operator")
    page = web.get("/alerts").text
    assert "Disque presque plein" in page
    assert f'action="/alerts/{disk_alert}/acknowledge"' in page
    assert 'id="count-open-alerts">1<' in web.get("/").text

    response = web.post(
        f"/alerts/{disk_alert}/acknowledge", data={"csrf_token": token}, follow_redirects=False
    )

    assert (response.status_code, response.headers["location"]) == (303, "/alerts")
    with factory() as session:
        alert = session.get(Alert, disk_alert)
        assert alert is not None
        assert (alert.state, alert.acknowledged_by) == ("acknowledged", "operator")
    assert "prise en charge par operator" in web.get("/alerts").text
    assert 'id="count-open-alerts">0<' in web.get("/").text
    assert ("operator", "alert_acknowledged", f"alert {disk_alert}") in audit_rows(factory)


def test_a_viewer_sees_alerts_but_may_not_acknowledge(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    token = logged_in_as(web, factory, "viewer")
    page = web.get("/alerts").text
    assert "Disque presque plein" in page
    assert "/acknowledge" not in page

    response = web.post(f"/alerts/{disk_alert}/acknowledge", data={"csrf_token": token})

    assert response.status_code == 403
    with factory() as session:
        alert = session.get(Alert, disk_alert)
        assert alert is not None
        assert alert.state == "open"


def test_acknowledging_without_the_csrf_token_is_refused(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    logged_in_as(web, factory, "operator")

    assert web.post(f"/alerts/{disk_alert}/acknowledge", data={}).status_code == 400
    assert (
        web.post(f"/alerts/{disk_alert}/acknowledge", data={"csrf_token": "x"}).status_code == 400
    )
    with factory() as session:
        alert = session.get(Alert, disk_alert)
        assert alert is not None
        assert alert.state == "open"


def test_an_operator_opens_a_maintenance_window_from_the_terminal_page(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    token = logged_in_as(web, factory, "operator")
    page = web.get(f"/terminals/{TERMINAL}").text
    assert 'id="maintenance-form"' in page
    assert "Disque presque plein" in page

    response = web.post(
        f"/terminals/{TERMINAL}/maintenance",
        data={"csrf_token": token, "minutes": "45", "reason": "changement de filtre"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    with factory() as session:
        window = session.scalar(select(MaintenanceWindow))
        assert window is not None
        assert (window.terminal_id, window.created_by) == (TERMINAL, "operator")
        assert (window.ends_at - window.starts_at).total_seconds() == 45 * 60
    assert 'id="maintenance"' in web.get(f"/terminals/{TERMINAL}").text
    assert (
        "operator",
        "maintenance_opened",
        TERMINAL,
    ) in audit_rows(factory)


def test_a_viewer_may_not_open_a_maintenance_window(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    token = logged_in_as(web, factory, "viewer")
    assert 'id="maintenance-form"' not in web.get(f"/terminals/{TERMINAL}").text

    response = web.post(
        f"/terminals/{TERMINAL}/maintenance", data={"csrf_token": token, "minutes": "30"}
    )

    assert response.status_code == 403
    with factory() as session:
        assert session.scalar(select(MaintenanceWindow)) is None


def test_people_s_actions_are_in_the_audit_log(
    web: TestClient, factory: sessionmaker[Session], disk_alert: int
) -> None:
    token_of_failed = csrf_token_of(web.get("/login").text)
    web.post(
        "/login",
        data={"username": "admin", "password": "wrong one", "csrf_token": token_of_failed},
    )
    token = logged_in_as(web, factory, "admin")
    web.post(f"/terminals/{TERMINAL}/commands", data={"csrf_token": token, "name": "reboot"})
    web.post("/logout", data={"csrf_token": token})

    rows = audit_rows(factory)
    assert [(user, action) for user, action, _ in rows] == [
        (ADMIN_USERNAME, "login_failed"),
        (ADMIN_USERNAME, "login"),
        (ADMIN_USERNAME, "command_sent"),
        (ADMIN_USERNAME, "logout"),
    ]
    assert rows[2][2] == TERMINAL
    with factory() as session:
        details = [entry.detail or "" for entry in session.scalars(select(AuditEntry))]
    # Never a password, even a wrong one.
    assert not any("wrong one" in detail for detail in details)


def test_the_audit_page_is_for_administrators_only(
    web: TestClient, factory: sessionmaker[Session]
) -> None:
    logged_in_as(web, factory, "operator")
    assert web.get("/audit").status_code == 403
    web.post("/logout", data={"csrf_token": csrf_token_of(web.get("/").text)})

    logged_in_as(web, factory, "admin")
    page = web.get("/audit")

    assert page.status_code == 200
    assert "s&#39;est déconnecté" in page.text
    assert "operator" in page.text
