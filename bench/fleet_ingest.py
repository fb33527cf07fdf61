"""Sustained ingest through Mosquitto into SQLite (WAL) or PostgreSQL; prints one JSON object.

Starts its own Mosquitto with the project's ACL and ``--terminals`` terminal users, an
:class:`fleet.ingest.mqtt.Ingest` on a fresh database (an SQLite file in a temporary directory,
or a throwaway database on the PostgreSQL server of ``--pg URL``), then ``--publishers``
processes publish valid health reports (QoS 1, each terminal with its own credentials) at
``--rate`` messages a second in total for ``--duration`` seconds.

Figures: messages stored per second (over the publishing window and until the last one was
stored), lost (acknowledged by the broker but not stored), duplicate rows, and lag (sent_at to
committed) p50/p95/max, and CPU per stored message: CPU seconds of this process (the ingest's
threads; the publishers are other processes) from the publishers' start to the last row stored,
divided by the rows stored.

Floors, measured in the same run, interleaved (``--rounds`` A/B/A/B rounds, one fresh database
each): (1) a bare paho client subscribed to the same topics receiving the same publishers'
messages and doing nothing with them, CPU per message received; (2) bare inserts of as many
health rows into the same table (``--batch-size`` rows a transaction, SQLAlchemy Core), as one
multi-row ``INSERT ... VALUES`` and as one ``INSERT`` executed for many parameter sets
(executemany, what the ingest does): the cheaper, CPU per row. The floor per stored message is
their sum. With PostgreSQL, the
server's own CPU is in neither figure. Run from the repository root:

    .venv/bin/python -m bench.fleet_ingest [--pg postgresql+psycopg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bench.floor import emit, figure
from fleet.broker import RunningBroker, start_broker
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.ingest.handler import Received
from fleet.ingest.mqtt import Ingest
from fleet.models import HealthSample
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, Disk, Health, topic_for
from tests.throwaway_pg import throwaway_database

ROOT = Path(__file__).resolve().parent.parent


def terminal_ids(count: int) -> list[str]:
    return [f"bdx-bench-{i:03d}" for i in range(count)]


@contextlib.contextmanager
def database(pg_url: str | None, work: Path) -> Iterator[str]:
    if pg_url is None:
        yield f"sqlite:///{work / 'fleet.db'}"
        return
    with throwaway_database(pg_url, "fleet_bench") as url:
        yield url


def health_template() -> str:
    """A valid report, as the agent sends it, with ``{seq}`` and ``{sent_at}`` to fill in."""
    report = Health(
        seq=123456789,
        sent_at=datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
        uptime_s=3600.0,
        cpu_percent=12.5,
        load_1m=0.4,
        memory_percent=41.0,
        memory_total_bytes=4 * 1024**3,
        disks=[Disk(mount="/", total_bytes=32 * 1024**3, used_percent=55.0)],
        temperatures_c={"cpu": 48.0},
    ).to_bytes()
    sent_at = json.loads(report)["sent_at"]
    return (
        report.decode()
        .replace("{", "{{")
        .replace("}", "}}")
        .replace("123456789", "{seq}")
        .replace(sent_at, "{sent_at}")
    )


def sent_at_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def publisher(
    port: int,
    credentials: dict[str, str],
    rate: float,
    duration_s: float,
    start_at: float,
    results: Any,
) -> None:
    """One publishing process: its terminals, each with its own connection, paced together."""
    clients: list[tuple[str, mqtt.Client]] = []
    for terminal_id, password in credentials.items():
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{terminal_id}-bench",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(terminal_id, password)
        client.max_queued_messages_set(0)
        client.connect("127.0.0.1", port)
        client.loop_start()
        clients.append((topic_for(terminal_id, Channel.HEALTH), client))
    template = health_template()
    total = int(rate * duration_s)
    infos = []
    while time.time() < start_at:
        time.sleep(0.01)
    for i in range(total):
        ahead = start_at + i / rate - time.time()
        if ahead > 0:
            time.sleep(ahead)
        topic, client = clients[i % len(clients)]
        payload = template.format(seq=i // len(clients) + 1, sent_at=sent_at_now())
        infos.append(client.publish(topic, payload.encode(), qos=1))
    published_at = time.time()
    for info in infos:
        info.wait_for_publish(timeout=60)
    acked = sum(1 for info in infos if info.is_published())
    for _topic, client in clients:
        client.disconnect()
        client.loop_stop()
    results.put({"sent": total, "acked": acked, "late_s": published_at - (start_at + duration_s)})


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fleet-ingest-bench-") as tmp:
        work = Path(tmp)
        terminals = terminal_ids(args.terminals)
        credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, *terminals)}
        rounds: list[dict[str, Any]] = []
        receive: list[float] = []
        inserted: list[float] = []
        insert_ways: list[dict[str, float]] = []
        for number in range(args.rounds):
            # Each round its own broker and database: the ingest keeps a persistent session,
            # which must not carry over into the next round.
            folder = work / f"round-{number}"
            folder.mkdir()
            broker = start_broker(folder / "broker", credentials)
            if args.broker_max_queued is not None:
                broker = restart_with_queue_limit(broker, args.broker_max_queued)
            try:
                with database(args.pg, folder) as url:
                    rounds.append(measure(args, url, broker.port, credentials, terminals))
                    ways = insert_floors(url, terminals, rounds[-1]["stored"], args.batch_size)
                    insert_ways.append(ways)
                    inserted.append(min(ways.values()))
                receive.append(receive_floor(args, broker.port, credentials, terminals))
            finally:
                broker.stop()
    result = dict(rounds[-1])
    result["rounds"] = args.rounds
    project = [r["cpu_us_per_stored"] for r in rounds]
    result["cpu_us_per_stored_rounds"] = project
    result["stored_lost_rounds"] = [[r["stored"], r["lost"]] for r in rounds]
    result["floor_receive_us_per_message_rounds"] = receive
    result["floor_insert_us_per_row_rounds"] = inserted
    result["floor_insert_ways_us_per_row_rounds"] = insert_ways
    floor_us = statistics.median(receive) + statistics.median(inserted)
    result["floor"] = figure(
        "ingest CPU per stored message, median of rounds",
        "µs",
        statistics.median(project),
        floor_us,
        "a bare paho client receiving the same messages, plus the cheaper of two bare INSERTs "
        "of as many rows into the same table, multi-row VALUES or executemany (CPU per row)",
        method=f"{args.rounds} rounds, each a fresh database: ingest, insert, bare receive",
        floor_receive_us=round(statistics.median(receive), 1),
        floor_insert_us=round(statistics.median(inserted), 1),
    )
    return result


def start_publishers(
    args: argparse.Namespace, port: int, credentials: dict[str, str], terminals: list[str]
) -> tuple[list[Any], Any, float]:
    """The publishing processes, started; they publish from the returned ``start_at``."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3.0  # time for every publisher to connect its terminals
    share = [terminals[i :: args.publishers] for i in range(args.publishers)]
    processes = [
        context.Process(
            target=publisher,
            args=(
                port,
                {t: credentials[t] for t in names},
                args.rate / args.publishers,
                args.duration,
                start_at,
                results,
            ),
        )
        for names in share
    ]
    for process in processes:
        process.start()
    return processes, results, start_at


