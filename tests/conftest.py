"""Shared fixtures: a real Mosquitto with the project's configuration, on a free port."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.broker import RunningBroker, running_broker
from kiosk.contract import FLEET_USERNAME

#: Terminal ids every test broker knows, each with its own password.
TEST_TERMINALS = ("bdx-test-a", "bdx-test-b", "bdx-test-c")

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")


@dataclass
class TestBroker:
    __test__ = False  # a fixture value, not a test class
    running: RunningBroker
    credentials: dict[str, str]

    @property
    def host(self) -> str:
        return self.running.host

    @property
    def port(self) -> int:
        return self.running.port

    def password(self, username: str) -> str:
        return self.credentials[username]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TestBroker]:
    """A Mosquitto started for this test with the project's ACL and one user per terminal."""
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, *TEST_TERMINALS)}
    with running_broker(tmp_path / "broker", credentials) as running:
        yield TestBroker(running, credentials)
