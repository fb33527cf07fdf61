"""The ``mqtt-connection`` thread: connect, announce the terminal, wait for a drop, reconnect.

Each attempt gets a fresh paho client (:class:`Link`), its will set anew with the birth_seq that
its birth repeats; after a drop the next attempt waits an exponential backoff with full jitter
(:func:`reconnect_delay`). The retained status (birth, will, clean stop) is published here and
never goes through the outbox: only the latest one matters.
"""

from __future__ import annotations

import collections
import logging
import platform
import random
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import paho.mqtt
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import kiosk
from kiosk.agent.config import AgentSettings
from kiosk.agent.messages import Status
from kiosk.agent.outbox import Entry, Outbox
from kiosk.agent.state import PersistentCounter
from kiosk.contract.wire import Channel, Presence, topic_for, utc_now

log = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE: Final = 1
RECONNECT_MIN_DELAY_S: Final = 1.0
RECONNECT_MAX_DELAY_S: Final = 60.0
#: Messages sent and not yet acknowledged, at most: small, so that a resend keeps the order.
INFLIGHT_WINDOW: Final = 8
#: How long a clean stop waits for the broker to acknowledge "offline".
OFFLINE_PUBLISH_TIMEOUT_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 10.0

#: paho's callback for a received message, as :class:`Connector` binds it to each client.
MessageCallback = Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None]