def publish_all(
    args: argparse.Namespace, port: int, credentials: dict[str, str], terminals: list[str]
) -> tuple[list[dict[str, Any]], float]:
    """Start the publishers and wait for them: each one's report, and when they started."""
    processes, results, start_at = start_publishers(args, port, credentials, terminals)
    reports = [results.get(timeout=args.duration + 120) for _ in processes]
    for process in processes:
        process.join()
    return reports, start_at


def receive_floor(
    args: argparse.Namespace, port: int, credentials: dict[str, str], terminals: list[str]
) -> float:
    """CPU µs of this process per message for a bare paho client that only counts them."""
    received = 0
    lock = threading.Lock()
    subscribed = threading.Event()

    def on_message(*_: Any) -> None:
        nonlocal received
        with lock:
            received += 1

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=FLEET_USERNAME,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.username_pw_set(FLEET_USERNAME, credentials[FLEET_USERNAME])
    client.on_message = on_message
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_connect = lambda c, *_: c.subscribe("kiosk/v1/+/health", qos=1)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        if not subscribed.wait(20):
            raise SystemExit("the bare subscriber did not subscribe")
        cpu_start = time.process_time()
        reports, _start_at = publish_all(args, port, credentials, terminals)
        acked = sum(r["acked"] for r in reports)
        last, still_since = -1, time.monotonic()
        while (count := received) < acked and time.monotonic() - still_since < 10:
            if count != last:
                last, still_since = count, time.monotonic()
            time.sleep(0.2)
        cpu_s = time.process_time() - cpu_start
    finally:
        client.disconnect()
        client.loop_stop()
    return round(1e6 * cpu_s / max(received, 1), 1)


