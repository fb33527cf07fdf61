"""The terminal's one MQTT connection: will and birth, health, events and acks through the outbox.

Three threads besides paho's own:

- the caller's (:meth:`AgentSession.run`) samples health, decides what to publish (deadbands in
  :mod:`kiosk.agent.health`) and puts it in the :class:`~kiosk.agent.outbox.Outbox`;
- ``mqtt-connection`` connects, waits for the link to drop, and reconnects after an exponential
  backoff with full jitter (paho's own reconnect has no jitter: after a broker restart, fifty
  terminals would all knock at the same second). Each connection gets a fresh paho client, so
  that paho never re-sends on its own what the outbox will send again anyway;
- ``outbox-drain`` sends queued messages in order, rate-limited, at most
  :data:`INFLIGHT_WINDOW` unacknowledged at a time, and removes each one on its PUBACK.

Status messages (birth, will, clean stop) do not go through the outbox: they are retained, and
only the latest one matters.

Over 400 lines because it is one state machine around one paho client: the threads above share
the link, the outbox's window and the birth sequence, and their hand-offs are the hard part;
kept together they are read in one place.
"""

from __future__ import annotations

import collections
import json
import logging
import platform
import random
import re
import ssl
import threading
import time
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
from kiosk.agent.health import HealthExtras, collect_health, prime_cpu_percent, publish_reason
from kiosk.agent.messages import (
    Command,
    CommandAck,
    CommandOutput,
    Desired,
    Event,
    Health,
    Status,
    decode_received,
)
from kiosk.agent.outbox import Entry, Kind, Outbox
from kiosk.agent.sensors import SensorBackend, read_clock_state
from kiosk.agent.state import PersistentCounter
from kiosk.contract.wire import (
    COMMAND_ID_PATTERN,
    AckResult,
    Channel,
    ContractError,
    Presence,
    Scalar,
    topic_for,
    utc_now,
)

log = logging.getLogger(__name__)

COMMAND_ID_RE: Final = re.compile(COMMAND_ID_PATTERN)

QOS_AT_LEAST_ONCE: Final = 1
RECONNECT_MIN_DELAY_S: Final = 1.0
RECONNECT_MAX_DELAY_S: Final = 60.0
#: Messages sent and not yet acknowledged, at most: small, so that a resend keeps the order.
INFLIGHT_WINDOW: Final = 8
#: How long a clean stop waits for the broker to acknowledge "offline".
OFFLINE_PUBLISH_TIMEOUT_S: Final = 5.0
#: The main loop turns at least this often (``on_loop``, e.g. the systemd watchdog).
LOOP_PERIOD_S: Final = 1.0
CONNECT_TIMEOUT_S: Final = 10.0
#: Acknowledged messages kept to be sent again after a drop (``outbox.resend_acked_s``), at most.
RESEND_ACKED_MAX: Final = 1000

_KIND_OF_CHANNEL: Final = {
    Channel.HEALTH: Kind.HEALTH,
    Channel.EVENT: Kind.EVENT,
    Channel.CMD_ACK: Kind.ACK,
}


