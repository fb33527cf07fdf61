"""The fleet's MQTT connection: subscribes to what terminals publish and hands it to the handler."""

from __future__ import annotations

import collections
import logging
import threading
import time
from datetime import datetime
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.orm import Session, sessionmaker

from fleet.alerts.channels import StoredChannels
from fleet.alerts.engine import AlertEngine
from fleet.alerts.notifiers import notifiers_from_settings
from fleet.alerts.rules import AlertLimits
from fleet.commands import BrokerUnavailable
from fleet.core.config import FleetSettings
from fleet.crud import utc_now
from fleet.ingest.broker_counters import BROKER_DROPPED_TOPIC, parse_counter
from fleet.ingest.handler import ClockPolicy, Outcome, Received
from fleet.ingest.keeper import CommandKeeper
from fleet.ingest.writer import BatchWriter
from fleet.metrics import IngestCounters
from kiosk.contract.mqtt import Channel, shared_subscription, subscription_for

logger = logging.getLogger(__name__)

SUBSCRIBED_CHANNELS: Final = (Channel.STATUS, Channel.HEALTH, Channel.EVENT, Channel.CMD_ACK)
QOS: Final = 1
#: The ingest knocks twice a second while the broker is away, so it is back within a second of
#: it (a single fleet process, not fifty terminals: no need for a longer back-off).
RECONNECT_S: Final = 0.5
#: Dropped this often within this long while the broker answers at once: someone else is
#: connecting with this ingest's identity (Mosquitto 2.0 just closes the old connection).
FLAPPING_DROPS: Final = 3
FLAPPING_WINDOW_S: Final = 60.0


def subscriptions(share_group: str) -> list[str]:
    """The filters the ingest subscribes to: shared by ``share_group`` unless it is empty.

    Mosquitto checks a ``$share/<group>/<filter>`` subscription against the ACL as ``<filter>``.
    """
    filters = [subscription_for(channel) for channel in SUBSCRIBED_CHANNELS]
    if not share_group:
        return filters
    return [shared_subscription(share_group, f) for f in filters]


