"""What the fault tests and ``bench/fleet_chaos.py`` share: the real ``fleet ingest`` as its own
process, real agents, a TCP proxy that makes a database refuse, and the count of what each
terminal sent against what the fleet stored.

"Sent" is what the broker acknowledged to an agent: every message the agent queued (its log
says so, with the message's ``seq``) that is no longer in its outbox once it stopped. "Stored"
is every row of the terminal's ``health_samples``, ``events`` and ``command_acks``. Both are
compared by ``seq``, which one counter hands out across the three (and across restarts).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, select

from fleet.broker import free_port
from fleet.models import CommandAckRecord, EventRecord, HealthSample
from kiosk.agent.outbox import DATABASE_NAME
from kiosk.contract.mqtt import FLEET_USERNAME
from tests.agent.agent_process import AgentProcess, write_config

SCRIPTS = Path(sys.executable).parent
_QUEUED_RE = re.compile(r"terminal (\S+): (?:health (\d+) queued|event \S+ queued \(seq (\d+)\))")


def fleet_credentials(terminals: Iterable[str], extra_fleet_users: int = 0) -> dict[str, str]:
    """Passwords for the fleet's user(s) and each terminal."""
    names = [FLEET_USERNAME, *(f"{FLEET_USERNAME}-{n}" for n in range(2, 2 + extra_fleet_users))]
    return {name: secrets.token_urlsafe(12) for name in (*names, *terminals)}


class IngestProcess:
    """``fleet ingest`` (the real command) with the given settings; its log in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            self.process = subprocess.Popen(
                [str(SCRIPTS / "fleet"), "ingest"], env=self.env, stdout=log, stderr=log
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def connections(self) -> int:
        """How many times it connected to the broker (all runs)."""
        return self.log().count("Connected to the MQTT broker")

    def wait_connected(self, count: int, timeout_s: float) -> float:
        """Poll its log until it has connected ``count`` times; the seconds it took."""
        started = time.monotonic()
        while self.connections() < count:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"fleet ingest exited; see {self.log_path}")
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"fleet ingest did not connect; see {self.log_path}")
            time.sleep(0.02)
        return time.monotonic() - started

    def kill(self) -> None:
        """``kill -9``: nothing is flushed, nothing acknowledged."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def ingest_env(
    database_url: str, host: str, port: int, password: str, username: str = FLEET_USERNAME
) -> dict[str, str]:
    return {
        "FLEET_DATABASE_URL": database_url,
        "FLEET_BROKER_HOST": host,
        "FLEET_BROKER_PORT": str(port),
        "FLEET_BROKER_USERNAME": username,
        "FLEET_BROKER_PASSWORD": password,
        "FLEET_BROKER_KEEPALIVE_S": "5",
        "FLEET_INGEST_BATCH_WAIT_S": "0.1",
        "FLEET_KEEPER_INTERVAL_S": "1",
    }


@dataclass
class Terminal:
    """A real ``kiosk-agent`` that queues a debug event every ``tick_s`` besides its health."""

    terminal_id: str
    work: Path
    tick_s: float = 0.02
    drain_per_s: float = 200.0
    #: ``outbox.resend_acked_s``; None: the agent's default.
    resend_acked_s: float | None = None
    agents: list[AgentProcess] = field(default_factory=list)

    @property
    def state_dir(self) -> Path:
        return self.work / "state"

    def start(self, host: str, port: int, password: str) -> AgentProcess:
        self.work.mkdir(parents=True, exist_ok=True)
        resend = "" if self.resend_acked_s is None else f"resend_acked_s = {self.resend_acked_s}\n"
        config = write_config(
            self.work / "agent.toml",
            self.terminal_id,
            host,
            port,
            password,
            state_dir=self.state_dir,
            interval_s=0.5,
            extra=f"[outbox]\ndrain_per_s = {self.drain_per_s}\n{resend}"
            f"[debug]\nemit_event_every_s = {self.tick_s}\n",
        )
        agent = AgentProcess(config, self.work / f"agent-{len(self.agents) + 1}.log")
        self.agents.append(agent)
        return agent

    def queued(self) -> int:
        """Messages in its outbox, read as another process would."""
        return len(self._outbox_payloads())

    def _outbox_payloads(self) -> list[bytes]:
        path = self.state_dir / "outbox" / DATABASE_NAME
        if not path.exists():
            return []
        try:
            with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
                return [bytes(row[0]) for row in db.execute("SELECT payload FROM outbox")]
        except sqlite3.OperationalError:
            return []  # being created by the agent

    def stop(self) -> None:
        """SIGTERM, as systemd stops it; what is still queued stays in the outbox (unsent)."""
        for agent in self.agents:
            if agent.process.poll() is None:
                agent.process.send_signal(signal.SIGTERM)
                agent.process.wait(timeout=20)
            agent.stop()

    def sent(self) -> set[int]:
        """The seq of every message queued (its logs) minus those still in the outbox."""
        queued: set[int] = set()
        for agent in self.agents:
            for found in _QUEUED_RE.finditer(agent.log_path.read_text(errors="replace")):
                if found[1] == self.terminal_id:
                    queued.add(int(found[2] or found[3]))
        return queued - self._left_in_outbox()

    def _left_in_outbox(self) -> set[int]:
        return {int(json.loads(payload)["seq"]) for payload in self._outbox_payloads()}


