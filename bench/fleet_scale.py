"""One machine's fleet at scale: ``--terminals`` simulated terminals held by Mosquitto for
``--duration`` seconds, each sending one health report every ``--interval`` seconds (QoS 1,
each with its own credentials and connection), stored by the real ``fleet ingest`` process.

Starts its own Mosquitto with the project's configuration and ACL (every terminal a user of the
password file, hashed by ``mosquitto_passwd -U``), the ``fleet ingest`` command as its own
process on a fresh database (an SQLite file, or a throwaway database on the PostgreSQL server
of ``--pg URL``), then ``--publishers`` processes, each holding its share of the terminals'
connections in one event loop (paho's external-loop callbacks on a selector), every terminal
publishing at its own offset within the interval, so that the broker sees a steady
``terminals / interval`` messages a second.

Prints one JSON object: connections held, reports published, acknowledged by the broker,
stored, lost (acknowledged and not stored) and duplicated; the broker's memory before the
terminals connect, once they all have and at the end, and so its memory per connection; the
broker's and the ingest's CPU (share of one core, and CPU per stored message); the lag from a
report's ``sent_at`` to its ``received_at`` (p50/p95/max); and the database's size per stored
report, from which its growth per day for 50, 10,000 and 100,000 terminals.

Floor, in the same run: the cheaper of two bare inserts of as many health rows into the same
table, 500 rows a transaction (one multi-row ``INSERT ... VALUES``, or executemany), CPU per
row, beside the ingest's CPU per stored message (the receive half of the floor is
``fleet_ingest``'s, which publishes at the rate the broker can relay).
Run from the repository root (raise the open-files limit for 10,000: ``ulimit -n 25000``):

    .venv/bin/python -m bench.fleet_scale [--terminals 10000 --duration 600]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import resource
import secrets
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bench.fleet_ingest import database, health_template, insert_floor, sent_at_now
from bench.floor import emit, figure
from fleet.broker import RunningBroker, start_broker
from fleet.core.db import make_engine, make_session_factory
from fleet.models import BrokerCounter, HealthSample
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for

ROOT = Path(__file__).resolve().parent.parent

#: Terminal counts the database's growth per day is given for.
FLEET_SIZES = (50, 10_000, 100_000)
SECONDS_PER_DAY = 86_400


def terminal_ids(count: int) -> list[str]:
    return [f"bdx-scale-{i:06d}" for i in range(count)]


def raise_open_files(wanted: int) -> int:
    """Raise this process's open-files limit (inherited by the broker and the publishers)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_scale_broker(folder: Path, credentials: dict[str, str]) -> RunningBroker:
    """The project's broker with every terminal in its password file.

    ``fleet.broker.write_password_file`` runs ``mosquitto_passwd -b`` once per user, right for
    an enrolment, minutes for 10,000 users: here the terminals are written in clear and hashed
    by one ``mosquitto_passwd -U`` before the broker (started with the fleet user alone) is
    restarted on the same configuration.
    """
    broker = start_broker(folder, {FLEET_USERNAME: credentials[FLEET_USERNAME]})
    broker.stop()
    passwd = folder / "passwd"
    plain = folder / "passwd.plain"
    plain.write_text("".join(f"{user}:{password}\n" for user, password in credentials.items()))
    plain.chmod(0o600)
    subprocess.run(["mosquitto_passwd", "-U", str(plain)], check=True)
    plain.replace(passwd)
    log = (folder / "mosquitto.log").open("ab")
    process = subprocess.Popen(
        ["mosquitto", "-c", str(folder / "mosquitto.conf")],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    restarted = RunningBroker(broker.host, broker.port, folder, process)
    from fleet.broker import wait_for_port

    if not wait_for_port(restarted.host, restarted.port, timeout_s=20):
        restarted.stop()
        raise SystemExit("mosquitto did not restart with the terminals' password file")
    return restarted


def publisher(
    port: int,
    credentials: dict[str, str],
    offsets: dict[str, float],
    interval_s: float,
    duration_s: float,
    start: Any,
    connected: Any,
    results: Any,
) -> None:
    """One publishing process: its terminals' connections in one selector loop."""
    selector = selectors.DefaultSelector()
    acked = 0
    up = 0

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        nonlocal up
        if not reason.is_failure:
            up += 1

    def on_publish(*_: Any) -> None:
        nonlocal acked
        acked += 1

    def on_open(client: mqtt.Client, _u: Any, sock: Any) -> None:
        selector.register(sock, selectors.EVENT_READ, client)

    def on_close(_client: mqtt.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(sock)

    def on_want_write(client: mqtt.Client, _u: Any, sock: Any) -> None:
        selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def on_written(client: mqtt.Client, _u: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.modify(sock, selectors.EVENT_READ, client)

    clients: list[tuple[str, str, mqtt.Client]] = []
    for terminal_id, password in credentials.items():
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=terminal_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        client.username_pw_set(terminal_id, password)
        client.on_connect = on_connect
        client.on_publish = on_publish
        client.on_socket_open = on_open
        client.on_socket_close = on_close
        client.on_socket_register_write = on_want_write
        client.on_socket_unregister_write = on_written
        client.max_inflight_messages_set(10)
        clients.append((terminal_id, topic_for(terminal_id, Channel.HEALTH), client))

    def turn(timeout: float) -> None:
        for key, events in selector.select(timeout):
            client = key.data
            if events & selectors.EVENT_READ:
                client.loop_read()
            if events & selectors.EVENT_WRITE:
                client.loop_write()

    for _terminal_id, _topic, client in clients:
        client.connect("127.0.0.1", port, keepalive=60)
        turn(0)
    deadline = time.monotonic() + 120
    while up < len(clients) and time.monotonic() < deadline:
        turn(0.1)
    connected.put(up)
    # Publishing starts when the parent says, once every publisher has connected its share.
    while start.value == 0.0:
        turn(0.05)
    start_at = start.value
    end_at = start_at + duration_s

    template = health_template()
    # Each terminal's next report, in order: (time, index, seq).
    schedule = sorted(
        (start_at + offsets[terminal_id], index)
        for index, (terminal_id, _topic, _client) in enumerate(clients)
    )
    seqs = [0] * len(clients)
    sent = 0
    last_misc = 0.0
    position = 0
    while True:
        now = time.time()
        while position < len(schedule) and schedule[position][0] <= now:
            due, index = schedule[position]
            position += 1
            _terminal_id, topic, client = clients[index]
            seqs[index] += 1
            payload = template.format(seq=seqs[index], sent_at=sent_at_now())
            client.publish(topic, payload.encode(), qos=1)
            sent += 1
            if due + interval_s < end_at:
                schedule.append((due + interval_s, index))
        if position > 4096:  # keep the schedule short: the served ones are dropped
            schedule = sorted(schedule[position:])
            position = 0
        if now - last_misc >= 1.0:
            for _terminal_id, _topic, client in clients:
                client.loop_misc()
            last_misc = now
        if position >= len(schedule) and now >= end_at:
            break
        next_due = schedule[position][0] if position < len(schedule) else end_at
        turn(max(0.0, min(0.2, next_due - time.time())))
    # What is in flight settles: every PUBACK, or 60 s.
    settle = time.monotonic() + 60
    while acked < sent and time.monotonic() < settle:
        turn(0.1)
    for _terminal_id, _topic, client in clients:
        client.disconnect()
    turn(0.5)
    results.put({"connected": up, "sent": sent, "acked": acked})


def rss_bytes(pid: int) -> int:
    rss: int = psutil.Process(pid).memory_info().rss
    return rss


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def database_bytes(url: str, path: Path) -> int:
    if make_url(url).get_backend_name() == "sqlite":
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = make_engine(url)
    with engine.connect() as connection:
        size = int(connection.execute(text("SELECT pg_database_size(current_database())")).one()[0])
    engine.dispose()
    return size


@contextlib.contextmanager
def ingest_process(
    url: str, port: int, password: str, work: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``fleet ingest``, the command the service runs, as its own process."""
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": url,
        "FLEET_BROKER_PORT": str(port),
        "FLEET_BROKER_PASSWORD": password,
        "FLEET_SECRET_KEY": "bench",
    }
    log = (work / "ingest.log").open("ab")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "fleet"), "ingest"], env=env, stdout=log, stderr=log
    )
    log.close()
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    open_files = raise_open_files(2 * args.terminals + 1024)
    if open_files < args.terminals + 256:
        raise SystemExit(
            f"the open-files limit ({open_files}) is too low for {args.terminals} connections: "
            f"ulimit -n {2 * args.terminals + 1024}"
        )
    terminals = terminal_ids(args.terminals)
    credentials = {name: secrets.token_urlsafe(12) for name in (FLEET_USERNAME, *terminals)}
    with tempfile.TemporaryDirectory(prefix="fleet-scale-bench-") as tmp:
        work = Path(tmp)
        broker = start_scale_broker(work / "broker", credentials)
        try:
            with database(args.pg, work) as url:
                return measure(args, url, broker, credentials, terminals, work)
        finally:
            broker.stop()


def measure(
    args: argparse.Namespace,
    url: str,
    broker: RunningBroker,
    credentials: dict[str, str],
    terminals: list[str],
    work: Path,
) -> dict[str, Any]:
    from fleet.core.db import upgrade_database

    engine = make_engine(url)
    upgrade_database(engine)
    factory = make_session_factory(engine)

    def stored() -> int:
        with factory() as session:
            return session.scalar(select(func.count()).select_from(HealthSample)) or 0

    def stored_by(moment: float) -> int:
        """Reports the ingest had received by ``moment`` (its ``received_at``)."""
        at = datetime.fromtimestamp(moment, UTC)
        with factory() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(HealthSample)
                    .where(HealthSample.received_at <= at)
                )
                or 0
            )

    broker_process = psutil.Process(broker.process.pid)
    with ingest_process(url, broker.port, credentials[FLEET_USERNAME], work) as ingest:
        ingest_ps = psutil.Process(ingest.pid)
        # The ingest is up once the broker lists its connection: poll the broker's log.
        log = broker.config_dir / "mosquitto.log"
        deadline = time.monotonic() + 60
        while f"as {FLEET_USERNAME} " not in log.read_text(errors="replace"):
            if time.monotonic() > deadline or ingest.poll() is not None:
                raise SystemExit(f"the ingest did not connect; see {work / 'ingest.log'}")
            time.sleep(0.1)
        broker_rss_idle = rss_bytes(broker.process.pid)
        size_before = database_bytes(url, work / "fleet.db")

        context = multiprocessing.get_context("spawn")
        connected, results = context.Queue(), context.Queue()
        start = context.Value("d", 0.0)
        share = [terminals[i :: args.publishers] for i in range(args.publishers)]
        offsets = {t: args.interval * i / len(terminals) for i, t in enumerate(terminals)}
        processes = [
            context.Process(
                target=publisher,
                args=(
                    broker.port,
                    {t: credentials[t] for t in names},
                    {t: offsets[t] for t in names},
                    args.interval,
                    args.duration,
                    start,
                    connected,
                    results,
                ),
            )
            for names in share
        ]
        for process in processes:
            process.start()
        spawned_at = time.time()
        held = sum(connected.get(timeout=args.connect_s) for _ in processes)
        broker_rss_held = rss_bytes(broker.process.pid)
        start_at = time.time() + 1.0
        end_at = start_at + args.duration
        start.value = start_at
        connect_s = start_at - 1.0 - spawned_at
        while time.time() < start_at:
            time.sleep(0.05)
        broker_cpu0, ingest_cpu0 = cpu_seconds(broker_process), cpu_seconds(ingest_ps)
        rss_peak = broker_rss_held
        while time.time() < end_at:
            rss_peak = max(rss_peak, rss_bytes(broker.process.pid))
            time.sleep(min(5.0, max(0.0, end_at - time.time())))
        reports = [results.get(timeout=300) for _ in processes]
        for process in processes:
            process.join()
        acked = sum(r["acked"] for r in reports)
        # Drain: until every acknowledged report is stored, or nothing moved for --drain-s.
        last, still_since = -1, time.monotonic()
        while (count := stored()) < acked and time.monotonic() - still_since < args.drain_s:
            if count != last:
                last, still_since = count, time.monotonic()
            time.sleep(0.5)
        drained_at = time.time()
        stored_at_end_of_publishing = stored_by(end_at)
        broker_cpu = cpu_seconds(broker_process) - broker_cpu0
        ingest_cpu = cpu_seconds(ingest_ps) - ingest_cpu0
        broker_rss_end = rss_bytes(broker.process.pid)

    rows = stored()
    with factory() as session:
        dropped = session.scalar(select(func.coalesce(func.sum(BrokerCounter.total), 0))) or 0
    with factory() as session:
        distinct = session.execute(
            select(func.count()).select_from(
                select(HealthSample.terminal_id, HealthSample.seq).distinct().subquery()
            )
        ).scalar_one()
        lags = sorted(
            (received - sent).total_seconds()
            for sent, received in session.execute(
                select(HealthSample.sent_at, HealthSample.received_at)
            )
        )
    engine.dispose()
    size = database_bytes(url, work / "fleet.db")
    floor_insert = insert_floor(url, terminals, max(rows, 1), 500) if rows else 0.0
    quantiles = statistics.quantiles(lags, n=100) if len(lags) > 1 else [0.0] * 99
    elapsed = drained_at - start_at
    per_connection = (broker_rss_held - broker_rss_idle) / max(held, 1)
    bytes_per_report = (size - size_before) / max(rows, 1)
    reports_per_day = SECONDS_PER_DAY / args.interval
    ingest_us = 1e6 * ingest_cpu / max(rows, 1)
    result = {
        "database": make_url(url).get_backend_name(),
        "terminals": len(terminals),
        "connections_held": held,
        "publishers": args.publishers,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "connect_s": round(connect_s, 1),
        "offered_per_s": round(len(terminals) / args.interval, 1),
        "published": sum(r["sent"] for r in reports),
        "acked_by_broker": acked,
        "stored": rows,
        "lost": acked - rows,
        "broker_dropped": int(dropped),
        "received_by_end_of_publishing": stored_at_end_of_publishing,
        "duplicate_rows": rows - distinct,
        "stored_per_s": round(rows / max(elapsed, 1e-9), 1),
        "lag_p50_ms": round(quantiles[49] * 1000, 1),
        "lag_p95_ms": round(quantiles[94] * 1000, 1),
        "lag_max_ms": round(lags[-1] * 1000, 1) if lags else None,
        "broker_rss_idle_mb": round(broker_rss_idle / 1e6, 1),
        "broker_rss_held_mb": round(broker_rss_held / 1e6, 1),
        "broker_rss_peak_mb": round(rss_peak / 1e6, 1),
        "broker_rss_end_mb": round(broker_rss_end / 1e6, 1),
        "broker_kb_per_connection": round(per_connection / 1e3, 2),
        "broker_cpu_share_of_a_core": round(broker_cpu / max(elapsed, 1e-9), 3),
        "ingest_cpu_share_of_a_core": round(ingest_cpu / max(elapsed, 1e-9), 3),
        "ingest_cpu_us_per_stored": round(ingest_us, 1),
        "database_bytes_before": size_before,
        "database_bytes": size,
        "database_bytes_per_report": round(bytes_per_report, 1),
        "database_mb_per_day": {
            str(n): round(n * reports_per_day * bytes_per_report / 1e6, 1) for n in FLEET_SIZES
        },
        "cpus": os.cpu_count(),
    }
    result["floor"] = figure(
        "ingest CPU per stored message, terminals held at one report an interval",
        "µs",
        ingest_us,
        floor_insert,
        "the cheaper of two bare INSERTs (multi-row VALUES or executemany, 500 rows a "
        "transaction) of as many health rows into the same table, CPU per row (the receive "
        "half of the floor: fleet_ingest)",
        method="the same run: the insert into the same database once the ingest has stopped",
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terminals", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of publishing")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between reports")
    parser.add_argument("--publishers", type=int, default=4, help="publishing processes")
    parser.add_argument(
        "--connect-s", type=float, default=300.0, help="how long connecting them all may take"
    )
    parser.add_argument(
        "--drain-s", type=float, default=120.0, help="stop draining after this long idle"
    )
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    emit(run(args))


if __name__ == "__main__":
    main()
