"""Several ingest processes in one share group, started and kept by ``fleet serve --ingests N``.

One Python process stores at most what one core allows (docs/fleet-ingest.md, docs/scaling.md);
the documented way past it is several ``fleet ingest`` processes in an MQTT v5 share group, the
broker giving each message to one of them. The project's broker takes a client's user name as
its client id, so each process needs its own broker user: ``fleet`` (the configured one, with
its configured password) for the first, ``fleet-2`` ... ``fleet-N`` for the others, which the
supervisor creates in the broker's live password file (``FLEET_ENROLMENT_BROKER_PASSWORD_FILE``,
the one enrolment writes) with a fresh random password at every start, then reloads the broker.

Each child is the ``fleet ingest`` command itself, with the same settings (environment and
``--config`` file) and four variables of its own: the share group, its user, its password and
its client id. A child that exits is started again after a delay that doubles up to
``RESTART_MAX_S`` (and goes back to the first delay once it has run a minute); ``stop`` sends
SIGTERM to all, which store what they hold before they exit, and kills what has not exited
after ``STOP_GRACE_S``.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from fleet.broker import BrokerCredentials, fleet_users_in_acl
from fleet.core.config import FleetSettings
from kiosk.contract.mqtt import FLEET_USERNAME

logger = logging.getLogger(__name__)

#: Bounds of ``fleet serve --ingests``: beyond the machine's cores a process only waits.
MAX_INGESTS: Final = 64
#: The share group used when ``FLEET_INGEST_SHARE_GROUP`` is empty (several processes without
#: one would each store every message).
DEFAULT_SHARE_GROUP: Final = "fleet"
RESTART_FIRST_S: Final = 1.0
RESTART_MAX_S: Final = 30.0
#: A child that ran this long before it exited is restarted after the first delay again.
STEADY_S: Final = 60.0
STOP_GRACE_S: Final = 30.0


class SupervisorError(Exception):
    """The ingests cannot be started as asked (said to the operator, nothing started)."""


def ingest_username(number: int, first: str = FLEET_USERNAME) -> str:
    """The broker user of the ``number``-th ingest (1-based): the configured one, then fleet-N."""
    return first if number == 1 else f"{FLEET_USERNAME}-{number}"


@dataclass
class Child:
    number: int
    username: str
    password: str
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    delay_s: float = RESTART_FIRST_S
    restarts: int = 0
    next_start: float = 0.0


@dataclass
class IngestSupervisor:
    """Start ``count`` ``fleet ingest`` processes in one share group and keep them running."""

    settings: FleetSettings
    count: int
    credentials: BrokerCredentials | None
    config_file: Path | None = None
    #: The ``fleet`` command, run as this Python's module (no installed script needed).
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "fleet.cli"])
    children: list[Child] = field(default_factory=list)
    #: False: only the plan (users, ACL check), as a test builds it without a broker.
    check_credentials: bool = True
    _stop: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_INGESTS:
            raise SupervisorError(f"--ingests must be between 1 and {MAX_INGESTS}")
        first_password = self.settings.resolved_broker_password()
        if first_password is None:
            raise SupervisorError("the first ingest has no broker password (FLEET_BROKER_PASSWORD)")
        if self.count > 1 and self.credentials is None and self.check_credentials:
            raise SupervisorError(
                "several ingests need broker users of their own (fleet-2 ...), which the fleet "
                "creates in the broker's password file: set FLEET_ENROLMENT_BROKER_PASSWORD_FILE "
                "(and its pid file or reload command)"
            )
        first = ingest_username(1, self.settings.broker_username)
        self.children = [Child(1, first, first_password)]
        self.children += [
            Child(n, ingest_username(n), secrets.token_urlsafe(24))
            for n in range(2, self.count + 1)
        ]

    @property
    def share_group(self) -> str:
        return self.settings.ingest_share_group or DEFAULT_SHARE_GROUP

    def missing_rights(self, acl_file: Path) -> list[str]:
        """The ingests' users the broker's ACL does not give the fleet's rights (see
        :func:`fleet.broker.fleet_users_in_acl`: without them a member's share is dropped)."""
        granted = fleet_users_in_acl(acl_file)
        return [child.username for child in self.children if child.username not in granted]

    def start(self) -> None:
        """Create the extra broker users, start every child, and watch them."""
        if self.credentials is not None:
            for child in self.children[1:]:
                self.credentials.set_user(child.username, child.password)
        for child in self.children:
            self._spawn(child)
        self._watcher = threading.Thread(target=self._watch, name="ingest-supervisor", daemon=True)
        self._watcher.start()
        logger.info(
            "%d ingest processes in the share group %r: %s",
            self.count,
            self.share_group,
            ", ".join(child.username for child in self.children),
        )

    def _environment(self, child: Child) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("FLEET_BROKER_PASSWORD_FILE", None)
        env.update(
            {
                "FLEET_INGEST_SHARE_GROUP": self.share_group,
                "FLEET_BROKER_USERNAME": child.username,
                "FLEET_BROKER_PASSWORD": child.password,
                "FLEET_INGEST_CLIENT_ID": child.username,
            }
        )
        return env

    def _spawn(self, child: Child) -> None:
        config = ["--config", str(self.config_file)] if self.config_file else []
        child.process = subprocess.Popen(
            [*self.command, *config, "ingest"], env=self._environment(child)
        )
        child.started_at = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            for child in self.children:
                self._keep(child)

    def _keep(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is None:
            if now >= child.next_start and not self._stop.is_set():
                child.restarts += 1
                logger.warning("Starting the ingest %s again", child.username)
                self._spawn(child)
            return
        code = child.process.poll()
        if code is None:
            return
        ran_s = now - child.started_at
        child.delay_s = (
            RESTART_FIRST_S if ran_s >= STEADY_S else min(child.delay_s * 2, RESTART_MAX_S)
        )
        child.next_start = now + child.delay_s
        child.process = None
        logger.error(
            "The ingest %s exited (code %s) after %.0f s; started again in %.0f s",
            child.username,
            code,
            ran_s,
            child.delay_s,
        )

    def pids(self) -> dict[str, int | None]:
        return {c.username: (c.process.pid if c.process else None) for c in self.children}

    def stop(self) -> None:
        """SIGTERM to every child (each stores what it holds), then kill what lingers."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
