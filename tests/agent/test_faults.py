"""The real agent against a real Mosquitto that fails: outages, kill -9, unusable queue, TLS.

Nothing here sleeps: every wait polls a condition with a deadline (the outbox database, the
agent's log, or what the fleet listener received).
"""

from __future__ import annotations

import secrets
import shutil
import signal
import sqlite3
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.ingest.handler import handle_message
from fleet.models import EventRecord
from kiosk.agent.outbox import DATABASE_NAME
from kiosk.contract.mqtt import FLEET_USERNAME, Event, Health, Status
from tests.agent.agent_process import STOP_TIMEOUT_S, AgentProcess, running_agent, write_config
from tests.agent.broker_control import RestartableBroker, make_tls_files, restartable_broker
from tests.agent.fleet_listener import FleetListener, Received, fleet_listener
from tests.helpers import wait_until

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

TERMINAL = "bdx-test-b"
#: Every sample is sent, a debug event every 50 ms: plenty of traffic in a short test.
BUSY = "[debug]\nemit_event_every_s = 0.05\n"


def _credentials() -> dict[str, str]:
    return {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, TERMINAL)}


def _queued(state_dir: Path) -> int:
    """Messages waiting in the agent's outbox, read from its database as another process would."""
    path = state_dir / "outbox" / DATABASE_NAME
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=5) as db:
        count: int = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        return count


def _is_status(state: str) -> Callable[[Received], bool]:
    def matches(received: Received) -> bool:
        message = received.message
        return isinstance(message, Status) and message.state == state

    return matches


def _ticks(received: Iterable[Received]) -> list[int]:
    """The ``n`` of each debug event, in the order the fleet received them (repeats included)."""
    return [
        int(r.message.data["n"])  # type: ignore[arg-type]
        for r in received
        if isinstance(r.message, Event) and r.message.kind == "debug_tick"
    ]


def _drain(listener: FleetListener) -> list[Received]:
    got = []
    while not listener.messages.empty():
        got.append(listener.messages.get_nowait())
    return got


def _collect_until(
    listener: FleetListener, done: Callable[[list[Received]], bool], timeout_s: float, what: str
) -> list[Received]:
    seen: list[Received] = []

    def progressed() -> bool:
        seen.extend(_drain(listener))
        return done(seen)

    wait_until(progressed, timeout_s, what)
    return seen


def _stop(agent: AgentProcess) -> None:
    agent.process.send_signal(signal.SIGTERM)
    assert agent.process.wait(timeout=STOP_TIMEOUT_S) == 0


def test_outage_then_every_event_once_in_order(tmp_path: Path) -> None:
    credentials = _credentials()
    state = tmp_path / "state"
    with restartable_broker(tmp_path / "broker", credentials) as broker:
        config = write_config(
            tmp_path / "agent.toml",
            TERMINAL,
            broker.host,
            broker.port,
            credentials[TERMINAL],
            state_dir=state,
            interval_s=0.2,
            # Drains four times faster than events come, so the backlog goes down.
            extra="[outbox]\ndrain_per_s = 100\n" + BUSY,
        )
        with (
            fleet_listener(
                broker.host, broker.port, credentials[FLEET_USERNAME], TERMINAL, "fleet-faults"
            ) as listener,
            running_agent(config, tmp_path / "agent.log") as agent,
        ):
            first_birth = listener.expect(_is_status("online")).message
            assert isinstance(first_birth, Status)
            # Taken from the listener's queue: counted below with the rest (a copy of it may
            # come again after the outage, and must not look like an event out of order).
            first_event = listener.expect(lambda r: isinstance(r.message, Event))

            broker.stop()
            agent.wait_for_log("disconnected from")
            # The agent goes on sampling and producing events into its queue.
            wait_until(lambda: _queued(state) >= 40, 15, "40 messages queued during the outage")

            broker.start()
            returned_at = time.monotonic()
            birth = listener.expect(
                lambda r: (
                    _is_status("online")(r)
                    and isinstance(r.message, Status)
                    and r.message.birth_seq > first_birth.birth_seq
                ),
                timeout_s=15,
            )
            back_after = birth.received_at - returned_at
            assert back_after <= 10, f"online {back_after:.1f} s after the broker returned"
            wait_until(lambda: _queued(state) < 5, 15, "the queue drained after the outage")
            _stop(agent)
            received = [first_event, *_drain(listener)]
        assert listener.rejected == []

    ticks = _ticks(received)
    unique = list(dict.fromkeys(ticks))
    # Every event once (repeats from resends are allowed on the wire, the fleet drops them),
    # in order, from the first to the last produced.
    assert unique == sorted(unique)
    assert unique == list(range(unique[0], unique[-1] + 1))
    assert len(unique) >= 40


