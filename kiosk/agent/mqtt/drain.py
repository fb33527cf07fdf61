"""The ``outbox-drain`` thread: queued messages to the broker in order, and off the queue on PUBACK.

At most :data:`~kiosk.agent.mqtt.connection.INFLIGHT_WINDOW` messages are unacknowledged at a
time, sent no faster than ``outbox.drain_per_s``. A message leaves the outbox only when the
broker acknowledges it; what was acknowledged within ``outbox.resend_acked_s`` of a drop goes
again first on the next link, since the broker may not have saved it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Final

import paho.mqtt.client as mqtt

from kiosk.agent.config import AgentSettings
from kiosk.agent.mqtt.connection import INFLIGHT_WINDOW, QOS_AT_LEAST_ONCE, Link
from kiosk.agent.outbox import Entry, Outbox
from kiosk.contract.wire import topic_for

log = logging.getLogger(__name__)

#: The drain looks at the queue at least this often, woken or not.
IDLE_WAKE_S: Final = 1.0
#: Acknowledged messages kept to be sent again after a drop (``outbox.resend_acked_s``), at most.
RESEND_ACKED_MAX: Final = 1000


class Drain:
    """Sends the outbox on whichever link ``current_link`` returns, until ``stopping`` is set.

    ``wake`` is set by whoever gives it something to do: a message queued, a link accepted or
    dropped, an acknowledgement from paho's thread.
    """

    def __init__(
        self,
        settings: AgentSettings,
        outbox: Outbox,
        stopping: threading.Event,
        wake: threading.Event,
        current_link: Callable[[], Link | None],
    ) -> None:
        self._settings = settings
        self._terminal_id = settings.terminal_id
        self._outbox = outbox
        self._stopping = stopping
        self._wake = wake
        self._current_link = current_link
        # (monotonic time of the PUBACK, message) for what the broker acknowledged lately and
        # may not have saved yet (see settle and link_dropped).
        self._recently_acked: collections.deque[tuple[float, Entry]] = collections.deque(
            maxlen=RESEND_ACKED_MAX
        )
        # What the last drop put back to be sent again, first, in its order (see
        # link_dropped); not in the outbox, so its acknowledgement removes nothing there.
        self._resend: collections.deque[Entry] = collections.deque(maxlen=RESEND_ACKED_MAX)
        self._recently_acked_lock = threading.Lock()

    def loop(self) -> None:
        pause_s = 1.0 / self._settings.outbox.drain_per_s
        next_send = 0.0
        while not self._stopping.is_set():
            self._wake.wait(timeout=IDLE_WAKE_S)
            self._wake.clear()
            link = self._current_link()
            if link is None:
                continue
            self.settle(link)
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
                self.settle(link)
            if link.acks:
                self._wake.set()

    def settle(self, link: Link) -> None:
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

    def _remember_acked(self, entry: Entry, link: Link) -> None:
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

    def link_dropped(self, link: Link) -> None:
        """The link dropped: send again, first and in order, what the broker may have lost with
        its unsaved state.

        The window counts back from the broker's latest acknowledgement, not from the drop, so
        a broker that vanished silently (found out at the keepalive) is covered too. The fleet
        drops the copies of what the broker had saved or delivered after all. The copies wait
        in memory, ahead of the outbox (they are older than anything in it); a stop before
        they are sent puts them in the outbox for the next start (:meth:`give_back_unsent`).
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

    def give_back_unsent(self) -> None:
        """At a stop, put the copies still owed after a drop in the outbox: the next start sends
        them."""
        with self._recently_acked_lock:
            unsent = list(self._resend)
            self._resend.clear()
        for entry in unsent:
            self._outbox.put(entry.kind, entry.channel, entry.payload)