def insert_floor(url: str, terminals: list[str], rows: int, batch: int) -> float:
    """CPU µs of this process per row for the cheaper of two bare ways of inserting ``rows``
    health rows in transactions of ``batch`` rows (see :func:`insert_floors`)."""
    return min(insert_floors(url, terminals, rows, batch).values())


def insert_floors(url: str, terminals: list[str], rows: int, batch: int) -> dict[str, float]:
    """CPU µs of this process per row for bare inserts of ``rows`` health rows, ``batch`` rows
    a transaction, two ways: one multi-row ``INSERT ... VALUES (...), (...)`` statement, and
    one ``INSERT`` executed for many parameter sets (executemany, as the ingest does)."""
    engine = make_engine(url)
    payload = json.loads(health_template().format(seq=1, sent_at=sent_at_now()))
    now = datetime.now(UTC)
    figures: dict[str, float] = {}
    for number, way in enumerate(("values", "executemany")):
        values = [
            {
                "terminal_id": terminals[i % len(terminals)],
                "seq": 10**9 * (number + 1) + i,
                "sent_at": now,
                "claimed_sent_at": None,
                "received_at": now,
                "payload": payload,
            }
            for i in range(max(rows, 1))
        ]
        cpu_start = time.process_time()
        for first in range(0, len(values), batch):
            chunk = values[first : first + batch]
            with engine.begin() as connection:
                if way == "values":
                    connection.execute(insert(HealthSample).values(chunk))
                else:
                    connection.execute(insert(HealthSample.__table__), chunk)
        figures[way] = round(1e6 * (time.process_time() - cpu_start) / len(values), 1)
    engine.dispose()
    return figures


def restart_with_queue_limit(broker: RunningBroker, limit: int) -> RunningBroker:
    """The same broker and port, with ``max_queued_messages`` set (Mosquitto's default: 1000)."""
    broker.stop()
    conf = broker.config_dir / "mosquitto.conf"
    conf.write_text(conf.read_text() + f"max_queued_messages {limit}\n")
    return start_broker_from(conf, broker)


def start_broker_from(conf: Path, previous: RunningBroker) -> RunningBroker:
    import subprocess

    from fleet.broker import wait_for_port

    log = (previous.config_dir / "mosquitto.log").open("ab")
    process = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=log)
    log.close()
    broker = RunningBroker(previous.host, previous.port, previous.config_dir, process)
    if not wait_for_port(broker.host, broker.port, timeout_s=10):
        broker.stop()
        raise RuntimeError("mosquitto did not restart")
    return broker


