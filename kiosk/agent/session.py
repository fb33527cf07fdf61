"""The terminal's one MQTT connection: will and birth, health reports, commands (logged for now).

paho-mqtt runs the network in its own thread and reconnects with backoff; the caller's thread
publishes health on a schedule until asked to stop, then says "offline" and disconnects cleanly
so that the broker does not send the will.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError

import kiosk
from kiosk.agent.config import AgentSettings
from kiosk.agent.health import collect_health, prime_cpu_percent
from kiosk.agent.sensors import SensorBackend
from kiosk.agent.state import PersistentCounter
from kiosk.contract import (
    Channel,
    Command,
    ContractError,
    Desired,
    Health,
    Status,
    decode_message,
    topic_for,
    utc_now,
)

log = logging.getLogger(__name__)

QOS_AT_LEAST_ONCE: Final = 1
RECONNECT_MIN_DELAY_S: Final = 1
RECONNECT_MAX_DELAY_S: Final = 60
#: How long a clean stop waits for the broker to acknowledge "offline".
OFFLINE_PUBLISH_TIMEOUT_S: Final = 5.0


class AgentSession:
    """The MQTT side of the agent for one terminal."""

    def __init__(
        self,
        settings: AgentSettings,
        sensors: SensorBackend,
        health_seq: PersistentCounter,
        birth_seq: PersistentCounter,
        boot_id: str,
    ) -> None:
        """Prepare the client; raise ``ssl.SSLError`` or ``OSError`` if the CA file is unusable."""
        self._settings = settings
        self._terminal_id = settings.terminal_id
        self._sensors = sensors
        self._health_seq = health_seq
        self._birth_seq = birth_seq
        self._boot_id = boot_id
        self._status_topic = topic_for(self._terminal_id, Channel.STATUS)
        self._health_topic = topic_for(self._terminal_id, Channel.HEALTH)
        self._connected = threading.Event()
        self._stopping = threading.Event()
        # The birth_seq of the connection in progress: its will and its birth carry the same one.
        self._connection_birth_seq = 0
        self._client = self._make_client()

    @property
    def where(self) -> str:
        """``host:port`` of the broker, for log lines."""
        return f"{self._settings.mqtt.host}:{self._settings.mqtt.port}"

    def _make_client(self) -> mqtt.Client:
        settings = self._settings.mqtt
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            # Stable, so that the broker replaces a stale connection of ours instead of adding one.
            client_id=f"kiosk-{self._terminal_id}",
            protocol=mqtt.MQTTv5,
        )
        password = settings.password.get_secret_value() if settings.password else None
        client.username_pw_set(self._settings.mqtt_username, password)
        if settings.ca_file is not None:
            client.tls_set(ca_certs=str(settings.ca_file))
        client.reconnect_delay_set(RECONNECT_MIN_DELAY_S, RECONNECT_MAX_DELAY_S)
        client.enable_logger(logging.getLogger("kiosk.agent.paho"))
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _status(self, state: Literal["online", "offline", "lost"]) -> Status:
        return Status(
            state=state,
            boot_id=self._boot_id,
            birth_seq=self._connection_birth_seq,
            sent_at=utc_now(),
            keepalive_s=self._settings.mqtt.keepalive_s,
            versions={"agent": kiosk.__version__},
        )

    # ---------------------------------------------------------------------------------------
    # The caller's thread

    def run(self, stop: threading.Event) -> None:
        """Connect (retrying in the background) and publish health until ``stop`` is set."""
        prime_cpu_percent()
        log.info(
            "terminal %s: agent %s starting, broker %s, health every %s s",
            self._terminal_id,
            kiosk.__version__,
            self.where,
            self._settings.health.interval_s,
        )
        # connect_async + loop_start: a broker that is down at start is retried, not fatal.
        self._client.connect_async(
            self._settings.mqtt.host,
            self._settings.mqtt.port,
            keepalive=self._settings.mqtt.keepalive_s,
        )
        self._client.loop_start()
        try:
            self._publish_health_until(stop)
        finally:
            self._shutdown()

    def _publish_health_until(self, stop: threading.Event) -> None:
        interval = self._settings.health.interval_s
        next_due = time.monotonic() + interval
        while not stop.wait(timeout=max(0.0, next_due - time.monotonic())):
            self._publish_health()
            # A late wake-up (suspended machine) skips the missed reports instead of bursting.
            next_due = max(next_due + interval, time.monotonic())

    def _publish_health(self) -> None:
        if not self._connected.is_set():
            # Store-and-forward comes with the durable queue (a later issue); until then a report
            # that cannot be sent is not made, so that seq has no gaps of our own making.
            log.debug("terminal %s: not connected, health report skipped", self._terminal_id)
            return
        try:
            health: Health = collect_health(self._health_seq.next(), self._sensors)
        except (OSError, ValidationError) as exc:
            log.error("terminal %s: health not measured (%s)", self._terminal_id, exc)
            return
        info = self._client.publish(self._health_topic, health.to_bytes(), qos=QOS_AT_LEAST_ONCE)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning(
                "terminal %s: health %d not sent (%s)",
                self._terminal_id,
                health.seq,
                mqtt.error_string(info.rc),
            )
            return
        log.debug("terminal %s: health %d published", self._terminal_id, health.seq)

    def _shutdown(self) -> None:
        self._stopping.set()
        if self._connected.is_set():
            info = self._client.publish(
                self._status_topic,
                self._status("offline").to_bytes(),
                qos=QOS_AT_LEAST_ONCE,
                retain=True,
            )
            try:
                info.wait_for_publish(timeout=OFFLINE_PUBLISH_TIMEOUT_S)
            except (ValueError, RuntimeError) as exc:
                log.warning("terminal %s: 'offline' not sent (%s)", self._terminal_id, exc)
            if not info.is_published():
                log.warning("terminal %s: 'offline' not acknowledged in time", self._terminal_id)
        else:
            log.warning(
                "terminal %s: stopping while disconnected; the fleet keeps the last status",
                self._terminal_id,
            )
        # A normal DISCONNECT (reason 0) tells the broker to drop the will.
        self._client.disconnect()
        self._client.loop_stop()
        log.info("terminal %s: agent stopped", self._terminal_id)

    # ---------------------------------------------------------------------------------------
    # paho's network thread: these callbacks must not raise, or paho's loop dies with them.

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        # The will is fixed at CONNECT time, so it is set anew before every attempt with the
        # birth_seq that this connection's birth will repeat.
        self._connection_birth_seq = self._birth_seq.next()
        client.will_set(
            self._status_topic,
            self._status("lost").to_bytes(),
            qos=QOS_AT_LEAST_ONCE,
            retain=True,
        )

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        if reason_code.is_failure:
            log.error(
                "terminal %s: broker %s refused the connection (%s); check mqtt.username and "
                "the password; retrying with backoff",
                self._terminal_id,
                self.where,
                reason_code,
            )
            return
        log.info(
            "terminal %s: connected to %s (birth %d)",
            self._terminal_id,
            self.where,
            self._connection_birth_seq,
        )
        client.publish(
            self._status_topic,
            self._status("online").to_bytes(),
            qos=QOS_AT_LEAST_ONCE,
            retain=True,
        )
        client.subscribe(
            [
                (topic_for(self._terminal_id, Channel.CMD), QOS_AT_LEAST_ONCE),
                (topic_for(self._terminal_id, Channel.DESIRED), QOS_AT_LEAST_ONCE),
            ]
        )
        self._connected.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        log.warning(
            "terminal %s: cannot reach broker %s; retrying with backoff (%d to %d s)",
            self._terminal_id,
            self.where,
            RECONNECT_MIN_DELAY_S,
            RECONNECT_MAX_DELAY_S,
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: Any,
        reason_code: Any,
        properties: Any,
    ) -> None:
        self._connected.clear()
        if self._stopping.is_set():
            log.info("terminal %s: disconnected from %s on request", self._terminal_id, self.where)
            return
        log.warning(
            "terminal %s: disconnected from %s (%s); reconnecting with backoff (%d to %d s)",
            self._terminal_id,
            self.where,
            reason_code,
            RECONNECT_MIN_DELAY_S,
            RECONNECT_MAX_DELAY_S,
        )

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            _, payload = decode_message(message.topic, bytes(message.payload))
        except ContractError as exc:
            # Only the reason: the payload itself is not ours to copy into logs.
            log.warning(
                "terminal %s: ignored a message on %s (%s)",
                self._terminal_id,
                message.topic,
                exc.reason,
            )
            return
        if isinstance(payload, Command):
            # Applying commands (with expiry, idempotence and cmd/ack) is a later issue; for
            # now the agent only shows that they arrive.
            log.info(
                "terminal %s: command %s received (id %s); commands are not applied yet",
                self._terminal_id,
                payload.name,
                payload.id,
            )
        elif isinstance(payload, Desired):
            log.info(
                "terminal %s: desired state received; it is not applied yet", self._terminal_id
            )