def test_kill_mid_drain_loses_and_duplicates_nothing_in_the_fleet(tmp_path: Path) -> None:
    credentials = _credentials()
    state = tmp_path / "state"
    with (
        restartable_broker(tmp_path / "broker", credentials) as broker,
        fleet_listener(broker.host, broker.port, credentials[FLEET_USERNAME], TERMINAL) as listener,
    ):

        def config(extra: str) -> Path:
            return write_config(
                tmp_path / "agent.toml",
                TERMINAL,
                broker.host,
                broker.port,
                credentials[TERMINAL],
                state_dir=state,
                interval_s=0.5,
                extra=extra,
            )

        # Events come four times faster than the queue drains: a backlog builds up.
        slow = config("[outbox]\ndrain_per_s = 5\n" + BUSY)
        with running_agent(slow, tmp_path / "agent1.log") as agent:
            received = _collect_until(
                listener, lambda got: len(_ticks(got)) >= 10, 20, "10 events received"
            )
            assert _queued(state) > 10
            agent.process.kill()
            agent.process.wait(timeout=STOP_TIMEOUT_S)
        left = _queued(state)
        assert left > 0, "the kill came after the drain, not during it"

        with running_agent(config(""), tmp_path / "agent2.log") as agent:
            received += _collect_until(listener, lambda _: _queued(state) == 0, 20, "drained")
            _stop(agent)
        received += _drain(listener)
        assert listener.rejected == []

    # What the fleet stores, de-duplicated by (terminal, seq, sent_at).
    engine = make_engine(f"sqlite:///{tmp_path / 'fleet.db'}")
    upgrade_database(engine)
    with make_session_factory(engine)() as session:
        outcomes = [
            handle_message(session, r.topic, r.payload, datetime.now(UTC)).kind for r in received
        ]
        stored = session.scalar(
            select(func.count()).select_from(EventRecord).where(EventRecord.kind == "debug_tick")
        )
        ns = sorted(
            int(data["n"])
            for data in session.scalars(
                select(EventRecord.data).where(EventRecord.kind == "debug_tick")
            )
        )
    assert "rejected" not in outcomes
    last = max(_ticks(received))
    assert ns == list(range(1, last + 1)), "an event was lost or stored twice"
    assert stored == last


def test_unusable_queue_directory_keeps_the_agent_running(tmp_path: Path) -> None:
    credentials = _credentials()
    state = tmp_path / "state"
    state.mkdir()
    # Tests run as root, which ignores permission bits: a file where the queue's directory
    # should be makes it unusable (ENOTDIR) on the same path as a read-only or full disk.
    blocker = state / "outbox"
    blocker.write_text("in the way")
    with restartable_broker(tmp_path / "broker", credentials) as broker:
        config = write_config(
            tmp_path / "agent.toml",
            TERMINAL,
            broker.host,
            broker.port,
            credentials[TERMINAL],
            state_dir=state,
            interval_s=0.2,
        )
        with (
            fleet_listener(
                broker.host, broker.port, credentials[FLEET_USERNAME], TERMINAL
            ) as listener,
            running_agent(config, tmp_path / "agent.log") as agent,
        ):
            line = agent.wait_for_log("message queue degraded")
            assert TERMINAL in line
            notice = listener.expect(
                lambda r: isinstance(r.message, Event) and r.message.kind == "outbox_degraded"
            )
            assert isinstance(notice.message, Event)
            listener.expect(lambda r: isinstance(r.message, Health))

            blocker.unlink()
            agent.wait_for_log("message queue back on disk", timeout_s=15)
            assert (blocker / DATABASE_NAME).exists()
            assert agent.process.poll() is None
            listener.expect(lambda r: isinstance(r.message, Health))
            _stop(agent)
        assert listener.rejected == []


def test_tls_with_the_project_ca(tmp_path: Path) -> None:
    credentials = _credentials()
    tls = make_tls_files(tmp_path / "pki")
    with restartable_broker(tmp_path / "broker", credentials, tls=tls) as broker:
        assert broker.tls_port is not None
        config = write_config(
            tmp_path / "agent.toml",
            TERMINAL,
            broker.host,
            broker.tls_port,
            credentials[TERMINAL],
            ca_file=tls.ca_file,
        )
        with (
            fleet_listener(
                broker.host, broker.port, credentials[FLEET_USERNAME], TERMINAL
            ) as listener,
            running_agent(config, tmp_path / "agent.log") as agent,
        ):
            listener.expect(_is_status("online"))
            listener.expect(lambda r: isinstance(r.message, Health))
            _stop(agent)

        # A CA that did not sign the broker's certificate: refused, retried, never fatal.
        other = make_tls_files(tmp_path / "other-pki")
        shutil.copy(other.ca_file, tmp_path / "wrong-ca.pem")
        wrong = write_config(
            tmp_path / "wrong.toml",
            TERMINAL,
            broker.host,
            broker.tls_port,
            credentials[TERMINAL],
            ca_file=tmp_path / "wrong-ca.pem",
        )
        with running_agent(wrong, tmp_path / "wrong.log") as agent:
            line = agent.wait_for_log("cannot reach broker")
            assert "CERTIFICATE_VERIFY_FAILED" in line
            assert agent.process.poll() is None


def test_broker_restart_brings_the_agent_back(tmp_path: Path) -> None:
    credentials = _credentials()
    with restartable_broker(tmp_path / "broker", credentials) as broker:
        config = write_config(
            tmp_path / "agent.toml", TERMINAL, broker.host, broker.port, credentials[TERMINAL]
        )
        with running_agent(config, tmp_path / "agent.log") as agent:
            agent.wait_for_log("connected to")
            for _ in range(2):
                restart(broker)
                returned_at = time.monotonic()
                agent.wait_for_log("connected to", timeout_s=10)
                assert time.monotonic() - returned_at <= 10
            _stop(agent)


def restart(broker: RestartableBroker) -> None:
    broker.stop()
    broker.start()