def measure(
    args: argparse.Namespace,
    url: str,
    port: int,
    credentials: dict[str, str],
    terminals: list[str],
) -> dict[str, Any]:
    engine = make_engine(url)
    upgrade_database(engine)
    factory = make_session_factory(engine)
    settings = FleetSettings.model_validate(
        {
            "database_url": url,
            "broker_port": port,
            "broker_password": credentials[FLEET_USERNAME],
            "secret_key": "bench",
            "ingest_batch_size": args.batch_size,
        }
    )
    ingest = Ingest(settings, factory)
    committed: list[tuple[float, bytes]] = []
    lock = threading.Lock()
    # The ingest's own writer, which acknowledges each message to the broker once its row is
    # committed (a writer of the benchmark's would not, and the broker would stop at the
    # ingest's Receive Maximum). When its public write() returns, the batch is committed; it
    # calls itself on halves of a batch the database refused, hence the depth.
    writer = ingest.writer
    write = writer.write
    depth = 0

    def timed_write(batch: list[Received]) -> None:
        nonlocal depth
        depth += 1
        try:
            write(batch)
        finally:
            depth -= 1
        if depth == 0:
            done = time.time()
            with lock:
                committed.extend((done, item.payload) for item in batch)

    writer.write = timed_write  # type: ignore[method-assign]
    ingest.start()
    deadline = time.monotonic() + 20
    while not ingest.broker_connected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the subscription's SUBACK

    cpu_start = time.process_time()
    reports, start_at = publish_all(args, port, credentials, terminals)
    acked = sum(r["acked"] for r in reports)

    def stored() -> int:
        with factory() as session:
            return session.scalar(select(func.count()).select_from(HealthSample)) or 0

    # Drain: until every acknowledged message is stored, or nothing moved for 10 s.
    last, still_since = -1, time.monotonic()
    while (count := stored()) < acked and time.monotonic() - still_since < 10:
        if count != last:
            last, still_since = count, time.monotonic()
        time.sleep(0.2)
    cpu_s = time.process_time() - cpu_start
    ingest.stop()
    rows = stored()
    with factory() as session:
        distinct = session.execute(
            select(func.count()).select_from(
                select(HealthSample.terminal_id, HealthSample.seq).distinct().subquery()
            )
        ).scalar_one()
    engine.dispose()

    lags = sorted(
        done - datetime.fromisoformat(json.loads(payload)["sent_at"]).timestamp()
        for done, payload in committed
    )
    last_commit = max((done for done, _ in committed), default=start_at)
    quantiles = statistics.quantiles(lags, n=100) if len(lags) > 1 else [0.0] * 99
    return {
        "database": make_url(url).get_backend_name(),
        "terminals": len(terminals),
        "publishers": args.publishers,
        "target_rate": args.rate,
        "duration_s": args.duration,
        "batch_size": args.batch_size,
        "broker_max_queued": args.broker_max_queued,
        "published": sum(r["sent"] for r in reports),
        "acked_by_broker": acked,
        "publishers_late_s": round(max(r["late_s"] for r in reports), 2),
        "stored": rows,
        "lost": acked - rows,
        "duplicate_rows": rows - distinct,
        "stored_per_s": round(rows / max(last_commit - start_at, args.duration), 1),
        "cpu_us_per_stored": round(1e6 * cpu_s / max(rows, 1), 1),
        "lag_p50_ms": round(quantiles[49] * 1000, 1),
        "lag_p95_ms": round(quantiles[94] * 1000, 1),
        "lag_max_ms": round(lags[-1] * 1000, 1) if lags else None,
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="a PostgreSQL URL: a throwaway database is made there")
    parser.add_argument("--rate", type=float, default=2000.0, help="messages a second in all")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of publishing")
    parser.add_argument("--terminals", type=int, default=50)
    parser.add_argument("--publishers", type=int, default=2, help="publishing processes")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds with the floors")
    parser.add_argument(
        "--broker-max-queued",
        type=int,
        help="set Mosquitto's max_queued_messages (per client; its default is 1000)",
    )
    emit({"benchmark": "fleet_ingest", **run(parser.parse_args())})


if __name__ == "__main__":
    main()
