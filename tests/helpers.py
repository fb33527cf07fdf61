"""Small helpers shared by the test packages: polling with a deadline, logging in to the fleet."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

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


@contextmanager
def served(app: Any, port: int | None = None) -> Iterator[str]:
    """``app`` served by a real uvicorn in a thread (streams and real HTTP clients need one),
    on ``port`` or a free one."""
    import uvicorn

    from fleet.broker import free_port

    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout_s=10, what="uvicorn started")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


#: Debian's Chromium (the Makefile installs it), driven by Playwright.
CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium tries to reach Google's services, which this closed network refuses.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium through a ``sync_playwright()`` context, quiet on the network."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
