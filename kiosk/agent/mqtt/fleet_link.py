"""The terminal's MQTT link to the fleet, started and stopped: what the agent's parts publish.

:class:`FleetLink` puts together the connection (:mod:`.connection`), the outbox's drain
(:mod:`.drain`) and what the fleet sends (:mod:`.inbound`), and runs the caller's thread: health
sampled and published when it matters (:mod:`kiosk.agent.health`), debug events, the outbox's
upkeep, the ``on_loop`` hook. Events and acks from any thread are numbered and queued here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import paho.mqtt.client as mqtt

import kiosk
from kiosk.agent.config import AgentSettings
from kiosk.agent.health import HealthExtras, collect_health, prime_cpu_percent, publish_reason
from kiosk.agent.messages import Command, CommandAck, CommandOutput, Desired, Event, Health
from kiosk.agent.mqtt.connection import (
    CONNECT_TIMEOUT_S,
    OFFLINE_PUBLISH_TIMEOUT_S,
    Connector,
    Link,
)
from kiosk.agent.mqtt.drain import Drain
from kiosk.agent.mqtt.inbound import receive
from kiosk.agent.outbox import Kind, Outbox
from kiosk.agent.sensors import SensorBackend, read_clock_state
from kiosk.agent.state import PersistentCounter
from kiosk.contract.wire import AckResult, Channel, Scalar, utc_now

log = logging.getLogger(__name__)

#: The main loop turns at least this often (``on_loop``, e.g. the systemd watchdog).
LOOP_PERIOD_S: Final = 1.0

_KIND_OF_CHANNEL: Final = {
    Channel.HEALTH: Kind.HEALTH,
    Channel.EVENT: Kind.EVENT,
    Channel.CMD_ACK: Kind.ACK,
}


class FleetLink:
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
        """Prepare the link; raise ``ssl.SSLError`` or ``OSError`` if the CA file is unusable."""
        self._settings = settings
        self._terminal_id = settings.terminal_id
        self._sensors = sensors
        self._seq = message_seq
        self._boot_id = boot_id
        self._outbox = outbox if outbox is not None else Outbox(None, settings.terminal_id)
        self._interval_override_s: float | None = None
        self.health_extras = health_extras
        self.on_command = on_command
        # Called for the retained desired state (on paho's thread: hand over, do not block).
        self.on_desired: Callable[[Desired], None] | None = None
        self.on_loop = on_loop
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._publish_lock = threading.Lock()
        self._drain = Drain(settings, self._outbox, self._stopping, self._wake, self._current_link)
        self._connector = Connector(
            settings,
            birth_seq,
            boot_id,
            self._outbox,
            self._stopping,
            self._wake,
            on_message=self._on_message,
            on_dropped=self._drain.link_dropped,
        )
        self._last_health: Health | None = None
        self._last_health_at = 0.0
        self._debug_ticks = 0

    @property
    def where(self) -> str:
        """``host:port`` of the broker, for log lines."""
        return self._connector.where

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
        """The OS boot id this link announces in its birth and will."""
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
            threading.Thread(target=self._connector.loop, name="mqtt-connection", daemon=True),
            threading.Thread(target=self._drain.loop, name="outbox-drain", daemon=True),
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
        link = self._connector.current()
        if link is not None:
            self._connector.say_offline(link)
            # The broker acknowledges in order: what was in flight before "offline" is settled
            # now, and is not sent again at the next start.
            self._drain.settle(link)
            # A normal DISCONNECT (reason 0) tells the broker to drop the will.
            link.client.disconnect()
        else:
            log.warning(
                "terminal %s: stopping while disconnected; the fleet keeps the last status",
                self._terminal_id,
            )
            self._connector.close_attempt()
        threads[0].join(timeout=CONNECT_TIMEOUT_S)
        self._drain.give_back_unsent()
        waiting = len(self._outbox)
        self._outbox.close()
        log.info(
            "terminal %s: agent stopped; %d messages wait in the queue for the next start",
            self._terminal_id,
            waiting,
        )

    # ---------------------------------------------------------------------------------------
    # paho's network thread

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        receive(self._terminal_id, message, self.on_command, self.on_desired, self.publish_ack)

    def _current_link(self) -> Link | None:
        return self._connector.current()
