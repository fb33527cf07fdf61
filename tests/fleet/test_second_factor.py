"""The second factor: TOTP set up from the account page, asked at login, recovery codes shown
once and used once, required for operators and administrators when the fleet says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.main import create_app
from tests.helpers import csrf_token_of, log_in

from .conftest import NOW, make_settings, prepare_database
from .test_command_web import PASSWORD, add_user
from .test_users import audit_actions


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def browser(settings: FleetSettings, clock: Clock) -> TestClient:
    app = create_app(settings, start_ingest=False)
    app.state.clock = clock
    return TestClient(app)


@pytest.fixture
def person(settings: FleetSettings, clock: Clock) -> Iterator[TestClient]:
    with browser(settings, clock) as client:
        yield client


def set_up(client: TestClient, clock: Clock) -> tuple[str, list[str]]:
    """Turn the second factor on from the account page; returns the secret and the codes."""
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page.text)
    assert match is not None
    secret = match.group(1).replace(" ", "")
    assert "<svg" in page.text  # the QR code, inline
    done = client.post(
        "/account/second-factor",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_token_of(page.text)},
    )
    assert done.status_code == 201, done.text
    codes = re.findall(r"<code[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>", done.text)
    assert len(codes) == 10
    return secret, codes


def second_factor(client: TestClient, code: str) -> httpx.Response:
    page = client.get("/login/second-factor")
    return client.post(
        "/login/second-factor",
        data={"code": code, "csrf_token": csrf_token_of(page.text)},
        follow_redirects=False,
    )


def dashboard(client: TestClient) -> tuple[int, str]:
    response = client.get("/", follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def test_set_up_then_asked_at_every_login(
    person: TestClient, settings: FleetSettings, clock: Clock
) -> None:
    log_in(person)
    secret, _codes = set_up(person, clock)
    assert "second_factor_enabled" in audit_actions(settings)
    # The codes are shown once: the account page does not show them again.
    assert "-" not in "".join(re.findall(r"<code[^>]*>([^<]*)</code>", person.get("/account").text))

    person.cookies.clear()
    clock.advance(60)
    password_only = log_in(person)
    assert password_only.headers["location"] == "/login/second-factor"
    assert dashboard(person) == (303, "/login")  # nothing opens with the password alone
    assert person.get("/api/v1/terminals").status_code == 401
    assert second_factor(person, "000000").status_code == 401
    code = pyotp.TOTP(secret).at(clock.now)
    assert second_factor(person, code).headers["location"] == "/"
    assert dashboard(person) == (200, "")

    # The same code, seen over a shoulder, does not open a second session.
    with browser(settings, clock) as onlooker:
        log_in(onlooker)
        assert second_factor(onlooker, code).status_code == 401


def test_a_recovery_code_works_once(
    person: TestClient, settings: FleetSettings, clock: Clock
) -> None:
    log_in(person)
    _secret, codes = set_up(person, clock)
    person.cookies.clear()
    log_in(person)
    assert second_factor(person, codes[0].lower().replace("-", " ")).status_code == 303
    assert "Codes de secours restants : 9" in person.get("/account").text or (
        "Recovery codes left: 9" in person.get("/account").text
    )
    person.cookies.clear()
    log_in(person)
    assert second_factor(person, codes[0]).status_code == 401
    assert "recovery_code_used" in audit_actions(settings)


def test_wrong_codes_are_throttled(person: TestClient, clock: Clock) -> None:
    log_in(person)
    set_up(person, clock)
    person.cookies.clear()
    log_in(person)
    for _attempt in range(5):
        assert second_factor(person, "123456").status_code == 401
    assert second_factor(person, "123456").status_code == 429


def test_logging_in_again_does_not_reset_the_count_of_wrong_codes(
    person: TestClient, clock: Clock
) -> None:
    """Someone who knows the password must not get endless guesses at the code."""
    log_in(person)
    set_up(person, clock)
    for _round in range(5):
        person.cookies.clear()
        assert log_in(person).headers["location"] == "/login/second-factor"
        assert second_factor(person, "123456").status_code == 401
    person.cookies.clear()
    assert log_in(person).status_code == 429  # five wrong codes: this address waits


def test_the_password_step_expires(person: TestClient, clock: Clock) -> None:
    log_in(person)
    secret, _codes = set_up(person, clock)
    person.cookies.clear()
    log_in(person)
    clock.advance(6 * 60)
    late = second_factor(person, pyotp.TOTP(secret).at(clock.now))
    assert late.headers["location"] == "/login"


def test_new_recovery_codes_replace_the_old_ones(person: TestClient, clock: Clock) -> None:
    log_in(person)
    secret, old = set_up(person, clock)
    clock.advance(30)
    page = person.get("/account")
    renewed = person.post(
        "/account/second-factor/recovery-codes",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": csrf_token_of(page.text)},
    )
    fresh = re.findall(r"<code[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</code>", renewed.text)
    assert len(fresh) == 10
    assert not set(fresh) & set(old)
    person.cookies.clear()
    log_in(person)
    assert second_factor(person, old[1]).status_code == 401
    assert second_factor(person, fresh[1]).status_code == 303


def test_turning_it_off_needs_a_code(person: TestClient, clock: Clock) -> None:
    log_in(person)
    secret, _codes = set_up(person, clock)
    token = csrf_token_of(person.get("/account").text)
    refused = person.post(
        "/account/second-factor/disable", data={"code": "000000", "csrf_token": token}
    )
    assert refused.status_code == 400
    clock.advance(30)
    person.post(
        "/account/second-factor/disable",
        data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": token},
    )
    person.cookies.clear()
    assert log_in(person).headers["location"] == "/"


@pytest.fixture
def strict(tmp_path: Path) -> FleetSettings:
    settings = make_settings(tmp_path, second_factor_required=True)
    prepare_database(settings)
    return settings


def test_required_for_operators_and_administrators(strict: FleetSettings, clock: Clock) -> None:
    add_user(strict, "operator", "operator")
    add_user(strict, "viewer", "viewer")
    with browser(strict, clock) as viewer:
        log_in(viewer, "viewer", PASSWORD)
        assert dashboard(viewer) == (200, "")
    with browser(strict, clock) as operator:
        log_in(operator, "operator", PASSWORD)
        for path in ("/", "/alerts", "/enrolment", "/rollouts"):
            answer = operator.get(path, follow_redirects=False)
            assert answer.headers["location"] == "/account/second-factor", path
        assert operator.get("/api/v1/terminals").status_code == 403
        secret, _codes = set_up(operator, clock)
        assert dashboard(operator) == (200, "")
        # And it cannot be turned off again.
        token = csrf_token_of(operator.get("/account").text)
        clock.advance(30)
        kept = operator.post(
            "/account/second-factor/disable",
            data={"code": pyotp.TOTP(secret).at(clock.now), "csrf_token": token},
        )
        assert kept.status_code == 409


def test_an_administrator_resets_a_lost_second_factor(strict: FleetSettings, clock: Clock) -> None:
    add_user(strict, "operator", "operator")
    with browser(strict, clock) as operator, browser(strict, clock) as admin:
        log_in(operator, "operator", PASSWORD)
        set_up(operator, clock)
        log_in(admin)
        set_up(admin, clock)
        users = admin.get("/users").text
        row = users.split('data-username="operator"')[1].split("</tr>")[0]
        reset = re.search(r'action="(/users/\d+/second-factor/reset)"', row)
        assert reset is not None
        admin.post(reset.group(1), data={"csrf_token": csrf_token_of(users)})
        assert dashboard(operator) == (303, "/login")  # their sessions ended
        operator.cookies.clear()
        # At the next login, set it up again before anything else.
        assert log_in(operator, "operator", PASSWORD).headers["location"] == "/"
        assert dashboard(operator) == (303, "/account/second-factor")
    assert "user_second_factor_reset" in audit_actions(strict)
