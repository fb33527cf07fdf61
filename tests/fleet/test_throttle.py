"""Login throttling: growing delays per address and account, kept in the database, and never a
lock that a stranger can put on the owner."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fleet import throttle
from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, log_in, served

from .conftest import NOW, make_settings, prepare_database

ATTACKER = ("192.0.2.66", 40000)
OWNER = ("198.51.100.7", 40000)


def client_from(settings: FleetSettings, address: tuple[str, int], now: datetime) -> TestClient:
    """A browser at ``address``; the app's clock reads ``now`` (tests move it with set_clock)."""
    app = create_app(settings, start_ingest=False)
    app.state.clock = lambda: now
    return TestClient(app, client=address)


def set_clock(client: TestClient, at: datetime) -> None:
    client.app.state.clock = lambda: at  # type: ignore[attr-defined]


@pytest.fixture
def attacker(settings: FleetSettings) -> Iterator[TestClient]:
    with client_from(settings, ATTACKER, NOW) as client:
        yield client


@pytest.fixture
def owner(settings: FleetSettings) -> Iterator[TestClient]:
    with client_from(settings, OWNER, NOW) as client:
        yield client


def test_five_bad_passwords_from_one_address_leave_the_owner_in_from_another(
    attacker: TestClient, owner: TestClient
) -> None:
    """Found from outside: the owner got 429 for 15 minutes from their own address."""
    for _attempt in range(5):
        assert log_in(attacker, password="wrong password").status_code == 401
    assert log_in(attacker).status_code == 429  # the attacker's address now waits
    assert log_in(owner).status_code == 303


def test_the_delay_grows_with_each_failure_and_then_lets_the_right_password_in(
    attacker: TestClient,
) -> None:
    for _attempt in range(5):
        log_in(attacker, password="wrong password")
    refused = log_in(attacker)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
    assert "Trop de tentatives" in refused.text

    set_clock(attacker, NOW + timedelta(seconds=31))
    assert log_in(attacker, password="wrong again").status_code == 401
    assert log_in(attacker).headers["retry-after"] == "60"  # doubled
    set_clock(attacker, NOW + timedelta(seconds=31 + 61))
    assert log_in(attacker).status_code == 303


def test_the_delay_never_exceeds_the_window(settings: FleetSettings) -> None:
    policy = throttle.login_policy(settings)
    assert policy.delay_after(4) == 0
    assert policy.delay_after(5) == 30
    assert policy.delay_after(1000) == settings.login_window_s


def test_many_addresses_on_one_account_wait_after_their_own_failure(
    settings: FleetSettings, owner: TestClient
) -> None:
    """A botnet gets one guess per address; the owner, who did not fail, is not held back."""
    guessers = [
        client_from(settings, (f"203.0.113.{n}", 40000), NOW).__enter__() for n in range(1, 7)
    ]
    try:
        for guesser in guessers:
            assert log_in(guesser, password="wrong password").status_code == 401
        # Six failures on the account: an address that failed on it waits, even with the
        # right password...
        assert log_in(guessers[0]).status_code == 429
        # ...but the owner's own address goes through.
        assert log_in(owner).status_code == 303
    finally:
        for guesser in guessers:
            guesser.__exit__(None, None, None)


def test_unknown_users_are_throttled_the_same_way(attacker: TestClient) -> None:
    for _attempt in range(5):
        assert log_in(attacker, username="ghost", password="x").status_code == 401
    assert log_in(attacker, username="ghost", password="x").status_code == 429


def test_failures_on_many_names_from_one_address_hold_that_address(attacker: TestClient) -> None:
    for attempt in range(5):
        log_in(attacker, username=f"name-{attempt}", password="x")
    assert log_in(attacker).status_code == 429


def test_a_success_forgets_that_address_failures_on_that_account(attacker: TestClient) -> None:
    for _attempt in range(4):
        log_in(attacker, password="wrong password")
    assert log_in(attacker).status_code == 303
    attacker.cookies.clear()
    for _attempt in range(4):
        assert log_in(attacker, password="wrong password").status_code == 401


