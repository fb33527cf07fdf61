"""Login rate limiting (kept in the database) and the session cookie's flags."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fleet import crud
from fleet.main import create_app
from tests.helpers import ADMIN_PASSWORD, log_in

from .conftest import NOW, make_settings, prepare_database


def test_five_failures_block_the_username_then_time_frees_it(client: TestClient) -> None:
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    for _attempt in range(5):
        assert log_in(client, password="wrong password").status_code == 401

    blocked = log_in(client)  # even the right password is refused while blocked
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "900"
    assert "Trop de tentatives" in blocked.text

    client.app.state.clock = lambda: NOW + timedelta(minutes=16)  # type: ignore[attr-defined]
    assert log_in(client).status_code == 303


def test_unknown_users_are_blocked_the_same_way(client: TestClient) -> None:
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    for _attempt in range(5):
        assert log_in(client, username="ghost", password="x").status_code == 401
    assert log_in(client, username="ghost", password="x").status_code == 429


def test_failures_from_one_address_block_other_names(client: TestClient) -> None:
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    for attempt in range(5):
        log_in(client, username=f"name-{attempt}", password="x")
    assert log_in(client).status_code == 429


def test_success_resets_the_username_counter(client: TestClient) -> None:
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    for _attempt in range(4):
        log_in(client, password="wrong password")
    assert log_in(client, password=ADMIN_PASSWORD).status_code == 303
    client.cookies.clear()
    # The address counter still has 4; the username counter is clear. Four more on another
    # name would hit the address limit, so check the username alone via a fresh window.
    client.app.state.clock = lambda: NOW + timedelta(minutes=16)  # type: ignore[attr-defined]
    for _attempt in range(4):
        assert log_in(client, password="wrong password").status_code == 401
    assert log_in(client).status_code == 303


def test_session_cookie_flags(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cookie_secure=True)
    prepare_database(settings)
    with TestClient(create_app(settings, start_ingest=False), base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie


def test_cookie_not_secure_by_default(client: TestClient) -> None:
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "; secure" not in cookie


def test_the_counters_live_in_the_database(db_session: Session) -> None:
    """Shared by every fleet process, on SQLite and PostgreSQL alike."""
    keys = crud.login_failure_keys(" Admin ", "192.0.2.7")
    assert keys == ["user:admin", "address:192.0.2.7"]
    for minute in range(5):
        crud.record_login_failure(db_session, keys, NOW + timedelta(minutes=minute), 900)
    db_session.commit()

    assert crud.login_blocked(db_session, keys[:1], NOW + timedelta(minutes=5), 5, 900)
    assert not crud.login_blocked(db_session, keys[:1], NOW + timedelta(minutes=15), 5, 900)
    crud.reset_login_failures(db_session, keys[0])
    db_session.commit()
    assert not crud.login_blocked(db_session, keys[:1], NOW + timedelta(minutes=5), 5, 900)
    assert crud.login_blocked(db_session, keys[1:], NOW + timedelta(minutes=5), 5, 900)
