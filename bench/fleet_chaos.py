"""The fleet under faults at 1,000 messages a second; prints one JSON object.

Each scenario starts its own Mosquitto with the project's configuration (persistence, limits,
client ids tied to user names) and 50 terminal users, the real ``fleet ingest`` process on a
fresh database (an SQLite file, or a throwaway database on ``--pg``), then 2 publisher
processes of 25 terminals each publish valid health reports (QoS 1) at ``--rate`` in total for
``--duration`` seconds, while the fault happens. A publisher keeps what the broker has not
acknowledged and sends it again after a reconnection, and when a link drops what the broker
acknowledged in the last ``outbox.resend_acked_s`` before it, as the agent does.

- ``sent``: acknowledged by the broker to the publishers; ``stored``: rows; ``lost``: sent and
  not stored; ``duplicated``: rows beyond one per (terminal, seq).
- ``recovery_s``: from the end of the fault until everything sent before it was stored;
  ``ingest_back_s`` (broker faults): from the broker's restart to the ingest's reconnection.
- ``poison``: 10,000 reports with and without 20 poison messages a second (acks for unknown
  commands, ``seq`` = 2^63) from another terminal; ``ratio`` = poisoned / clean time.

No floor: what is measured is how many messages a fault loses or repeats (the target and the
floor are both zero, and a ratio to zero means nothing) and how long the fleet takes to recover
from a crash nothing simpler survives; the reference is the same run's clean scenario (and the
poison ratio). The JSON's ``floor`` says so, with the messages lost in all scenarios.

Run from the repository root (takes a few minutes):

    .venv/bin/python -m bench.fleet_chaos [--pg postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.fleet_ingest import database, health_template, sent_at_now
from bench.floor import emit, no_floor
from fleet.core.db import make_engine
from fleet.models import HealthSample, RejectedMessage
from kiosk.agent.config import OutboxSettings
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, CommandAck, topic_for
from tests.agent.broker_control import RestartableBroker
from tests.fleet.chaos import IngestProcess, TcpProxy, fleet_credentials, ingest_env

ROOT = Path(__file__).resolve().parent.parent

TERMINALS = [f"bdx-chaos-{i:03d}" for i in range(50)]
POISONER = "bdx-chaos-poison"


def publish_process(
    port: int,
    credentials: dict[str, str],
    rate: float,
    total: int,
    start_at: float,
    acked_count: Any,
    results: Any,
    window_s: float,
) -> None:
    """Publish ``total`` reports across these terminals at ``rate``; report what was acked.

    As the agent's outbox does: paho keeps a QoS 1 message until its PUBACK (published while
    disconnected too, with no limit) and sends it again after a reconnection; and when a link
    drops, what the broker acknowledged within ``window_s`` (``outbox.resend_acked_s``) of its
    latest acknowledgement is published again, since a broker killed before its next
    save has lost it. paho's threads only note acks and drops; this thread does every publish.
    """
    lock = threading.Lock()
    noted: list[tuple[str, str, int, float]] = []  # ("ack" | "drop", terminal, mid, when)
    clients: dict[str, tuple[str, mqtt.Client]] = {}
    for terminal_id, password in credentials.items():
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=terminal_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        client.username_pw_set(terminal_id, password)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(1, 4)

        def on_publish(
            _c: Any, _u: Any, mid: int, code: Any, _p: Any, t: str = terminal_id
        ) -> None:
            if not code.is_failure:
                with lock:
                    noted.append(("ack", t, mid, time.monotonic()))

        def on_disconnect(
            _c: Any, _u: Any, _f: Any, _r: Any, _p: Any, t: str = terminal_id
        ) -> None:
            with lock:
                noted.append(("drop", t, 0, time.monotonic()))

        client.on_publish = on_publish
        client.on_disconnect = on_disconnect
        client.connect("127.0.0.1", port)
        client.loop_start()
        clients[terminal_id] = (topic_for(terminal_id, Channel.HEALTH), client)
    pending: dict[tuple[str, int], tuple[int, bytes]] = {}  # (terminal, mid) -> seq, payload
    sent: dict[str, set[int]] = {terminal: set() for terminal in clients}
    recent: dict[str, collections.deque[tuple[float, int, bytes]]] = {
        terminal: collections.deque() for terminal in clients
    }
    stopping = False

    def publish(terminal_id: str, seq: int, payload: bytes) -> None:
        topic, client = clients[terminal_id]
        pending[(terminal_id, client.publish(topic, payload, qos=1).mid)] = (seq, payload)

    def settle() -> None:
        with lock:
            batch = noted[:]
            noted.clear()
        for what, terminal_id, mid, when in batch:
            if what == "ack":
                seq, payload = pending.pop((terminal_id, mid), (0, b""))
                if not payload:
                    continue
                if seq not in sent[terminal_id]:
                    sent[terminal_id].add(seq)
                    _add(acked_count)
                kept = recent[terminal_id]
                kept.append((when, seq, payload))
                while kept and kept[0][0] < when - window_s:
                    kept.popleft()
            elif not stopping:
                for _when, seq, payload in recent[terminal_id]:
                    publish(terminal_id, seq, payload)
                recent[terminal_id].clear()

    template = health_template()
    terminals = list(clients)
    while time.time() < start_at:
        time.sleep(0.01)
    for i in range(total):
        ahead = start_at + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        if i % 50 == 0:
            settle()
        terminal_id = terminals[i % len(terminals)]
        seq = i // len(terminals) + 1
        publish(terminal_id, seq, template.format(seq=seq, sent_at=sent_at_now()).encode())
    deadline = time.time() + 180
    while time.time() < deadline:
        settle()
        if not pending:
            break
        time.sleep(0.2)
    stopping = True
    for _topic, client in clients.values():
        client.disconnect()
        client.loop_stop()
    results.put({terminal: sorted(seqs) for terminal, seqs in sent.items()})


def _add(counter: Any) -> None:
    with counter.get_lock():
        counter.value += 1


def poison_process(port: int, password: str, per_s: float, stop_at: float) -> None:
    """20 poison messages a second: acks for commands nobody sent, and ``seq`` = 2^63."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=POISONER, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(POISONER, password)
    client.connect("127.0.0.1", port)
    client.loop_start()
    bad_seq = health_template().format(seq=2**63, sent_at=sent_at_now()).encode()
    n = 0
    while time.time() < stop_at:
        n += 1
        ack = CommandAck.model_validate(
            {"id": f"unknown-command-{n:08d}", "result": "done", "seq": n, "sent_at": sent_at_now()}
        )
        client.publish(topic_for(POISONER, Channel.CMD_ACK), ack.to_bytes(), qos=1)
        client.publish(topic_for(POISONER, Channel.HEALTH), bad_seq, qos=1)
        time.sleep(2 / per_s)
    client.disconnect()
    client.loop_stop()


