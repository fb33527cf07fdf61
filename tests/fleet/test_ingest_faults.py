"""The fault suite: real agents, the real ``fleet ingest``, a real Mosquitto with the project's
configuration, and a database; faults while messages flow; then every message sent is stored
exactly once (see :mod:`tests.fleet.chaos` for how "sent" and "stored" are counted).

Short timings (a few hundred messages a second for a few seconds); ``bench/fleet_chaos.py`` runs
the same faults at 1,000 messages a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import Engine

from fleet.core.db import make_engine
from kiosk.contract.mqtt import FLEET_USERNAME
from tests.agent.broker_control import RestartableBroker
from tests.helpers import wait_until

from .chaos import (
    IngestProcess,
    TcpProxy,
    Terminal,
    fleet_credentials,
    ingest_env,
    tally,
    wait_drained,
    wait_stored,
)
from .conftest import throwaway_pg_database

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TERMINALS = ("bdx-chaos-001", "bdx-chaos-002", "bdx-chaos-003")


class Rig:
    """A broker, terminals and one ingest process on a database, for one test."""

    def __init__(self, work: Path, database_url: str, ticks_s: float = 0.02) -> None:
        self.work = work
        self.credentials = fleet_credentials(TERMINALS, extra_fleet_users=1)
        self.broker = RestartableBroker(work / "broker", self.credentials)
        self.database_url = database_url
        self.ingest = IngestProcess(
            ingest_env(
                database_url,
                self.broker.host,
                self.broker.port,
                self.credentials[FLEET_USERNAME],
            ),
            work / "ingest.log",
        )
        self.terminals = [
            Terminal(terminal_id, work / terminal_id, tick_s=ticks_s) for terminal_id in TERMINALS
        ]
        self.engine: Engine | None = None

    def start(self) -> None:
        self.broker.start()
        self.ingest.start()
        self.ingest.wait_connected(1, timeout_s=60)
        # The ingest migrated the database before it connected.
        self.engine = make_engine(self.database_url)
        for terminal in self.terminals:
            terminal.start(
                self.broker.host, self.broker.port, self.credentials[terminal.terminal_id]
            )

    def wait_flowing(self, count: int = 100) -> None:
        """Until ``count`` messages of each terminal were sent (they are leaving the outbox)."""
        wait_until(
            lambda: all(len(t.sent()) >= count for t in self.terminals),
            30,
            f"{count} messages sent by each terminal",
        )

    def finish(self, timeout_s: float = 60) -> dict[str, int]:
        """Let the outboxes drain, stop the agents, wait for the rest to be stored, count."""
        assert self.engine is not None
        wait_drained(self.terminals, below=20, timeout_s=timeout_s)
        for terminal in self.terminals:
            terminal.stop()
        wait_stored(self.engine, self.terminals, timeout_s=timeout_s)
        counted = tally(self.engine, self.terminals)
        print(f"\n{counted.as_dict()}")
        return counted.as_dict()

    def close(self) -> None:
        for terminal in self.terminals:
            terminal.stop()
        self.ingest.stop()
        self.broker.stop()
        if self.engine is not None:
            self.engine.dispose()


@pytest.fixture
def sqlite_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path, f"sqlite:///{tmp_path / 'fleet.db'}")
    try:
        yield rig
    finally:
        rig.close()


def assert_exactly_once(counted: dict[str, int], at_least: int) -> None:
    assert counted["sent"] >= at_least, counted
    assert counted["lost"] == 0, counted
    assert counted["duplicated"] == 0, counted
    assert counted["unexpected"] == 0, counted
    assert counted["stored"] == counted["sent"], counted


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_kill_9_of_the_ingest_mid_stream_then_a_restart(tmp_path: Path, backend: str) -> None:
    with throwaway_pg_database() if backend == "postgresql" else _sqlite(tmp_path) as url:
        rig = Rig(tmp_path, url)
        try:
            rig.start()
            rig.wait_flowing(100)
            for restart in (2, 3):
                rig.ingest.kill()
                time.sleep(1.0)  # away for a moment: the broker keeps what comes meanwhile
                rig.ingest.start()
                rig.ingest.wait_connected(restart, timeout_s=60)
                rig.wait_flowing(100 * restart)
            assert_exactly_once(rig.finish(), at_least=3 * 300)
        finally:
            rig.close()


def test_the_broker_killed_and_back_after_5_then_12_s_with_real_agents(sqlite_rig: Rig) -> None:
    rig = sqlite_rig
    rig.start()
    # The broker saves its state every 5 s: past that, the ingest's session is on disk.
    rig.wait_flowing(300)
    connections = rig.ingest.connections()
    for down_s in (5, 12):
        sent_before = sum(len(t.sent()) for t in rig.terminals)
        rig.broker.kill()
        time.sleep(down_s)
        rig.broker.start()
        back = rig.ingest.wait_connected(connections + 1, timeout_s=10)
        connections = rig.ingest.connections()
        assert back <= 1.5, f"the ingest came back {back:.2f} s after the broker"
        wait_until(
            lambda: sum(len(t.sent()) for t in rig.terminals) > sent_before + 150,  # noqa: B023
            60,
            "the agents sending again",
        )
    # What is measured is that nothing is lost or doubled, not how fast two backlogs drain at
    # 20 messages a second each on a machine busy with other tests (once past 60 s in a full run).
    assert_exactly_once(rig.finish(timeout_s=120), at_least=600)


@pytest.mark.parametrize("resend_acked_s", [None, 0])
def test_what_a_crashed_broker_had_not_saved_is_sent_again_by_the_agents(
    tmp_path: Path, resend_acked_s: float | None
) -> None:
    """The broker acknowledged messages, queued them for an ingest that was away, and died
    before it saved them. With the agent's default (``outbox.resend_acked_s``) they are sent
    again when the link drops and nothing is lost; with it turned off they are lost, which
    proves the test can see the loss."""
    rig = Rig(tmp_path, f"sqlite:///{tmp_path / 'fleet.db'}")
    for terminal in rig.terminals:
        terminal.resend_acked_s = resend_acked_s
    # The broker saves only at a clean stop: the kill below loses all it took since.
    conf = rig.broker.conf.read_text()
    assert "autosave_interval " in conf
    rig.broker.conf.write_text(
        "\n".join(
            "autosave_interval 3600" if line.startswith("autosave_interval ") else line
            for line in conf.splitlines()
        )
        + "\n"
    )
    try:
        rig.start()
        rig.wait_flowing(100)
        rig.ingest.stop()  # away: its persistent session keeps collecting for it
        rig.broker.stop()  # a clean stop saves that session
        rig.broker.start()
        sent_before = sum(len(t.sent()) for t in rig.terminals)
        wait_until(
            lambda: sum(len(t.sent()) for t in rig.terminals) > sent_before + 90,
            60,
            "the agents sending again to the broker",
        )
        rig.broker.kill()  # what it acknowledged since its start was never saved
        rig.broker.start()
        rig.ingest.start()
        rig.ingest.wait_connected(2, timeout_s=60)
        if resend_acked_s == 0:
            assert rig.engine is not None
            wait_drained(rig.terminals, below=20, timeout_s=60)
            for terminal in rig.terminals:
                terminal.stop()
            with pytest.raises(AssertionError, match="not everything sent was stored"):
                wait_stored(rig.engine, rig.terminals, timeout_s=10)
            assert tally(rig.engine, rig.terminals).lost > 0
        else:
            assert_exactly_once(rig.finish(), at_least=3 * 130)
    finally:
        rig.close()


@pytest.mark.postgres
def test_the_database_refusing_connections_for_30_s(tmp_path: Path) -> None:
    with throwaway_pg_database() as url:
        from sqlalchemy.engine import make_url

        real = make_url(url)
        with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
            proxied = real.set(host="127.0.0.1", port=proxy.port)
            # About 25 a second from each of the three terminals, through the outage.
            rig = Rig(tmp_path, proxied.render_as_string(hide_password=False), ticks_s=0.04)
            try:
                rig.start()
                rig.wait_flowing(100)
                proxy.refuse()
                refused_at = time.monotonic()
                sent_before = sum(len(t.sent()) for t in rig.terminals)
                # The agents go on: the broker acknowledges and holds what the ingest cannot
                # store (it stops sending once the ingest's window is full).
                wait_until(
                    lambda: sum(len(t.sent()) for t in rig.terminals) > sent_before + 1500,
                    40,
                    "the agents sending on while the database is away",
                )
                assert "The database does not answer" in rig.ingest.log()
                time.sleep(max(0.0, 30 - (time.monotonic() - refused_at)))
                proxy.open()
                recovered = time.monotonic()
                wait_until(
                    lambda: "The database answers again" in rig.ingest.log(),
                    30,
                    "the ingest to see the database again",
                )
                print(f"\nstoring again {time.monotonic() - recovered:.1f} s after the database")
                assert_exactly_once(rig.finish(timeout_s=120), at_least=1500)
            finally:
                rig.close()


def test_client_id_collisions_throw_nobody_off_and_lose_nothing(sqlite_rig: Rig) -> None:
    rig = sqlite_rig
    rig.start()
    rig.wait_flowing(100)
    attacker, victim = TERMINALS[0], TERMINALS[1]
    kicked: list[str] = []

    def collide(client_id: str) -> None:
        """Terminal A connects under another's client id, as the issue's attack did."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        client.username_pw_set(attacker, rig.credentials[attacker])
        connected = threading.Event()
        client.on_connect = lambda *_: connected.set()
        client.connect(rig.broker.host, rig.broker.port)
        client.loop_start()
        assert connected.wait(10)
        client.disconnect()
        client.loop_stop()

    for _ in range(5):
        for target in (FLEET_USERNAME, victim, f"kiosk-{victim}"):
            collide(target)
    broker_log = (rig.work / "broker" / "mosquitto.log").read_text()
    kicked = [
        line
        for line in broker_log.splitlines()
        if "already connected, closing old connection" in line and attacker not in line
    ]
    assert kicked == [], kicked
    assert rig.ingest.connections() == 1, "the ingest was thrown off"
    victim_log = rig.terminals[1].agents[0].log_path.read_text()
    assert "disconnected from" not in victim_log

    # A second ingest process started by mistake with the same identity does take the
    # session over (only the fleet's credentials can): they throw each other off until it is
    # killed, and still nothing is lost or stored twice.
    twin = IngestProcess(rig.ingest.env, rig.work / "twin.log")
    twin.start()
    try:
        twin.wait_connected(1, timeout_s=60)
        wait_until(lambda: rig.ingest.connections() >= 3, 30, "the two throwing each other off")
        wait_until(lambda: "probably connecting as 'fleet'" in rig.ingest.log(), 30, "the warning")
        twin.kill()
    finally:
        twin.stop()
    rig.wait_flowing(400)
    assert_exactly_once(rig.finish(), at_least=1200)


class _sqlite:
    """A context giving an SQLite URL in ``tmp_path`` (like ``throwaway_pg_database``)."""

    def __init__(self, tmp_path: Path) -> None:
        self.url = f"sqlite:///{tmp_path / 'fleet.db'}"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None
