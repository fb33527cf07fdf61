"""The batch writer: the MQTT thread only queues; one thread stores what it queued, in batches.

One transaction per batch (up to ``batch_size`` messages or ``batch_wait_s`` after the first)
instead of one per message is what lets SQLite and PostgreSQL keep up with thousands of health
reports a second, and what a batch costs whatever its size (a commit, the de-duplication query,
the statements) is shared by more messages the longer it waits: at a few hundred reports a
second, a 1 s wait makes batches five times larger than 0.2 s. While a batch fills, the writer
looks at the queue every ``FILL_POLL_S`` instead of being woken by each message (a thread
switch each). Nothing is ever dropped here:

- once a batch is committed, ``on_committed`` hears of it, in arrival order: that is when the
  ingest acknowledges its messages to the broker (until then the broker keeps them);
- a database outage (connection refused or lost, database locked or full) holds the batch and
  tries it again with back-off, for as long as it lasts; meanwhile nothing is acknowledged, so
  the broker stops sending once the receive maximum is reached and keeps the rest;
- a batch the database refuses as data is split in halves until the message it refuses is
  alone; that message is counted as ``unstorable`` and the others are stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from fleet.core.config import INGEST_BATCH_WAIT_S
from fleet.ingest.handler import (
    DEFAULT_CLOCK,
    BatchAborted,
    ClockPolicy,
    KnownTerminals,
    Outcome,
    Received,
    count_unstorable,
    handle_batch,
    terminal_id_of,
)

logger = logging.getLogger(__name__)

#: Say the queue backs up when it is this full, and again only once it has drained.
BACKLOG_WARN_FRACTION: Final = 0.5
#: Back-off between two tries of a batch held by a database outage.
RETRY_MIN_S: Final = 0.25
RETRY_MAX_S: Final = 5.0
#: How often the writer looks at the queue while a batch fills, and the paho thread at a full
#: queue while it waits for room.
FILL_POLL_S: Final = 0.05
_STOP: Final = object()


def is_outage(error: SQLAlchemyError) -> bool:
    """A database that cannot be reached or written now, as opposed to one refusing the data."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | PoolTimeoutError)


class WriterStopped(Exception):
    """The writer was stopped while a batch was held: it stays with the broker, unacknowledged."""