class Stack:
    """Broker, database, ingest process and publishers for one scenario."""

    def __init__(
        self,
        work: Path,
        database_url: str,
        proxy: TcpProxy | None = None,
        resend_acked_s: float | None = None,
    ) -> None:
        self.resend_acked_s = (
            OutboxSettings().resend_acked_s if resend_acked_s is None else resend_acked_s
        )
        self.credentials = fleet_credentials([*TERMINALS, POISONER])
        self.broker = RestartableBroker(work / "broker", self.credentials)
        self.proxy = proxy
        url = database_url
        if proxy is not None:
            url = (
                make_url(database_url)
                .set(host="127.0.0.1", port=proxy.port)
                .render_as_string(hide_password=False)
            )
        self.engine = make_engine(database_url)
        self.ingest = IngestProcess(
            ingest_env(url, self.broker.host, self.broker.port, self.credentials[FLEET_USERNAME]),
            work / "ingest.log",
        )
        self.context = multiprocessing.get_context("spawn")
        self.acked = [self.context.Value("q", 0) for _ in range(2)]

    def start(self) -> None:
        self.broker.start()
        self.ingest.start()
        self.ingest.wait_connected(1, timeout_s=120)

    def stored(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(HealthSample)) or 0

    def storing_s(self) -> float:
        """From the first good report stored to the last (the fleet's clock)."""
        with self.engine.connect() as connection:
            first, last = connection.execute(
                select(func.min(HealthSample.received_at), func.max(HealthSample.received_at))
            ).one()
        return float((last - first).total_seconds())

    def rejected(self) -> int:
        with self.engine.connect() as connection:
            return connection.scalar(select(func.sum(RejectedMessage.count))) or 0

    def acked_total(self) -> int:
        return sum(value.value for value in self.acked)

    def publish(self, rate: float, total: int) -> Callable[[], list[dict[str, list[int]]]]:
        """Start the publishers; returns what waits for their results."""
        results = self.context.Queue()
        halves = [TERMINALS[:25], TERMINALS[25:]]
        start_at = time.time() + 2
        processes = [
            self.context.Process(
                target=publish_process,
                args=(
                    self.broker.port,
                    {t: self.credentials[t] for t in half},
                    rate / 2,
                    total // 2,
                    start_at,
                    self.acked[index],
                    results,
                    self.resend_acked_s,
                ),
            )
            for index, half in enumerate(halves)
        ]
        for process in processes:
            process.start()

        def wait() -> list[dict[str, list[int]]]:
            got = [results.get(timeout=600) for _ in processes]
            for process in processes:
                process.join(timeout=30)
            return got

        return wait

    def tally(self, acked: list[dict[str, list[int]]]) -> dict[str, int]:
        sent = {
            (terminal, seq) for part in acked for terminal, seqs in part.items() for seq in seqs
        }
        with self.engine.connect() as connection:
            rows = connection.execute(select(HealthSample.terminal_id, HealthSample.seq)).all()
        stored = [(terminal, seq) for terminal, seq in rows if terminal != POISONER]
        return {
            "sent": len(sent),
            "stored": len(stored),
            "lost": len(sent - set(stored)),
            "duplicated": len(stored) - len(set(stored)),
        }

    def close(self) -> None:
        self.ingest.stop()
        self.broker.stop()
        self.engine.dispose()


