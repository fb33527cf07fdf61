"""Bytes on the wire per terminal per day at default settings, counted at the socket (TLS).

A relay between the agent and Mosquitto's TLS listener counts every byte both ways. A day is
not waited for: the run measures what each kind of traffic costs, then multiplies by how often
it happens at default settings:

1. connection: TLS handshake, CONNECT/CONNACK, birth, SUBSCRIBE (bytes of the first second
   after the relay accepts, before any health sample);
2. health sample: PUBLISH + PUBACK in TLS records, from a run with every sample published
   (sample = interval = max_silence = 0.2 s), divided by the samples the fleet received;
3. keepalive: PINGREQ + PINGRESP in TLS records, from an idle agent with a 1 s keepalive.

Day = samples/day × (2) + pings/day × (3) + reconnections/day × (1). Samples/day is given for
the worst case at default settings (one per ``interval_s`` = 1440; more only when deadbands are
crossed more often than once a minute) and the quiet case (one per ``max_silence_s`` = 96).
Pings: paho pings when nothing was sent for ``keepalive_s`` (30 s): 2880 a day minus one for
each sample sent (a sample every 60 s leaves one ping in between). Reconnections: 24 a day assumed
for a flaky 4G link.

Floor: the data itself, with no protocol: samples/day × the mean health payload (the JSON the
fleet received, in the same run), with no MQTT framing, no TLS, no keepalive and no
reconnections; and the same payloads each gzip'd, for reference.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

from bench.agent_common import (
    TERMINAL,
    ByteRelay,
    agent_config,
    bench_broker,
    fleet_listener,
    running_agent_process,
)
from bench.floor import emit, figure
from kiosk.contract.mqtt import FLEET_USERNAME, Health, Status

DAY_S = 86400
KEEPALIVE_S = 30
RECONNECTIONS_PER_DAY = 24


def _wait(predicate: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("benchmark timed out")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=100, help="health samples to measure")
    parser.add_argument("--pings", type=int, default=10, help="keepalive pings to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with bench_broker(work, tls=True) as (broker, users, tls):
            assert tls is not None
            assert broker.tls_port is not None

            # 1 and 2: connection, then health samples, all published.
            with (
                ByteRelay(broker.host, broker.tls_port) as relay,
                fleet_listener(broker.host, broker.port, users[FLEET_USERNAME], TERMINAL) as fleet,
            ):
                busy = "[health]\nsample_s = 0.2\ninterval_s = 0.2\nmax_silence_s = 0.2\n"
                config = agent_config(
                    work / "busy.toml",
                    relay.port,
                    users[TERMINAL],
                    work / "state-busy",
                    tls.ca_file,
                    extra=busy,
                )
                with running_agent_process(config, work / "busy.log"):
                    fleet.expect(
                        lambda r: isinstance(r.message, Status) and r.message.state == "online",
                        timeout_s=30,
                    )
                    first = fleet.expect(lambda r: isinstance(r.message, Health), timeout_s=30)
                    connection_bytes = relay.total
                    del first
                    start_bytes = relay.total
                    health_sizes = []
                    gzip_sizes = []
                    for _ in range(args.samples):
                        got = fleet.expect(lambda r: isinstance(r.message, Health), timeout_s=30)
                        health_sizes.append(len(got.payload))
                        gzip_sizes.append(len(gzip.compress(bytes(got.payload), mtime=0)))
                    # The last PUBACK may still be on its way: wait for it to settle.
                    time.sleep(0.3)
                    per_sample = (relay.total - start_bytes) / args.samples
            # The connection figure above includes the first sample; take it out.
            connection_only = connection_bytes - per_sample

            # 3: keepalive pings of an idle agent.
            with ByteRelay(broker.host, broker.tls_port) as relay:
                idle = "[health]\nsample_s = 3600\ninterval_s = 3600\nmax_silence_s = 3600\n"
                config = agent_config(
                    work / "idle.toml",
                    relay.port,
                    users[TERMINAL],
                    work / "state-idle",
                    tls.ca_file,
                    extra=idle,
                    mqtt_extra="keepalive_s = 1\n",
                )
                with running_agent_process(config, work / "idle.log"):
                    _wait(lambda: relay.total > 0, 30)
                    time.sleep(2.5)  # connection, birth and the first sample settle
                    start_bytes, started = relay.total, time.monotonic()
                    time.sleep(args.pings)
                    per_ping = (relay.total - start_bytes) / ((time.monotonic() - started) / 1.0)

    def per_day(samples: int) -> float:
        # Every sample resets paho's keepalive timer; a ping goes out after 30 s of silence.
        pings = max(0.0, DAY_S / KEEPALIVE_S - samples)
        return samples * per_sample + pings * per_ping + RECONNECTIONS_PER_DAY * connection_only

    worst, quiet = per_day(DAY_S // 60), per_day(DAY_S // 900)
    payload_mean = sum(health_sizes) / len(health_sizes)
    floor_day = DAY_S // 60 * payload_mean
    emit(
        {
            "benchmark": "agent_bytes",
            "transport": "MQTT v5 over TLS 1.2+ (as negotiated with Mosquitto), counted at "
            "the TCP socket by a relay, both directions, TCP/IP headers excluded",
            "bytes_per_health_sample_on_wire": round(per_sample),
            "health_payload_bytes_mean": round(sum(health_sizes) / len(health_sizes)),
            "bytes_per_keepalive_ping": round(per_ping),
            "bytes_per_connection": round(connection_only),
            "assumed_reconnections_per_day": RECONNECTIONS_PER_DAY,
            "bytes_per_day_worst_case": round(worst),
            "bytes_per_day_quiet_terminal": round(quiet),
            "mb_per_day_worst_case": round(worst / 1e6, 3),
            "target_mb_per_day": 1.0,
            "method": "per-message costs measured on a shortened run, multiplied by "
            "message counts per day at default settings (see the module docstring)",
            "floor": figure(
                "bytes on the wire per terminal per day, worst case at default settings",
                "bytes",
                worst,
                floor_day,
                "the health payloads alone (one a minute, as received in the same run): "
                "no MQTT framing, no TLS, no keepalive, no reconnections",
                method="computed from the payloads received in the same run",
                floor_gzip_bytes=round(DAY_S // 60 * sum(gzip_sizes) / len(gzip_sizes)),
                per_sample_on_wire=round(per_sample),
                per_sample_payload=round(payload_mean),
            ),
        }
    )


if __name__ == "__main__":
    main()
