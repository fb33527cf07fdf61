"""Small helpers shared by the test packages: polling with a deadline, logging in to the fleet."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "correct horse battery"


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Poll ``predicate`` until true and return the seconds it took; fail after the deadline."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def log_in(
    client: httpx.Client, username: str = ADMIN_USERNAME, password: str = ADMIN_PASSWORD
) -> httpx.Response:
    """Log in through the form, as a browser would; returns the response to the POST."""
    token = csrf_token_of(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