def stored_seqs(engine: Engine, terminal_id: str) -> Counter[int]:
    """Every stored row of the terminal, by seq (a count above 1 is a duplicate)."""
    found: Counter[int] = Counter()
    with engine.connect() as connection:
        for model in (HealthSample, EventRecord, CommandAckRecord):
            found.update(
                connection.scalars(select(model.seq).where(model.terminal_id == terminal_id))
            )
    return found


@dataclass(frozen=True)
class Tally:
    """Sent against stored, for a set of terminals."""

    sent: int
    stored: int
    lost: int
    duplicated: int
    #: Stored but never sent (a bug in the count or the store): must be zero.
    unexpected: int

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "stored": self.stored,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "unexpected": self.unexpected,
        }


def tally(engine: Engine, terminals: Iterable[Terminal]) -> Tally:
    sent = stored = lost = duplicated = unexpected = 0
    for terminal in terminals:
        expected = terminal.sent()
        rows = stored_seqs(engine, terminal.terminal_id)
        sent += len(expected)
        stored += sum(rows.values())
        lost += len(expected - set(rows))
        duplicated += sum(count - 1 for count in rows.values() if count > 1)
        unexpected += len(set(rows) - expected - terminal._left_in_outbox())
    return Tally(sent, stored, lost, duplicated, unexpected)


def wait_stored(engine: Engine, terminals: Iterable[Terminal], timeout_s: float) -> float:
    """Poll until every message each terminal sent is stored; the seconds it took."""
    terminals = list(terminals)
    started = time.monotonic()
    while True:
        if all(
            terminal.sent() <= set(stored_seqs(engine, terminal.terminal_id))
            for terminal in terminals
        ):
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise AssertionError(
                f"not everything sent was stored within {timeout_s} s: {tally(engine, terminals)}"
            )
        time.sleep(0.2)


def wait_drained(terminals: Iterable[Terminal], below: int, timeout_s: float) -> None:
    """Poll until every terminal's outbox holds fewer than ``below`` messages."""
    terminals = list(terminals)
    deadline = time.monotonic() + timeout_s
    while any(terminal.queued() >= below for terminal in terminals):
        if time.monotonic() > deadline:
            raise AssertionError(f"outboxes not drained within {timeout_s} s")
        time.sleep(0.1)


class TcpProxy:
    """A TCP relay to ``target`` on a port of its own, which can refuse connections for a
    while (:meth:`refuse` closes the listening socket and every relayed connection)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._closed = threading.Event()
        #: Connections accepted and refused (attempts while refusing), for the report.
        self.accepted = 0

    def __enter__(self) -> TcpProxy:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self._closed.set()
        self.refuse()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def refuse(self) -> None:
        """From now on, connections are refused and those open are cut."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._connections |= {client, upstream}
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def running(ingest: IngestProcess) -> Iterator[IngestProcess]:
    ingest.start()
    try:
        yield ingest
    finally:
        ingest.stop()