class BatchWriter:
    """A queue and the one thread that drains it into the database."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        batch_size: int = 500,
        batch_wait_s: float = INGEST_BATCH_WAIT_S,
        queue_size: int = 20_000,
        on_outcome: Callable[[Received, Outcome], None] | None = None,
        error_logger: logging.Logger | None = None,
        on_committed: Callable[[list[Received]], None] | None = None,
        clock: ClockPolicy = DEFAULT_CLOCK,
        retry_s: tuple[float, float] = (RETRY_MIN_S, RETRY_MAX_S),
    ) -> None:
        self._session_factory = session_factory
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        # Unbounded itself (its put costs no lock and wakes nobody): submit_item keeps it
        # within queue_size.
        self._queue: queue.SimpleQueue[Received | object] = queue.SimpleQueue()
        self._queue_size = queue_size
        #: Which terminal rows exist, across batches (no SELECT of a known terminal).
        self._terminals = KnownTerminals()
        self._on_outcome = on_outcome
        self._on_committed = on_committed
        self._clock = clock
        self._retry_min_s, self._retry_max_s = retry_s
        #: Where a refused message is reported (the ingest's own logger).
        self._error_logger = error_logger or logger
        self._thread: threading.Thread | None = None
        self._backlog_reported = False
        self._stopping = threading.Event()
        #: Set by stop(): a batch being filled is written now, without waiting.
        self._draining = threading.Event()
        self._lock = threading.Lock()
        #: Batches committed whole, messages handled (any outcome), messages refused by the
        #: database as data, and the current outage's start (None: the database answers).
        self.batches = 0
        self.handled = 0
        self.unstorable = 0
        self._outage_since: float | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._draining.clear()
        self._thread = threading.Thread(target=self._run, name="fleet-ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Store what is queued, then stop. A batch held by a database outage is given up at
        once: it was not acknowledged, so the broker gives it to the next session."""
        if self._thread is None:
            return
        self._draining.set()
        self._queue.put(_STOP)
        deadline = time.monotonic() + timeout_s
        # Wait for the queue to be written, unless the database is away.
        while self._thread.is_alive() and time.monotonic() < deadline:
            if self.outage_s is not None:
                self._stopping.set()
            self._thread.join(timeout=0.1)
        self._stopping.set()
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._thread = None

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    @property
    def outage_s(self) -> float | None:
        """For how long the database has been refusing the current batch, or None."""
        with self._lock:
            since = self._outage_since
        return None if since is None else time.monotonic() - since

    def submit(
        self,
        topic: str,
        payload: bytes,
        received_at: datetime,
        mid: int = 0,
        qos: int = 0,
        link: int = 0,
    ) -> None:
        """Queue one message; blocks (and says so) when the queue is full: back-pressure."""
        self.submit_item(Received(topic, payload, received_at, mid, qos, link))

    def submit_item(self, item: Received) -> None:
        depth = self._queue.qsize()
        if depth >= self._queue_size * BACKLOG_WARN_FRACTION and not self._backlog_reported:
            self._backlog_reported = True
            logger.warning(
                "The ingest queue backs up: %d messages wait for the database (limit %d). "
                "The database is slower than the terminals; when the queue is full, reading "
                "from the broker pauses until it drains.",
                depth,
                self._queue_size,
            )
        if depth >= self._queue_size:
            logger.warning(
                "The ingest queue is full (%d messages): reading from the broker waits for "
                "the database.",
                self._queue_size,
            )
            while self._queue.qsize() >= self._queue_size:
                time.sleep(FILL_POLL_S)
        self._queue.put(item)

    def _next_batch(self) -> tuple[list[Received], bool]:
        """Up to ``batch_size`` messages, waiting at most ``batch_wait_s`` after the first."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        assert isinstance(first, Received)
        batch = [first]
        deadline = time.monotonic() + self._batch_wait_s
        while self._queue.qsize() < self._batch_size - 1:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._draining.wait(min(FILL_POLL_S, remaining)):
                break
        while len(batch) < self._batch_size:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            assert isinstance(item, Received)
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, stopping = self._next_batch()
            if batch:
                try:
                    self.write(batch)
                except WriterStopped:
                    logger.warning(
                        "Stopping while the database is unreachable: %d messages stay with the "
                        "broker, unacknowledged, for the next session of this ingest.",
                        len(batch) + self._queue.qsize(),
                    )
                    return
            if self._backlog_reported and self._queue.qsize() < self._queue_size * 0.1:
                self._backlog_reported = False
                logger.info("The ingest queue has drained (%d waiting).", self._queue.qsize())

    def write(self, batch: list[Received]) -> None:
        """Store ``batch``: in one transaction, or split around what the database refuses.

        Returns once every message is stored or counted; raises :class:`WriterStopped` if
        stopped while the database is unreachable.
        """
        try:
            outcomes = self._with_retry(
                lambda session: handle_batch(session, batch, self._clock, self._terminals)
            )
        except (BatchAborted, SQLAlchemyError) as error:
            # Not an outage: one message in it cannot be stored. Halves, until it is alone.
            if len(batch) == 1:
                self._count_unstorable(batch[0], error)
                return
            if len(batch) > 1 and not isinstance(error, BatchAborted):
                logger.info(
                    "The database refused a batch of %d messages (%s); splitting it to find "
                    "the message it refuses.",
                    len(batch),
                    type(error).__name__,
                )
            half = len(batch) // 2
            self.write(batch[:half])
            self.write(batch[half:])
            return
        with self._lock:
            self.batches += 1
            self.handled += len(batch)
        self._committed(batch, outcomes)

    def write_one(self, item: Received) -> None:
        """Store one message now, in its own transaction (never dropped: see :meth:`write`)."""
        self.write([item])

    def _with_retry(self, work: Callable[[Session], list[Outcome]]) -> list[Outcome]:
        """Run ``work`` in a session; on an outage, again with back-off until it works."""
        delay = self._retry_min_s
        while True:
            try:
                with self._session_factory() as session:
                    result = work(session)
            except SQLAlchemyError as error:
                if not is_outage(error):
                    raise
                self._note_outage(error, delay)
                if self._stopping.wait(delay):
                    raise WriterStopped from error
                delay = min(delay * 2, self._retry_max_s)
                continue
            self._note_recovery()
            return result

    def _note_outage(self, error: SQLAlchemyError, delay: float) -> None:
        with self._lock:
            first = self._outage_since is None
            if first:
                self._outage_since = time.monotonic()
        if first:
            self._error_logger.error(
                "The database does not answer (%s); the batch is held and tried again with "
                "back-off (%.2f to %.0f s). Nothing is acknowledged to the broker meanwhile: it "
                "keeps the messages and stops sending when the ingest's window is full.",
                str(error.orig if isinstance(error, DBAPIError) else error).strip()[:200],
                delay,
                self._retry_max_s,
            )

    def _note_recovery(self) -> None:
        with self._lock:
            since = self._outage_since
            self._outage_since = None
        if since is not None:
            self._error_logger.warning(
                "The database answers again after %.1f s; the held messages are stored and "
                "reading from the broker resumes.",
                time.monotonic() - since,
            )

    def _count_unstorable(self, item: Received, error: Exception) -> None:
        detail = (
            error.error.detail
            if isinstance(error, BatchAborted)
            else f"{type(error).__name__}: {getattr(error, 'orig', error)}"
        )
        self._error_logger.error(
            "The database refused a message from terminal %s (topic %r): %s. It is counted "
            "as unstorable on the dashboard; the others go on.",
            terminal_id_of(item.topic) or "(unknown id)",
            item.topic[:100],
            str(detail)[:300],
        )
        outcomes = self._with_retry(
            lambda session: [count_unstorable(session, item, str(detail)[:200])]
        )
        with self._lock:
            self.handled += 1
            self.unstorable += 1
        self._committed([item], outcomes)

    def _committed(self, batch: list[Received], outcomes: list[Outcome]) -> None:
        """The batch is committed: acknowledge it (in order), then report each outcome."""
        if self._on_committed is not None:
            self._on_committed(batch)
        if self._on_outcome is not None:
            for item, outcome in zip(batch, outcomes, strict=True):
                self._on_outcome(item, outcome)
