"""Broker restart: seconds from the broker listening again to the agent's new birth being seen.

A real agent at default settings (keepalive 30 s) against a real Mosquitto that is stopped
(SIGTERM) and started again on the same port, ``--rounds`` times; the fleet listener keeps a
persistent session so that it sees the birth however early the agent comes back. Prints one
JSON object.

Floor, in the same rounds: a bare paho client (another terminal's credentials, paho's default
reconnection: 1 s, doubling up to 120 s) connected to the same broker; the time from the broker
accepting connections again to that client's new CONNACK.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.agent_common import (
    FLOOR_TERMINAL,
    TERMINAL,
    agent_config,
    bench_broker,
    fleet_listener,
    running_agent_process,
)
from bench.floor import emit, figure
from kiosk.contract.mqtt import FLEET_USERNAME, Status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down-s", type=float, default=0.0, help="how long the broker stays down")
    args = parser.parse_args()
    delays = []
    floor_delays = []
    connacks: list[float] = []
    connected = threading.Condition()

    def on_connect(*_: Any) -> None:
        with connected:
            connacks.append(time.monotonic())
            connected.notify_all()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with bench_broker(work) as (broker, users, _):
            config = agent_config(work / "agent.toml", broker.port, users[TERMINAL], work / "s")
            with (
                fleet_listener(
                    broker.host, broker.port, users[FLEET_USERNAME], TERMINAL, "bench-restart"
                ) as fleet,
                running_agent_process(config, work / "agent.log"),
            ):
                birth = fleet.expect(
                    lambda r: isinstance(r.message, Status) and r.message.state == "online",
                    timeout_s=30,
                ).message
                assert isinstance(birth, Status)
                last_birth = birth.birth_seq
                bare = mqtt.Client(
                    CallbackAPIVersion.VERSION2,
                    client_id=FLOOR_TERMINAL,
                    protocol=MQTTProtocolVersion.MQTTv5,
                )
                bare.username_pw_set(FLOOR_TERMINAL, users[FLOOR_TERMINAL])
                bare.on_connect = on_connect
                bare.connect(broker.host, broker.port, keepalive=30)
                bare.loop_start()
                with connected:
                    connected.wait_for(lambda: bool(connacks), 30)
                for _ in range(args.rounds):
                    broker.stop()
                    time.sleep(args.down_s)
                    broker.start()  # returns once the port accepts connections
                    back = time.monotonic()

                    def newer(received: object, seen: int = last_birth) -> bool:
                        message = getattr(received, "message", None)
                        return (
                            isinstance(message, Status)
                            and message.state == "online"
                            and message.birth_seq > seen
                        )

                    got = fleet.expect(newer, timeout_s=120)
                    assert isinstance(got.message, Status)
                    last_birth = got.message.birth_seq
                    delays.append(got.received_at - back)
                    with connected:
                        connected.wait_for(lambda since=back: connacks[-1] > since, 150)
                    floor_delays.append(connacks[-1] - back)
                bare.disconnect()
                bare.loop_stop()
    emit(
        {
            "benchmark": "agent_restart",
            "rounds": args.rounds,
            "broker_down_s": args.down_s,
            "seconds_to_new_birth": [round(d, 2) for d in delays],
            "median_s": round(statistics.median(delays), 2),
            "max_s": round(max(delays), 2),
            "target_s": 10,
            "method": "time from the restarted broker accepting TCP connections to the "
            "fleet listener receiving the agent's new birth (higher birth_seq); reconnection "
            "delays are 1 s to 60 s with full jitter, doubling per failed attempt",
            "floor_seconds_to_connack": [round(d, 2) for d in floor_delays],
            "floor": figure(
                "broker restart to the agent's new birth, median",
                "s",
                statistics.median(delays),
                statistics.median(floor_delays),
                "a bare paho client with its default reconnection (1 s, doubling), "
                "connected to the same broker: restart to its new CONNACK",
                method="both reconnect after the same broker restarts, in each round",
            ),
        }
    )


if __name__ == "__main__":
    main()