def wait_for(predicate: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"not within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - started


def scenario(
    name: str,
    database_url: str,
    work: Path,
    rate: float,
    duration_s: float,
    fault: Callable[[Stack], dict[str, float]] | None,
    proxied: bool = False,
    resend_acked_s: float | None = None,
) -> dict[str, Any]:
    """One run: publish for ``duration_s`` and apply ``fault`` 5 s in."""
    with contextlib.ExitStack() as stack:
        proxy = None
        if proxied:
            real = make_url(database_url)
            proxy = stack.enter_context(TcpProxy(real.host or "127.0.0.1", real.port or 5432))
        rig = Stack(work / name, database_url, proxy, resend_acked_s)
        (work / name).mkdir(parents=True, exist_ok=True)
        stack.callback(rig.close)
        rig.start()
        wait = rig.publish(rate, int(rate * duration_s))
        figures: dict[str, float] = {}
        if fault is not None:
            # Mid-stream: once 5 s of reports are stored (the publishers take a moment to start).
            wait_for(lambda: rig.stored() >= 5 * rate, 120)
            figures = fault(rig)
            owed = rig.acked_total()
            try:
                figures["recovery_s"] = round(wait_for(lambda: rig.stored() >= owed, 120), 2)
            except TimeoutError:
                figures["recovery_s"] = None  # some of it was lost: the tally says how much
        acked = wait()
        total = sum(len(seqs) for part in acked for seqs in part.values())
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: rig.stored() >= total, 60)
        with contextlib.suppress(TimeoutError):
            # Whatever else was stored (duplicates would be) settles first.
            wait_for(lambda: False, 2)
        return {"scenario": name, **rig.tally(acked), **figures}


def kill_ingest(rig: Stack, away_s: float = 3.0) -> dict[str, float]:
    rig.ingest.kill()
    time.sleep(away_s)
    rig.ingest.start()
    return {"away_s": away_s}


def kill_broker(down_s: float) -> Callable[[Stack], dict[str, float]]:
    def fault(rig: Stack) -> dict[str, float]:
        connections = rig.ingest.connections()
        rig.broker.kill()
        time.sleep(down_s)
        rig.broker.start()
        back = rig.ingest.wait_connected(connections + 1, timeout_s=30)
        return {"down_s": down_s, "ingest_back_s": round(back, 2)}

    return fault


def kill_broker_while_ingest_away(rig: Stack, away_s: float = 3.0) -> dict[str, float]:
    """The ingest is away (an upgrade) when the broker is killed: what the broker took for it
    since its last save is gone from the broker, and only the publishers can send it again."""
    rig.ingest.stop()
    time.sleep(away_s)
    rig.broker.kill()
    rig.broker.start()
    connections = rig.ingest.connections()
    rig.ingest.start()
    back = rig.ingest.wait_connected(connections + 1, timeout_s=30)
    return {"away_s": away_s, "ingest_back_s": round(back, 2)}


def refuse_database(refused_s: float) -> Callable[[Stack], dict[str, float]]:
    def fault(rig: Stack) -> dict[str, float]:
        assert rig.proxy is not None
        rig.proxy.refuse()
        time.sleep(refused_s)
        rig.proxy.open()
        return {"refused_s": refused_s}

    return fault