def reconnect_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnection ``attempt`` (0 first): full jitter, 1 s to 60 s.

    Uniform between the minimum and an exponential cap (1, 2, 4, ... 60 s), so that terminals
    cut off together do not come back together.
    """
    cap = min(RECONNECT_MAX_DELAY_S, RECONNECT_MIN_DELAY_S * 2.0 ** min(attempt, 16))
    return (rng or random).uniform(RECONNECT_MIN_DELAY_S, cap)


@dataclass(eq=False)
class Link:
    """One connection attempt and what was sent on it."""

    client: mqtt.Client
    closed: threading.Event = field(default_factory=threading.Event)
    accepted: bool = False
    # mid -> queued message, for the messages sent and not yet acknowledged.
    in_flight: dict[int, Entry] = field(default_factory=dict)
    # The keys of the messages sent on this link and not acknowledged yet (Entry.key: the
    # same whether the message is on disk or in memory, so a move between the two does not
    # make it go twice).
    sent: set[bytes] = field(default_factory=set)
    # (mid, refused by the broker) appended by paho's thread, consumed by the drain thread.
    acks: collections.deque[tuple[int, bool]] = field(default_factory=collections.deque)
    # Set (under the drain's lock on what was recently acknowledged) once its drop has put the
    # recently acknowledged messages back to be sent again: an acknowledgement of this link
    # settled later joins them at once.
    dropped: bool = False


class Connector:
    """The terminal's connections to the broker, one after the other, and its presence on them.

    ``stopping`` and ``wake`` are shared with the rest of the link: the first ends the loop,
    the second wakes the drain when a link is accepted, drops or has an acknowledgement;
    ``outbox`` is only counted, for log lines. ``on_message`` is paho's callback for what the
    fleet sends; ``on_dropped`` is called with a link that was accepted and dropped, before the
    next attempt.
    """

    def __init__(
        self,
        settings: AgentSettings,
        birth_seq: PersistentCounter,
        boot_id: str,
        outbox: Outbox,
        stopping: threading.Event,
        wake: threading.Event,
        *,
        on_message: MessageCallback,
        on_dropped: Callable[[Link], None],
    ) -> None:
        """Raise ``ssl.SSLError`` or ``OSError`` if the CA file is unusable."""
        self._settings = settings
        self._terminal_id = settings.terminal_id
        self._birth_seq = birth_seq
        self._boot_id = boot_id
        self._outbox = outbox
        self._stopping = stopping
        self._wake = wake
        self._on_message = on_message
        self._on_dropped = on_dropped
        self._status_topic = topic_for(self._terminal_id, Channel.STATUS)
        self._tls = (
            ssl.create_default_context(cafile=str(settings.mqtt.ca_file))
            if settings.mqtt.ca_file is not None
            else None
        )
        self._link_lock = threading.Lock()
        self._link: Link | None = None  # set while a connection is accepted
        self._attempt: Link | None = None  # the latest connection, accepted or not
        self._random = random.Random()
        # The birth_seq of the connection in progress: its will and its birth carry the same one.
        self._connection_birth_seq = 0

    @property
    def where(self) -> str:
        """``host:port`` of the broker, for log lines."""
        return f"{self._settings.mqtt.host}:{self._settings.mqtt.port}"

    def current(self) -> Link | None:
        """The accepted connection, if there is one now (any thread)."""
        with self._link_lock:
            return self._link

    # ---------------------------------------------------------------------------------------
    # The connection thread

    def loop(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            link = self._connect()
            if link is not None and self._stopping.is_set():
                # The stop came while connecting: leave without a will.
                link.client.disconnect()
                return
            if link is not None:
                link.client.loop_start()
                link.closed.wait()
                link.client.loop_stop()
                with self._link_lock:
                    self._link = None
                if link.accepted and not self._stopping.is_set():
                    self._on_dropped(link)
                self._wake.set()
                failures = 0 if link.accepted else failures + 1
            else:
                failures += 1
            if self._stopping.is_set():
                return
            # After a link that worked, the first retry comes after the minimum delay.
            delay = reconnect_delay(failures, self._random)
            log.info(
                "terminal %s: next connection attempt to %s in %.1f s (attempt %d)",
                self._terminal_id,
                self.where,
                delay,
                failures + 1,
            )
            if self._stopping.wait(delay):
                return

    def _connect(self) -> Link | None:
        """A fresh client, connected (CONNACK to come); None if the broker is out of reach."""
        link = Link(self._make_client())
        self._bind(link)
        with self._link_lock:
            self._attempt = link
        settings = self._settings.mqtt
        will_delay = settings.effective_will_delay_s
        # The will is fixed at CONNECT time, so it is set anew before every attempt with the
        # birth_seq that this connection's birth will repeat.
        self._connection_birth_seq = self._birth_seq.next()
        will_properties = Properties(PacketTypes.WILLMESSAGE)  # type: ignore[no-untyped-call]
        will_properties.WillDelayInterval = will_delay
        link.client.will_set(
            self._status_topic,
            self._status(Presence.LOST).to_bytes(),
            qos=QOS_AT_LEAST_ONCE,
            retain=True,
            properties=will_properties,
        )
        connect_properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # The broker sends the will when the delay is over or the session ends, whichever comes
        # first: a session shorter than the delay would send it at once.
        connect_properties.SessionExpiryInterval = will_delay
        try:
            link.client.connect(
                settings.host,
                settings.port,
                keepalive=settings.keepalive_s,
                clean_start=True,
                properties=connect_properties,
            )
        except (OSError, ValueError) as exc:
            log.warning(
                "terminal %s: cannot reach broker %s (%s); retrying with backoff (%.0f to %.0f s)",
                self._terminal_id,
                self.where,
                exc,
                RECONNECT_MIN_DELAY_S,
                RECONNECT_MAX_DELAY_S,
            )
            return None
        return link

    def _make_client(self) -> mqtt.Client:
        settings = self._settings.mqtt
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            # Stable, so that the broker replaces a stale connection of ours instead of adding one.
            # The project's broker takes the user name as the client id whatever is sent here
            # (use_username_as_clientid), so that no terminal can throw another off.
            client_id=self._settings.mqtt_username,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(self._settings.mqtt_username, password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        client.connect_timeout = CONNECT_TIMEOUT_S
        # paho queues without limit; the outbox already bounds what is in flight.
        client.max_inflight_messages_set(INFLIGHT_WINDOW + 2)
        client.enable_logger(logging.getLogger("kiosk.agent.paho"))
        return client

    def _status(self, state: Presence) -> Status:
        return Status(
            state=state,
            boot_id=self._boot_id,
            birth_seq=self._connection_birth_seq,
            sent_at=utc_now(),
            keepalive_s=self._settings.mqtt.keepalive_s,
            versions={
                "agent": kiosk.__version__,
                "python": platform.python_version(),
                "paho": paho.mqtt.__version__,
            },
        )

    # ---------------------------------------------------------------------------------------
    # A clean stop (the caller's thread, the drain thread stopped)

    def say_offline(self, link: Link) -> None:
        """Publish the retained "offline" on ``link`` and wait, bounded, for its acknowledgement."""
        info = link.client.publish(
            self._status_topic,
            self._status(Presence.OFFLINE).to_bytes(),
            qos=QOS_AT_LEAST_ONCE,
            retain=True,
        )
        try:
            info.wait_for_publish(timeout=OFFLINE_PUBLISH_TIMEOUT_S)
        except (ValueError, RuntimeError) as exc:
            log.warning("terminal %s: 'offline' not sent (%s)", self._terminal_id, exc)
        if not info.is_published():
            log.warning("terminal %s: 'offline' not acknowledged in time", self._terminal_id)

    def close_attempt(self) -> None:
        """Close a connection not (yet) accepted, if there is one, so the connection thread ends."""
        with self._link_lock:
            attempt = self._attempt
        if attempt is not None:
            attempt.client.disconnect()
            attempt.closed.set()

    # ---------------------------------------------------------------------------------------
    # paho's network thread: these callbacks must not raise, or paho's loop dies with them.

    def _bind(self, link: Link) -> None:
        def on_connect(
            client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
        ) -> None:
            if reason_code.is_failure:
                log.error(
                    "terminal %s: broker %s refused the connection (%s); check mqtt.username "
                    "and the password; retrying with backoff",
                    self._terminal_id,
                    self.where,
                    reason_code,
                )
                return
            if self._stopping.is_set():
                return  # stopping: no birth now, the stop closes this connection
            log.info(
                "terminal %s: connected to %s (birth %d); %d messages queued",
                self._terminal_id,
                self.where,
                self._connection_birth_seq,
                len(self._outbox),
            )
            # Subscribe first: the broker handles a client's packets in order, so whoever sees
            # this birth can already send the terminal a command that it will receive.
            client.subscribe(
                [
                    (topic_for(self._terminal_id, Channel.CMD), QOS_AT_LEAST_ONCE),
                    (topic_for(self._terminal_id, Channel.DESIRED), QOS_AT_LEAST_ONCE),
                ]
            )
            client.publish(
                self._status_topic,
                self._status(Presence.ONLINE).to_bytes(),
                qos=QOS_AT_LEAST_ONCE,
                retain=True,
            )
            link.accepted = True
            with self._link_lock:
                self._link = link
            self._wake.set()

        def on_disconnect(
            client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
        ) -> None:
            link.closed.set()
            if self._stopping.is_set():
                log.info(
                    "terminal %s: disconnected from %s on request", self._terminal_id, self.where
                )
                return
            log.warning(
                "terminal %s: disconnected from %s (%s); %d messages kept in the queue; "
                "reconnecting with backoff",
                self._terminal_id,
                self.where,
                reason_code,
                len(self._outbox),
            )

        def on_publish(
            client: mqtt.Client, userdata: Any, mid: int, reason_code: Any, properties: Any
        ) -> None:
            link.acks.append((mid, bool(reason_code.is_failure)))
            self._wake.set()

        link.client.on_connect = on_connect
        link.client.on_disconnect = on_disconnect
        link.client.on_publish = on_publish
        link.client.on_message = self._on_message