class Ingest:
    """Keeps one MQTT connection open (retrying with backoff) and stores every message.

    It also publishes the fleet's commands, and its command keeper expires overdue ones and
    publishes those held while the broker was unreachable.
    """

    def __init__(
        self,
        settings: FleetSettings,
        session_factory: sessionmaker[Session],
        mqtt_client_id: str | None = None,
    ) -> None:
        self._settings = settings
        self._session_factory = session_factory
        self._lock = threading.Lock()
        self._connected = False
        self._down_since: datetime | None = None
        # Warn once per outage, not at every retry.
        self._outage_reported = False
        # Set by stop(): the disconnection that follows is asked for, not an outage.
        self._stopping = False
        # Which connection the messages come on: an ack goes only to the connection that
        # delivered the message (a packet id means nothing on another one). Bumped on every
        # connection and disconnection.
        self._link = 0
        # When recent connections were dropped after being accepted (see FLAPPING_DROPS).
        self._drops: collections.deque[float] = collections.deque(maxlen=FLAPPING_DROPS)
        #: The client id the broker keeps this ingest's session under.
        self.identity = mqtt_client_id or settings.ingest_identity()
        # The broker's count of dropped messages, as last published; the keeper stores it.
        self._broker_dropped: int | None = None
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.identity,
            protocol=MQTTProtocolVersion.MQTTv5,
            # A QoS 1 message is acknowledged once the transaction that stores it commits.
            manual_ack=True,
        )
        password = settings.resolved_broker_password()
        self._client.username_pw_set(settings.broker_username, password)
        if settings.broker_ca_file is not None:
            self._client.tls_set(ca_certs=str(settings.broker_ca_file))
        # paho types the delays as int; it waits any float.
        self._client.reconnect_delay_set(RECONNECT_S, RECONNECT_S)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        alert_engine = AlertEngine(
            session_factory,
            AlertLimits.from_settings(settings),
            notifiers_from_settings(settings),
            channels=StoredChannels(settings),
        )
        #: Messages handled, by channel and outcome, for /metrics.
        self.counters = IngestCounters()
        self.writer = BatchWriter(
            session_factory,
            batch_size=settings.ingest_batch_size,
            batch_wait_s=settings.ingest_batch_wait_s,
            # Never smaller than what the broker may send unacknowledged: paho's thread must
            # never wait on a full queue, or it could not send the acks that empty it.
            queue_size=max(settings.ingest_queue_size, 2 * settings.ingest_receive_maximum),
            on_outcome=self._count,
            error_logger=logger,
            on_committed=self._acknowledge,
            clock=ClockPolicy(settings.ingest_clock_skew_s, settings.ingest_max_report_age_s),
        )
        self._keeper = CommandKeeper(
            session_factory,
            self,
            settings.keeper_interval_s,
            broker_dropped=lambda: self.broker_dropped,
            alert_engine=alert_engine,
            retention_days=(settings.health_retention_days, settings.rollup_retention_days),
            retention_interval_s=settings.retention_interval_s,
            availability_zone=settings.display_timezone,
        )

    @property
    def broker_connected(self) -> bool:
        with self._lock:
            return self._connected

    @property
    def broker_down_since(self) -> datetime | None:
        with self._lock:
            return self._down_since

    @property
    def broker_address(self) -> str:
        return f"{self._settings.broker_host}:{self._settings.broker_port}"

    def start(self) -> None:
        """Start connecting in the background; returns at once even if the broker is down."""
        with self._lock:
            self._down_since = utc_now()
            self._stopping = False
        logger.info(
            "Connecting to the MQTT broker at %s as %r (session %r, kept %d s while away).",
            self.broker_address,
            self._settings.broker_username,
            self.identity,
            self._settings.ingest_session_expiry_s,
        )
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        # The broker keeps this session (subscriptions and what arrives for it) while the
        # ingest is away: restart, upgrade, crash.
        properties.SessionExpiryInterval = self._settings.ingest_session_expiry_s
        # At most this many messages wait for their commit; then the broker holds the rest.
        properties.ReceiveMaximum = self._settings.ingest_receive_maximum
        self._client.connect_async(
            self._settings.broker_host,
            self._settings.broker_port,
            keepalive=self._settings.broker_keepalive_s,
            clean_start=False,
            properties=properties,
        )
        self.writer.start()
        self._client.loop_start()
        self._keeper.start()

    def stop(self) -> None:
        """Stop the command keeper, store (and acknowledge) what was received, disconnect.

        What is not acknowledged by then stays in the broker's session for the next start.
        """
        self._keeper.stop()
        self.writer.stop()
        with self._lock:
            self._stopping = True
        self._client.disconnect()
        self._client.loop_stop()
        with self._lock:
            self._connected = False

    def publish(self, topic: str, payload: bytes, qos: int = QOS, retain: bool = False) -> None:
        """Hand a message to the broker, or raise :class:`BrokerUnavailable`."""
        if not self.broker_connected:
            raise BrokerUnavailable(f"the MQTT broker at {self.broker_address} is unreachable")
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerUnavailable(
                f"the MQTT broker at {self.broker_address} did not take the message "
                f"({mqtt.error_string(info.rc)})"
            )

    def publish_retained(self, topic: str, payload: bytes, qos: int = QOS) -> None:
        """A retained message (a terminal's ``desired`` state): the broker keeps the latest."""
        self.publish(topic, payload, qos, retain=True)

    def _mark_down(self) -> None:
        with self._lock:
            self._connected = False
            if self._stopping:
                return
            if self._down_since is None:
                self._down_since = utc_now()
            first_report = not self._outage_reported
            self._outage_reported = True
        if first_report:
            logger.warning(
                "MQTT broker at %s unreachable; terminal reports are not received until it "
                "answers (the dashboard shows a banner). Retrying every %.1f s.",
                self.broker_address,
                RECONNECT_S,
            )

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: Any,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        with self._lock:
            self._link += 1
        if reason_code.is_failure:
            logger.error(
                "The MQTT broker at %s refused the fleet's connection (%s); check "
                "broker_username and broker_password. Retrying.",
                self.broker_address,
                reason_code,
            )
            self._mark_down()
            return
        # Subscribe on every connection: a session the broker lost (or, with Mosquitto 2.0, a
        # shared subscription after a broker restart) needs it. Retained messages only when the
        # subscription is new: a kept one has had them.
        options = SubscribeOptions(qos=QOS, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
        filters = subscriptions(self._settings.ingest_share_group)
        client.subscribe(
            [(f, options) for f in filters] + [(BROKER_DROPPED_TOPIC, SubscribeOptions(qos=0))]
        )
        with self._lock:
            down_since = self._down_since
            self._connected = True
            self._down_since = None
            self._outage_reported = False
        logger.info(
            "Connected to the MQTT broker at %s (it was unreachable since %s; session %s); "
            "receiving terminal reports.",
            self.broker_address,
            down_since.isoformat(timespec="seconds") if down_since else "-",
            "kept" if getattr(flags, "session_present", False) else "new",
        )
        # Commands held during the outage go out now rather than at the next tick.
        self._keeper.wake()

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        logger.debug("MQTT broker at %s unreachable; retrying with backoff.", self.broker_address)
        self._mark_down()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _properties: Any,
    ) -> None:
        with self._lock:
            self._link += 1
            stopping, was_connected = self._stopping, self._connected
            if was_connected and not stopping:
                self._drops.append(time.monotonic())
            flapping = (
                len(self._drops) == FLAPPING_DROPS
                and self._drops[-1] - self._drops[0] < FLAPPING_WINDOW_S
            )
            if flapping:
                self._drops.clear()
        if flapping:
            logger.error(
                "The MQTT broker dropped this ingest %d times within %.0f s although it answers: "
                "another client is probably connecting as %r and taking its session (the "
                "broker names a session by the user name). Give each ingest process its own "
                "broker user (FLEET_BROKER_USERNAME). Nothing is lost meanwhile.",
                FLAPPING_DROPS,
                FLAPPING_WINDOW_S,
                self.identity,
            )
        self._mark_down()

    @property
    def broker_dropped(self) -> int | None:
        """The broker's own count of the messages it dropped since it started, if heard."""
        with self._lock:
            return self._broker_dropped

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == BROKER_DROPPED_TOPIC:
            value = parse_counter(bytes(msg.payload))
            with self._lock:
                self._broker_dropped = value if value is not None else self._broker_dropped
            return
        # Only queued here: the network thread must keep reading (and sending the acks of what
        # the writer committed) while the writer stores.
        with self._lock:
            link = self._link
        self.writer.submit(msg.topic, bytes(msg.payload), utc_now(), msg.mid, msg.qos, link)

    def _acknowledge(self, batch: list[Received]) -> None:
        """Committed: acknowledge to the broker, in arrival order, on the connection each
        message came on. One that came on an earlier connection is not acknowledged: the
        broker sends it again and the de-duplication takes the copy."""
        with self._lock:
            for item in batch:
                if item.qos > 0 and item.link == self._link:
                    self._client.ack(item.mid, item.qos)

    def _count(self, item: Received, outcome: Outcome) -> None:
        self.counters.count(item.topic, outcome.kind)
        if outcome.commands_to_send:
            self._keeper.wake()  # a terminal is back: its unanswered commands go out now

    def process(self, topic: str, payload: bytes, received_at: datetime) -> None:
        """Store one message now, in its own transaction; whatever goes wrong, it goes on."""
        self.writer.write_one(Received(topic, payload, received_at))