def collide(rig: Stack) -> dict[str, float]:
    """A terminal connects 50 times under the fleet's and another terminal's client ids."""
    attacker = TERMINALS[0]
    for n in range(50):
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=FLEET_USERNAME if n % 2 else TERMINALS[1],
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(attacker, rig.credentials[attacker])
        client.connect(rig.broker.host, rig.broker.port)
        client.loop_start()
        time.sleep(0.05)
        client.disconnect()
        client.loop_stop()
    return {"attempts": 50, "ingest_connections": rig.ingest.connections()}


def poison(
    database_url: Callable[[str], str], work: Path, reports: int, rate: float
) -> dict[str, Any]:
    """The time to store ``reports`` good ones, clean and beside 20 poison messages a second."""
    times = {}
    for label in ("clean", "poisoned"):
        rig = Stack(work / f"poison-{label}", database_url(f"poison-{label}"))
        (work / f"poison-{label}").mkdir(parents=True, exist_ok=True)
        try:
            rig.start()
            poisoner = None
            if label == "poisoned":
                poisoner = rig.context.Process(
                    target=poison_process,
                    args=(rig.broker.port, rig.credentials[POISONER], 20, time.time() + 600),
                )
                poisoner.start()
                # Poison flowing (counted) before the good reports start.
                wait_for(lambda: rig.rejected() >= 20, 60)  # noqa: B023 (used at once)
            wait = rig.publish(rate, reports)
            wait_for(lambda: rig.stored() >= reports, 600)  # noqa: B023 (used at once)
            times[label] = rig.storing_s()
            if poisoner is not None:
                poisoner.terminate()
                poisoner.join(timeout=10)
            wait()
        finally:
            rig.close()
    return {
        "scenario": "poison",
        "reports": reports,
        "poison_per_s": 20,
        "clean_s": round(times["clean"], 2),
        "poisoned_s": round(times["poisoned"], 2),
        "ratio": round(times["poisoned"] / times["clean"], 3),
    }


@contextlib.contextmanager
def databases(pg_url: str | None, work: Path) -> Iterator[list[tuple[str, Any]]]:
    with contextlib.ExitStack() as stack:
        found: list[tuple[str, Any]] = [("sqlite", lambda name: f"sqlite:///{work / name}.db")]
        if pg_url is not None:

            def pg(_name: str) -> str:
                return stack.enter_context(database(pg_url, work))

            found.append(("postgresql", pg))
        yield found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL (a throwaway database is made there)")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--only", help="run only the scenarios whose name contains this")
    parser.add_argument(
        "--resend-acked-s",
        type=float,
        help="the publishers' outbox.resend_acked_s (default: the agent's; 0: the control, "
        "which shows what a broker crash loses without it)",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fleet-chaos-"))
    results: list[dict[str, Any]] = []
    with databases(args.pg, work) as backends:
        plans: list[tuple[str, str, Callable[[Stack], dict[str, float]] | None, bool]] = []
        for backend, _url in backends:
            plans.append((f"clean-{backend}", backend, None, False))
            plans.append((f"ingest-kill-9-{backend}", backend, kill_ingest, False))
        plans += [
            ("broker-kill-9-5s", "sqlite", kill_broker(5), False),
            ("broker-kill-9-12s", "sqlite", kill_broker(12), False),
            ("broker-kill-9-ingest-away", "sqlite", kill_broker_while_ingest_away, False),
            ("client-id-collisions", "sqlite", collide, False),
        ]
        if args.pg:
            plans.append(("database-refusing-30s", "postgresql", refuse_database(30), True))
        urls = dict(backends)
        for name, backend, fault, proxied in plans:
            if args.only and args.only not in name:
                continue
            url = urls[backend](name)
            result = scenario(
                name, url, work, args.rate, args.duration, fault, proxied, args.resend_acked_s
            )
            result["database"] = backend
            results.append(result)
            print(json.dumps(result), file=sys.stderr)
        if not args.only or "poison" in args.only:
            result = poison(urls["sqlite"], work, 10_000, args.rate)
            results.append(result)
            print(json.dumps(result), file=sys.stderr)
    lost = sum(int(r.get("lost", 0) or 0) for r in results)
    emit(
        {
            "benchmark": "fleet_chaos",
            "floor": no_floor(
                "messages lost in all scenarios",
                "messages",
                lost,
                "zero is both the target and the floor (a ratio to zero means nothing), and "
                "nothing simpler survives these crashes: the clean scenario of the same run "
                "and the poison ratio are the reference",
            ),
            "rate_per_s": args.rate,
            "duration_s": args.duration,
            "resend_acked_s": args.resend_acked_s
            if args.resend_acked_s is not None
            else OutboxSettings().resend_acked_s,
            "results": results,
        },
        indent=2,
    )


if __name__ == "__main__":
    main()
