"""The floor of a terminal's death: a bare paho client that only leaves a will with the broker.

It connects (MQTT v5, ``--keepalive``), sets a retained will on its status topic with the same
Will Delay Interval as the agent's, prints ``connected`` once the broker accepted it, and then
does nothing until it is killed or stopped (``SIGKILL``, ``SIGSTOP``).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--keepalive", type=int, default=30)
    parser.add_argument("--will-delay", type=int, default=10)
    args = parser.parse_args()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=args.username, protocol=MQTTProtocolVersion.MQTTv5
    )
    client.username_pw_set(args.username, args.password)
    will = Properties(PacketTypes.WILLMESSAGE)
    will.WillDelayInterval = args.will_delay
    client.will_set(args.topic, json.dumps({"state": "lost"}), qos=1, retain=True, properties=will)
    # The broker sends the will when the delay is over or the session ends, whichever comes
    # first: the session must outlive the delay, as the agent's does.
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = args.will_delay
    connected = threading.Event()

    def on_connect(*_: Any) -> None:
        connected.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", args.port, keepalive=args.keepalive, properties=session)
    client.loop_start()
    if not connected.wait(30):
        return 1
    print("connected", flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