def reconnect_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnection ``attempt`` (0 first): full jitter, 1 s to 60 s.

    Uniform between the minimum and an exponential cap (1, 2, 4, ... 60 s), so that terminals
    cut off together do not come back together.
    """
    cap = min(RECONNECT_MAX_DELAY_S, RECONNECT_MIN_DELAY_S * 2.0 ** min(attempt, 16))
    return (rng or random).uniform(RECONNECT_MIN_DELAY_S, cap)


@dataclass(eq=False)
class _Link:
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
    # Set (under AgentSession._recently_acked_lock) once its drop has put the recently
    # acknowledged messages back to be sent again: an acknowledgement of this link settled
    # later joins them at once.
    dropped: bool = False


class AgentSession:
    """The MQTT side of the agent for one terminal.

    Hooks, all optional: ``health_extras`` is called at each sample for the UI's and the
    enclosure's state; ``on_command`` for each valid command received (on paho's thread: hand
    the work over, do not block); ``on_loop`` once per turn of the main loop (at least every
    :data:`LOOP_PERIOD_S`). :meth:`publish_event` and :meth:`publish_ack` may be called from
    any thread.
    """

    def __init__(
        self,
        settings: AgentSettings,
        sensors: SensorBackend,
        message_seq: PersistentCounter,
        birth_seq: PersistentCounter,
        boot_id: str,
        outbox: Outbox | None = None,
        *,
        health_extras: Callable[[], HealthExtras] | None = None,
        on_command: Callable[[Command], None] | None = None,
        on_loop: Callable[[], None] | None = None,
    ) -> None:
        """Prepare the session; raise ``ssl.SSLError`` or ``OSError`` if the CA file is unusable."""
        self._settings = settings
        self._terminal_id = settings.terminal_id
        self._sensors = sensors
        self._seq = message_seq
        self._birth_seq = birth_seq
        self._boot_id = boot_id
        self._outbox = outbox if outbox is not None else Outbox(None, settings.terminal_id)
        self._interval_override_s: float | None = None
        self.health_extras = health_extras
        self.on_command = on_command
        # Called for the retained desired state (on paho's thread: hand over, do not block).
        self.on_desired: Callable[[Desired], None] | None = None
        self.on_loop = on_loop
        self._status_topic = topic_for(self._terminal_id, Channel.STATUS)
        self._tls = (
            ssl.create_default_context(cafile=str(settings.mqtt.ca_file))
            if settings.mqtt.ca_file is not None
            else None
        )
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._publish_lock = threading.Lock()
        self._link_lock = threading.Lock()
        self._link: _Link | None = None  # set while a connection is accepted
        self._attempt: _Link | None = None  # the latest connection, accepted or not
        self._random = random.Random()
        # The birth_seq of the connection in progress: its will and its birth carry the same one.
        self._connection_birth_seq = 0
        self._last_health: Health | None = None
        self._last_health_at = 0.0
        self._debug_ticks = 0
        # (monotonic time of the PUBACK, message) for what the broker acknowledged lately and
        # may not have saved yet (see _settle_acks and _resend_recently_acked).
        self._recently_acked: collections.deque[tuple[float, Entry]] = collections.deque(
            maxlen=RESEND_ACKED_MAX
        )
        # What the last drop put back to be sent again, first, in its order (see
        # _resend_recently_acked); not in the outbox, so its acknowledgement removes nothing there.
        self._resend: collections.deque[Entry] = collections.deque(maxlen=RESEND_ACKED_MAX)
        self._recently_acked_lock = threading.Lock()

    @property
    def where(self) -> str:
        """``host:port`` of the broker, for log lines."""
        return f"{self._settings.mqtt.host}:{self._settings.mqtt.port}"

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    # ---------------------------------------------------------------------------------------
    # Public, thread-safe: what other parts of the agent publish

    def set_health_interval(self, seconds: float) -> None:
        """Publish unchanged-but-moved health at most this often from now on (fleet setting)."""
        # A float assignment is atomic; the main loop reads it at its next sample.
        self._interval_override_s = seconds
        log.info("terminal %s: health interval set to %s s", self._terminal_id, seconds)

    @property
    def boot_id(self) -> str:
        """The OS boot id this session announces in its birth and will."""
        return self._boot_id

    def publish_event(self, kind: str, data: dict[str, Scalar] | None = None) -> Event:
        """Queue an event; raise ``ContractError`` (a ValueError) if it breaks the contract."""
        # Validated before it is numbered, so that a refused event leaves no gap in seq.
        event = Event(seq=0, sent_at=utc_now(), kind=kind, data=data or {})
        seq = self._enqueue_numbered(Channel.EVENT, event)
        log.debug("terminal %s: event %s queued (seq %d)", self._terminal_id, kind, seq)
        return event.numbered(seq)

    def publish_ack(
        self,
        command_id: str,
        result: AckResult,
        reason: str | None = None,
        output: CommandOutput | None = None,
    ) -> CommandAck:
        """Queue a command ack; raise ``ContractError`` (a ValueError) if it is invalid."""
        ack = CommandAck(
            id=command_id, result=result, reason=reason, seq=0, sent_at=utc_now(), output=output
        )
        seq = self._enqueue_numbered(Channel.CMD_ACK, ack)
        log.debug("terminal %s: ack %s of %s queued", self._terminal_id, result, command_id)
        return ack.numbered(seq)

    def _enqueue_numbered(self, channel: Channel, message: Health | Event | CommandAck) -> int:
        """Give ``message`` the next seq and queue it; seq order is queue order across threads."""
        with self._publish_lock:
            seq = self._seq.next()
            numbered = message.numbered(seq)
            self._outbox.put(_KIND_OF_CHANNEL[channel], channel, numbered.to_bytes())
        self._wake.set()
        return seq

    # ---------------------------------------------------------------------------------------
    # The caller's thread

    def run(self, stop: threading.Event) -> None:
        """Connect (retrying in the background) and report until ``stop`` is set."""
        prime_cpu_percent()
        health = self._settings.health
        log.info(
            "terminal %s: agent %s starting, broker %s, health sampled every %s s, published "
            "every %s s if it changed, at once beyond deadbands, at least every %s s",
            self._terminal_id,
            kiosk.__version__,
            self.where,
            health.effective_sample_s,
            health.interval_s,
            health.effective_max_silence_s,
        )
        threads = [
            threading.Thread(target=self._connection_loop, name="mqtt-connection", daemon=True),
            threading.Thread(target=self._drain_loop, name="outbox-drain", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self._main_loop(stop)
        finally:
            self._shutdown(threads)

    def _main_loop(self, stop: threading.Event) -> None:
        sample_s = self._settings.health.effective_sample_s
        debug_s = self._settings.debug.emit_event_every_s
        now = time.monotonic()
        next_sample = now  # the first sample goes out at once
        next_debug = now + debug_s if debug_s else float("inf")
        while True:
            now = time.monotonic()
            if now >= next_sample:
                self._sample(now)
                # A late wake-up (suspended machine) skips the missed samples instead of bursting.
                next_sample = max(next_sample + sample_s, now)
            if debug_s and now >= next_debug:
                self._debug_ticks += 1
                self.publish_event("debug_tick", {"n": self._debug_ticks})
                next_debug = max(next_debug + debug_s, now)
            self._outbox.maintain()
            reason = self._outbox.take_degraded_notice()
            if reason is not None:
                self.publish_event("outbox_degraded", {"reason": reason[:200]})
            if self.on_loop is not None:
                self.on_loop()
            wake_at = min(next_sample, next_debug, now + LOOP_PERIOD_S)
            if stop.wait(timeout=max(0.0, wake_at - time.monotonic())):
                return

    def _sample(self, now: float) -> None:
        extras = None
        if self.health_extras is not None:
            try:
                extras = self.health_extras()
            except Exception:
                # The UI or enclosure part failing must not stop the machine's own health.
                log.exception(
                    "terminal %s: health extras unavailable; sample sent without them",
                    self._terminal_id,
                )
        try:
            sample = collect_health(
                0,
                self._sensors,
                extras,
                self._outbox.dropped,
                read_clock_state if self._settings.sensors.clock == "kernel" else lambda: None,
            )
        except (OSError, ValueError) as exc:
            log.error("terminal %s: health not measured (%s)", self._terminal_id, exc)
            return
        health = self._settings.health
        interval_s = self._interval_override_s or health.interval_s
        reason = publish_reason(
            self._last_health,
            sample,
            now - self._last_health_at,
            interval_s,
            max(health.effective_max_silence_s, interval_s),
        )
        if reason is None:
            return
        seq = self._enqueue_numbered(Channel.HEALTH, sample)
        self._last_health, self._last_health_at = sample, now
        log.debug("terminal %s: health %d queued (%s)", self._terminal_id, seq, reason.value)

    def _shutdown(self, threads: list[threading.Thread]) -> None:
        self._stopping.set()
        self._wake.set()
        threads[1].join(timeout=OFFLINE_PUBLISH_TIMEOUT_S)
        with self._link_lock:
            link = self._link
        if link is not None:
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
            # The broker acknowledges in order: what was in flight before "offline" is settled
            # now, and is not sent again at the next start.
            self._settle_acks(link)
            # A normal DISCONNECT (reason 0) tells the broker to drop the will.
            link.client.disconnect()
        else:
            log.warning(
                "terminal %s: stopping while disconnected; the fleet keeps the last status",
                self._terminal_id,
            )
            with self._link_lock:
                attempt = self._attempt
            if attempt is not None:
                # A connection not (yet) accepted: close it so the connection thread ends.
                attempt.client.disconnect()
                attempt.closed.set()
        threads[0].join(timeout=CONNECT_TIMEOUT_S)
        with self._recently_acked_lock:
            unsent = list(self._resend)
            self._resend.clear()
        for entry in unsent:
            # Copies still owed after a drop: the next start sends them.
            self._outbox.put(entry.kind, entry.channel, entry.payload)
        waiting = len(self._outbox)
        self._outbox.close()
        log.info(
            "terminal %s: agent stopped; %d messages wait in the queue for the next start",
            self._terminal_id,
            waiting,
        )

    # ---------------------------------------------------------------------------------------
    # The connection thread

    def _connection_loop(self) -> None:
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
                    self._resend_recently_acked(link)
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

    def _connect(self) -> _Link | None:
        """A fresh client, connected (CONNACK to come); None if the broker is out of reach."""
        link = _Link(self._make_client())
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
    # The drain thread

    def _drain_loop(self) -> None:
        pause_s = 1.0 / self._settings.outbox.drain_per_s
        next_send = 0.0
        while not self._stopping.is_set():
            self._wake.wait(timeout=LOOP_PERIOD_S)
            self._wake.clear()
            with self._link_lock:
                link = self._link
            if link is None:
                continue
            self._settle_acks(link)
            with self._recently_acked_lock:
                resend = list(self._resend)
            for entry in resend + self._outbox.head(INFLIGHT_WINDOW):
                if len(link.in_flight) >= INFLIGHT_WINDOW or self._stopping.is_set():
                    break
                if entry.key in link.sent:
                    continue
                if self._stopping.wait(max(0.0, next_send - time.monotonic())):
                    return
                next_send = max(next_send + pause_s, time.monotonic())
                info = link.client.publish(
                    topic_for(self._terminal_id, entry.channel),
                    entry.payload,
                    qos=QOS_AT_LEAST_ONCE,
                )
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    # The link dropped: everything not acknowledged goes again on the next one.
                    log.debug(
                        "terminal %s: send interrupted (%s)",
                        self._terminal_id,
                        mqtt.error_string(info.rc),
                    )
                    break
                link.sent.add(entry.key)
                link.in_flight[info.mid] = entry
                self._settle_acks(link)
            if link.acks:
                self._wake.set()

    def _settle_acks(self, link: _Link) -> None:
        """Remove from the queue what the broker acknowledged."""
        while link.acks:
            mid, refused = link.acks.popleft()
            entry = link.in_flight.pop(mid, None)
            if entry is None:
                continue
            if refused:
                log.error(
                    "terminal %s: the broker refused a %s message; dropped (check the ACL)",
                    self._terminal_id,
                    entry.channel.value,
                )
            if not self._take_resent(entry):
                self._outbox.remove(entry)
            link.sent.discard(entry.key)
            if not refused:
                self._remember_acked(entry, link)
            # Room in the window: look at the queue again.
            self._wake.set()

    def _remember_acked(self, entry: Entry, link: _Link) -> None:
        """Keep what the broker acknowledged within ``resend_acked_s`` of its latest PUBACK."""
        window_s = self._settings.outbox.resend_acked_s
        if window_s <= 0:
            return
        now = time.monotonic()
        with self._recently_acked_lock:
            if link.dropped:
                # Settled after its link's drop was handled: one of the last the broker took.
                if all(waiting.key != entry.key for waiting in self._resend):
                    self._resend.append(entry)
                return
            self._recently_acked.append((now, entry))
            while self._recently_acked and self._recently_acked[0][0] < now - window_s:
                self._recently_acked.popleft()

    def _take_resent(self, entry: Entry) -> bool:
        """Forget ``entry`` if it was a copy sent again after a drop; True if it was."""
        with self._recently_acked_lock:
            for index, waiting in enumerate(self._resend):
                if waiting.key == entry.key:
                    del self._resend[index]
                    return True
        return False

    def _resend_recently_acked(self, link: _Link) -> None:
        """The link dropped: send again, first and in order, what the broker may have lost with
        its unsaved state.

        The window counts back from the broker's latest acknowledgement, not from the drop, so
        a broker that vanished silently (found out at the keepalive) is covered too. The fleet
        drops the copies of what the broker had saved or delivered after all. The copies wait
        in memory, ahead of the outbox (they are older than anything in it); a stop before
        they are sent puts them in the outbox for the next start.
        """
        with self._recently_acked_lock:
            link.dropped = True
            entries = [entry for _, entry in self._recently_acked]
            self._recently_acked.clear()
            known = {waiting.key for waiting in self._resend}
            self._resend.extend(entry for entry in entries if entry.key not in known)
        if not entries:
            return
        log.info(
            "terminal %s: the link dropped; %d messages the broker acknowledged in its last "
            "%.0f s go again first (it may not have saved them)",
            self._terminal_id,
            len(entries),
            self._settings.outbox.resend_acked_s,
        )

    # ---------------------------------------------------------------------------------------
    # paho's network thread: these callbacks must not raise, or paho's loop dies with them.

    def _bind(self, link: _Link) -> None:
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

    def _refuse_malformed_command(self, topic: str, payload: bytes, error: ContractError) -> None:
        """Tell the fleet why a command was not run, when its id can still be read."""
        if not topic.endswith("/" + Channel.CMD.value):
            return
        command_id = readable_command_id(payload)
        if command_id is None:
            return
        try:
            self.publish_ack(command_id, AckResult.REFUSED, f"malformed command: {error}"[:200])
        except ValueError as exc:
            log.error("terminal %s: refusal of %s not sent: %s", self._terminal_id, command_id, exc)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            _, payload = decode_received(message.topic, bytes(message.payload))
        except ContractError as exc:
            # Only the reason: the payload itself is not ours to copy into logs.
            log.warning(
                "terminal %s: ignored a message on %s (%s)",
                self._terminal_id,
                message.topic,
                exc.reason,
            )
            self._refuse_malformed_command(message.topic, bytes(message.payload), exc)
            return
        if not isinstance(payload, Desired):  # a command
            log.info(
                "terminal %s: command %s received (id %s)",
                self._terminal_id,
                payload.name,
                payload.id,
            )
            if self.on_command is None:
                return
            try:
                self.on_command(payload)
            except Exception:
                # A failing handler must not take the MQTT connection down with it.
                log.exception(
                    "terminal %s: command %s (id %s) failed in its handler",
                    self._terminal_id,
                    payload.name,
                    payload.id,
                )
        else:
            log.info(
                "terminal %s: desired state received (content %s)",
                self._terminal_id,
                payload.content_version or "-",
            )
            if self.on_desired is None:
                return
            try:
                self.on_desired(payload)
            except Exception:
                # Same boundary as commands: paho's thread must survive a failing handler.
                log.exception("terminal %s: desired state failed in its handler", self._terminal_id)


def readable_command_id(payload: bytes) -> str | None:
    """The ``id`` of a command that failed to decode, if it is there and well formed."""
    try:
        raw: Any = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    command_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(command_id, str) and COMMAND_ID_RE.fullmatch(command_id):
        return command_id
    return None