def test_forwarded_headers_are_not_believed_by_default(tmp_path: Path) -> None:
    """Found from outside: a local proxy's X-Forwarded-For rotated the throttled address."""
    settings = make_settings(tmp_path)
    prepare_database(settings)
    with client_from(settings, ("127.0.0.1", 40000), NOW) as client:
        for attempt in range(5):
            client.headers["X-Forwarded-For"] = f"192.0.2.{attempt}"
            log_in(client, password="wrong password")
        client.headers["X-Forwarded-For"] = "192.0.2.99"
        assert log_in(client).status_code == 429


def test_a_configured_proxy_is_believed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, trusted_proxies="127.0.0.1")
    prepare_database(settings)
    with client_from(settings, ("127.0.0.1", 40000), NOW) as client:
        for _attempt in range(5):
            client.headers["X-Forwarded-For"] = "192.0.2.1"
            log_in(client, password="wrong password")
        assert log_in(client).status_code == 429  # 192.0.2.1 waits
        client.cookies.clear()
        client.headers["X-Forwarded-For"] = "192.0.2.2"
        assert log_in(client).status_code == 303  # another client behind the same proxy


def test_two_real_addresses_over_real_sockets(settings: FleetSettings) -> None:
    """The same, through uvicorn on loopback: 127.0.0.2 guesses, 127.0.0.1 is the owner."""

    def browser(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address)
        return httpx.Client(base_url=url, transport=transport, follow_redirects=False)

    with served(create_app(settings, start_ingest=False)) as url:
        with browser("127.0.0.2") as guesser:
            for _attempt in range(5):
                guesser.headers["X-Forwarded-For"] = "10.9.8.7"
                assert log_in(guesser, password="wrong password").status_code == 401
            assert log_in(guesser).status_code == 429
        with browser("127.0.0.1") as person:
            assert log_in(person).status_code == 303


def test_the_counts_live_in_the_database(db_session: Session) -> None:
    """Shared by every fleet process, on SQLite and PostgreSQL alike."""
    policy = throttle.Policy(free_failures=2, base_delay_s=10, max_delay_s=100, window_s=300)
    scope = throttle.Scope.LOGIN
    account = throttle.account_key(" Admin ")
    assert account == "admin"
    for second in range(3):
        throttle.record_failure(
            db_session, scope, policy, "192.0.2.7", account, NOW + timedelta(seconds=second)
        )
    db_session.commit()
    at = NOW + timedelta(seconds=3)
    assert throttle.wait_s(db_session, scope, policy, "192.0.2.7", account, at) == 19
    assert throttle.wait_s(db_session, scope, policy, "192.0.2.8", account, at) == 0
    assert throttle.wait_s(db_session, throttle.Scope.ENROLMENT, policy, "192.0.2.7", None, at) == 0
    throttle.forget_account_failures_from(db_session, scope, "192.0.2.7", account)
    db_session.commit()
    assert throttle.wait_s(db_session, scope, policy, "192.0.2.7", account, at) == 0
    late = NOW + timedelta(seconds=301)
    throttle.record_failure(db_session, scope, policy, "192.0.2.9", "x", late)
    db_session.commit()
    assert throttle.wait_s(db_session, scope, policy, "192.0.2.9", "x", late) == 0


def test_two_fleet_processes_share_the_counts(settings: FleetSettings) -> None:
    with (
        client_from(settings, ATTACKER, NOW) as first,
        client_from(settings, ATTACKER, NOW) as second,
    ):
        for attempt in range(5):
            log_in(first if attempt % 2 else second, password="wrong password")
        assert log_in(first).status_code == 429
        assert log_in(second).status_code == 429


def test_throttled_attempts_are_audited_without_the_password(
    attacker: TestClient, settings: FleetSettings
) -> None:
    from .test_users import audit_actions

    for _attempt in range(6):
        log_in(attacker, username=ADMIN_USERNAME, password="hunter2-secret")
    actions = audit_actions(settings)
    assert actions.count("login_failed") == 5
    assert "login_throttled" in actions
    assert ADMIN_PASSWORD not in str(actions)
