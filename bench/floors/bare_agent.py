"""The agent's floor: a bare paho + psutil process publishing a JSON report every 60 s.

No configuration, no outbox, no sensors beyond psutil's, no commands: it connects (TLS when
``--ca-file`` is given, MQTT v5, keepalive 30 s like the agent), prints ``connected`` once the
broker accepted it, then publishes CPU, memory, load, disk and uptime as JSON (QoS 1) at once
and every ``--interval`` seconds until it is terminated.
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


def report() -> bytes:
    disk = psutil.disk_usage("/")
    return json.dumps(
        {
            "sent_at": datetime.now(UTC).isoformat(),
            "uptime_s": round(time.time() - psutil.boot_time(), 1),
            "cpu_percent": psutil.cpu_percent(),
            "load_1m": psutil.getloadavg()[0],
            "memory_percent": psutil.virtual_memory().percent,
            "disk_used_percent": disk.percent,
        }
    ).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--ca-file")
    parser.add_argument("--interval", type=float, default=60.0)
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    connected = threading.Event()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=args.username, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(args.username, args.password)
    if args.ca_file:
        client.tls_set(ca_certs=args.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)

    def on_connect(*_: Any) -> None:
        connected.set()

    client.on_connect = on_connect
    client.connect(args.host, args.port, keepalive=30)
    client.loop_start()
    if not connected.wait(30):
        return 1
    print("connected", flush=True)
    while not stop.is_set():
        client.publish(args.topic, report(), qos=1)
        stop.wait(args.interval)
    client.disconnect()
    client.loop_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
