"""Server-side sessions: a cookie opens only what the database still holds."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.main import SESSION_COOKIE, create_app
from kiosk.contract.mqtt import Channel, topic_for
from tests.helpers import ADMIN_PASSWORD, csrf_token_of, log_in, served

from .conftest import NOW, make_settings, prepare_database, status_payload
from .test_command_web import PASSWORD, TERMINAL, add_user, store
from .test_users import audit_actions

API = f"/api/v1/terminals/{TERMINAL}/commands"


@pytest.fixture
def terminal(settings: FleetSettings) -> str:
    store(settings, topic_for(TERMINAL, Channel.STATUS), status_payload("online"))
    return TERMINAL


def browser(settings: FleetSettings, now: datetime | None = None) -> TestClient:
    app = create_app(settings, start_ingest=False)
    if now is not None:
        app.state.clock = lambda: now
    return TestClient(app)


def saved_cookie(client: TestClient) -> str:
    value = client.cookies.get(SESSION_COOKIE)
    assert value, "no session cookie"
    return value


def replayed(settings: FleetSettings, cookie: str) -> TestClient:
    """Another browser holding a copy of ``cookie`` (stolen, or saved before logout)."""
    client = browser(settings)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def dashboard_status(client: TestClient) -> tuple[int, str]:
    response = client.get("/", follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def test_logout_ends_the_session_for_a_saved_cookie(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    """Found from outside: a cookie saved before logout still opened the dashboard and still
    sent a command (201)."""
    assert log_in(client).status_code == 303
    token = csrf_token_of(client.get("/").text)
    cookie = saved_cookie(client)
    with replayed(settings, cookie) as copy:
        assert dashboard_status(copy) == (200, "")
    client.post("/logout", data={"csrf_token": token})

    with replayed(settings, cookie) as copy:
        assert dashboard_status(copy) == (303, "/login")
        sent = copy.post(API, json={"name": "reboot"}, headers={"X-CSRF-Token": token})
        assert sent.status_code == 401
        assert copy.get("/login").status_code == 200  # the login page, not the dashboard


def test_a_deactivated_user_is_out_at_once(client: TestClient, settings: FleetSettings) -> None:
    add_user(settings, "camille", "operator")
    with browser(settings) as camille:
        assert log_in(camille, "camille", PASSWORD).status_code == 303
        cookie = saved_cookie(camille)
        assert log_in(client).status_code == 303
        users = client.get("/users").text
        token = csrf_token_of(users)
        camille_id = users.split('data-username="camille"')[1].split("/users/")[1].split("/")[0]
        client.post(f"/users/{camille_id}/disabled", data={"disabled": "1", "csrf_token": token})
        assert dashboard_status(camille) == (303, "/login")
    # Enabled again, the old cookie stays dead: the session itself was ended.
    client.post(f"/users/{camille_id}/disabled", data={"disabled": "0", "csrf_token": token})
    with replayed(settings, cookie) as copy:
        assert dashboard_status(copy) == (303, "/login")
    assert "user_disabled" in audit_actions(settings)


def change_password(client: TestClient, current: str, new: str) -> httpx.Response:
    token = csrf_token_of(client.get("/account").text)
    return client.post(
        "/account/password",
        data={
            "current_password": current,
            "new_password": new,
            "new_password_again": new,
            "csrf_token": token,
        },
    )


def test_a_password_change_ends_the_other_sessions(settings: FleetSettings) -> None:
    with browser(settings) as laptop, browser(settings) as phone:
        assert log_in(laptop).status_code == 303
        assert log_in(phone).status_code == 303
        old_laptop_cookie = saved_cookie(laptop)
        changed = change_password(laptop, ADMIN_PASSWORD, "a brand new passphrase")
        assert changed.status_code == 200
        assert "Mot de passe changé" in changed.text or "Password changed" in changed.text
        assert dashboard_status(phone) == (303, "/login")
        assert dashboard_status(laptop) == (200, "")  # this session goes on, with a new secret
    with replayed(settings, old_laptop_cookie) as copy:
        assert dashboard_status(copy) == (303, "/login")
    with browser(settings) as again:
        assert log_in(again).status_code == 401
        assert log_in(again, password="a brand new passphrase").status_code == 303
    assert "password_changed" in audit_actions(settings)


def test_a_wrong_current_password_changes_nothing(client: TestClient) -> None:
    log_in(client)
    assert change_password(client, "not my password", "a brand new passphrase").status_code == 400
    client.cookies.clear()
    assert log_in(client).status_code == 303


def test_idle_and_absolute_timeouts(settings: FleetSettings) -> None:
    clock = {"now": NOW}
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: clock["now"]
    with TestClient(app) as client:
        assert log_in(client).status_code == 303
        clock["now"] = NOW + timedelta(seconds=settings.session_idle_timeout_s + 1)
        assert dashboard_status(client) == (303, "/login")

        clock["now"] = NOW
        assert log_in(client).status_code == 303
        # Used every 30 minutes, it still ends 12 hours after the login.
        for half_hours in range(1, 24):
            clock["now"] = NOW + timedelta(minutes=30 * half_hours)
            assert dashboard_status(client) == (200, ""), half_hours
        clock["now"] = NOW + timedelta(seconds=settings.session_max_age_s + 1)
        assert dashboard_status(client) == (303, "/login")


def test_the_live_updates_do_not_keep_a_session_awake(settings: FleetSettings) -> None:
    clock = {"now": NOW}
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: clock["now"]
    with TestClient(app) as client:
        log_in(client)
        for minutes in range(5, 61, 5):
            clock["now"] = NOW + timedelta(minutes=minutes)
            assert client.get("/partials/terminals", follow_redirects=False).status_code == 200
        clock["now"] = NOW + timedelta(minutes=61)
        assert dashboard_status(client) == (303, "/login")


def test_sessions_work_across_fleet_processes(settings: FleetSettings) -> None:
    """Two fleet processes on one database: a login on one is known (and ended) on the other."""
    with browser(settings) as first:
        assert log_in(first).status_code == 303
        cookie = saved_cookie(first)
        with replayed(settings, cookie) as second:  # another app instance, same database
            assert dashboard_status(second) == (200, "")
            token = csrf_token_of(second.get("/").text)
            second.post("/logout", data={"csrf_token": token})
        assert dashboard_status(first) == (303, "/login")


def test_a_user_sees_their_sessions_and_ends_another(settings: FleetSettings) -> None:
    with browser(settings) as laptop, browser(settings) as phone:
        log_in(laptop)
        phone.headers["User-Agent"] = "Phone browser 1.0"
        log_in(phone)
        page = laptop.get("/account").text
        assert "Phone browser 1.0" in page
        assert page.count("data-session=") == 2
        other = page.split("Phone browser 1.0")[0].rsplit('data-session="', 1)[1].split('"')[0]
        token = csrf_token_of(page)
        ended = laptop.post(f"/account/sessions/{other}/end", data={"csrf_token": token})
        assert ended.status_code == 200
        assert dashboard_status(phone) == (303, "/login")
        assert dashboard_status(laptop) == (200, "")
        # Someone else's session id is not found (404), whatever the number.
        stranger = laptop.post("/account/sessions/999999/end", data={"csrf_token": token})
        assert stranger.status_code == 404


def test_a_user_ends_all_their_other_sessions(settings: FleetSettings) -> None:
    with browser(settings) as laptop, browser(settings) as phone, browser(settings) as tablet:
        for device in (laptop, phone, tablet):
            log_in(device)
        token = csrf_token_of(laptop.get("/account").text)
        laptop.post("/account/sessions/end-others", data={"csrf_token": token})
        assert dashboard_status(phone) == (303, "/login")
        assert dashboard_status(tablet) == (303, "/login")
        assert dashboard_status(laptop) == (200, "")


def test_an_administrator_ends_anyone_s_sessions(
    client: TestClient, settings: FleetSettings
) -> None:
    add_user(settings, "dominique", "viewer")
    with browser(settings) as dominique:
        log_in(dominique, "dominique", PASSWORD)
        log_in(client)
        users = client.get("/users").text
        row = users.split('data-username="dominique"')[1].split("</tr>")[0]
        assert 'class="session-count">1<' in row
        action = re.search(r'action="(/users/\d+/sessions/end)"', row)
        assert action is not None
        client.post(action.group(1), data={"csrf_token": csrf_token_of(users)})
        assert dashboard_status(dominique) == (303, "/login")
    assert "user_sessions_ended" in audit_actions(settings)


def test_the_event_stream_stops_when_the_session_ends(settings: FleetSettings) -> None:
    app = create_app(settings, start_ingest=False)
    with served(app) as url, httpx.Client(base_url=url) as person:
        log_in(person)
        token = csrf_token_of(person.get("/").text)
        with person.stream("GET", "/events/terminals", timeout=30) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            with httpx.Client(base_url=url, cookies=person.cookies) as other_tab:
                other_tab.post("/logout", data={"csrf_token": token})
            # The server closes the stream: iteration ends instead of blocking for ever.
            remaining = list(lines)
        assert all("event:" not in line for line in remaining[-2:])


def test_the_cookie_is_secure_by_default() -> None:
    assert FleetSettings.model_fields["cookie_secure"].default is True


def test_plain_http_is_refused_off_loopback(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback"):
        make_settings(tmp_path, cookie_secure=False, http_host="0.0.0.0")
    make_settings(tmp_path, cookie_secure=False, http_host="::1")


def test_session_cookie_flags(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cookie_secure=True)
    prepare_database(settings)
    with TestClient(create_app(settings, start_ingest=False), base_url="https://testserver") as c:
        cookie = c.get("/login").headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        assert "secure" in cookie
        assert log_in(c).status_code == 303
        assert c.get("/", follow_redirects=False).status_code == 200
