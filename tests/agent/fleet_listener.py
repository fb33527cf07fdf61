"""A test subscriber with the fleet's credentials: every decoded message lands in a queue."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from kiosk.contract.mqtt import (
    FLEET_USERNAME,
    Address,
    ContractError,
    Message,
    decode_message,
    subscription_for,
)

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Received:
    """One message as the fleet saw it."""

    address: Address
    message: Message
    retained: bool
    received_at: float  # time.monotonic()
    topic: str = ""
    payload: bytes = b""  # as it came off the wire, to feed the fleet's ingest in tests


class FleetListener:
    """Subscribed to everything one terminal says; use :meth:`expect` to wait for a message."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        #: Why each message that broke the contract was refused (tests assert it stays empty).
        self.rejected: list[str] = []

    def on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # A raise here would kill paho's thread; the test checks ``rejected`` instead.
        try:
            address, message = decode_message(msg.topic, bytes(msg.payload))
        except ContractError as exc:
            self.rejected.append(f"{msg.topic}: {exc}")
            return
        self.messages.put(
            Received(
                address,
                message,
                bool(msg.retain),
                time.monotonic(),
                msg.topic,
                bytes(msg.payload),
            )
        )

    def expect(self, matches: Callable[[Received], bool], timeout_s: float = 10.0) -> Received:
        """The next message for which ``matches`` is true; fail after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                received = self.messages.get(timeout=remaining)
            except queue.Empty:
                break
            if matches(received):
                return received
        raise AssertionError(f"no matching message within {timeout_s} s")


@contextmanager
def fleet_listener(
    host: str, port: int, password: str, terminal_id: str, session_id: str | None = None
) -> Iterator[FleetListener]:
    """Connect as ``fleet``, subscribe to ``terminal_id``'s topics, and yield once subscribed.

    ``session_id``: keep a persistent session under this client id, so that the broker queues
    what arrives while the listener is away (and, with persistence, across a broker restart).
    """
    listener = FleetListener()
    subscribed = threading.Event()
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        protocol=mqtt.MQTTv5,
        client_id=session_id or "",
    )
    client.username_pw_set(FLEET_USERNAME, password)
    # Back quickly after a broker restart: the tests measure the agent, not the listener.
    client.reconnect_delay_set(1, 1)
    properties = None
    if session_id is not None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = 3600

    def on_connect(client: mqtt.Client, *_: Any) -> None:
        client.subscribe(subscription_for(terminal_id=terminal_id), qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = listener.on_message
    client.connect(host, port, clean_start=session_id is None, properties=properties)
    client.loop_start()
    try:
        assert subscribed.wait(CONNECT_TIMEOUT_S), "the fleet listener could not subscribe"
        yield listener
    finally:
        client.disconnect()
        client.loop_stop()
