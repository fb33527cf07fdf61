"""The batch writer: the MQTT thread only queues; one thread stores what it queued, in batches.

One transaction per batch (up to ``batch_size`` messages or ``batch_wait_s`` after the first)
instead of one per message is what lets SQLite and PostgreSQL keep up with thousands of health
reports a second. A batch that fails is stored again message by message, so one bad row costs
only itself; whatever happens, the writer goes on.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from fleet.ingest.handler import (
    BatchAborted,
    Outcome,
    Received,
    handle_batch,
    handle_message,
    terminal_id_of,
)

logger = logging.getLogger(__name__)

#: Say the queue backs up when it is this full, and again only once it has drained.
BACKLOG_WARN_FRACTION: Final = 0.5
_STOP: Final = object()


class BatchWriter:
    """A bounded queue and the one thread that drains it into the database."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        batch_size: int = 500,
        batch_wait_s: float = 0.2,
        queue_size: int = 20_000,
        on_outcome: Callable[[Received, Outcome], None] | None = None,
        error_logger: logging.Logger | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._batch_size = batch_size
        self._batch_wait_s = batch_wait_s
        self._queue: queue.Queue[Received | object] = queue.Queue(maxsize=queue_size)
        self._queue_size = queue_size
        self._on_outcome = on_outcome
        #: Where a dropped message is reported (the ingest's own logger).
        self._error_logger = error_logger or logger
        self._thread: threading.Thread | None = None
        self._backlog_reported = False
        self._lock = threading.Lock()
        #: Batches committed whole, and messages stored (any outcome), for tests and metrics.
        self.batches = 0
        self.handled = 0

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="fleet-ingest-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Store what is queued, then stop."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout=timeout_s)
        self._thread = None

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def submit(self, topic: str, payload: bytes, received_at: datetime) -> None:
        """Queue one message; blocks (and says so) when the queue is full: back-pressure."""
        item = Received(topic, payload, received_at)
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
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            logger.warning(
                "The ingest queue is full (%d messages): reading from the broker waits for "
                "the database.",
                self._queue_size,
            )
            self._queue.put(item)

    def _next_batch(self) -> tuple[list[Received], bool]:
        """Up to ``batch_size`` messages, waiting at most ``batch_wait_s`` after the first."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        assert isinstance(first, Received)
        batch = [first]
        deadline = time.monotonic() + self._batch_wait_s
        while len(batch) < self._batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else None
                if item is None:
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
                self.write(batch)
            if self._backlog_reported and self._queue.qsize() < self._queue_size * 0.1:
                self._backlog_reported = False
                logger.info("The ingest queue has drained (%d waiting).", self._queue.qsize())

    def write(self, batch: list[Received]) -> None:
        """Store ``batch`` in one transaction, or message by message if that fails."""
        try:
            with self._session_factory() as session:
                outcomes = handle_batch(session, batch)
        except (BatchAborted, SQLAlchemyError) as error:
            logger.info(
                "A batch of %d messages failed as a whole (%s); storing them one by one.",
                len(batch),
                type(error).__name__,
            )
            for item in batch:
                self.write_one(item)
            return
        except Exception:
            logger.exception("Unexpected error in a batch; storing its messages one by one.")
            for item in batch:
                self.write_one(item)
            return
        with self._lock:
            self.batches += 1
            self.handled += len(batch)
        for item, outcome in zip(batch, outcomes, strict=True):
            self._report(item, outcome)

    def write_one(self, item: Received) -> None:
        """Store one message in its own transaction; whatever goes wrong, the loop goes on."""
        try:
            with self._session_factory() as session:
                outcome = handle_message(session, item.topic, item.payload, item.received_at)
        except SQLAlchemyError:
            self._error_logger.exception(
                "Database error while storing a message from terminal %s (topic %r); the "
                "message is dropped and the ingest goes on.",
                terminal_id_of(item.topic) or "(unknown id)",
                item.topic[:100],
            )
            return
        except Exception:
            # The writer thread's boundary: an escaping exception would stop the ingest for
            # every terminal, so one bad message must cost only itself.
            self._error_logger.exception(
                "Unexpected error while handling a message from terminal %s (topic %r); the "
                "message is dropped and the ingest goes on.",
                terminal_id_of(item.topic) or "(unknown id)",
                item.topic[:100],
            )
            return
        with self._lock:
            self.handled += 1
        self._report(item, outcome)

    def _report(self, item: Received, outcome: Outcome) -> None:
        """Called once a message's outcome is committed (``on_outcome``: metrics, benchmarks)."""
        if self._on_outcome is not None:
            self._on_outcome(item, outcome)
