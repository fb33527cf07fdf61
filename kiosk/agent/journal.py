"""The ``logs`` command: the last lines of the journal of the appliance's own units, redacted.

Only the units of :data:`kiosk.contract.mqtt.OWN_UNITS` are read (a journal match on
``_SYSTEMD_UNIT``, a field journald sets itself and no process can forge), and of their lines
only those the project's own code logged: the agent's (``LOGGER`` ``kiosk.*``, from its
journald handler) and the kiosk UI's (``LEVEL kiosk.*: message``, its stderr format). Anything
else a unit's processes print (Qt, Chromium, a library) is left out, since the project does not
control what it says. What remains goes through :func:`kiosk.contract.mqtt.redact_log_text`: an
address, an e-mail or a long number becomes ``[…]``. The kiosk itself never logs an address or
typed text (the pages' console messages are dropped, see ``BrowserView.qml``); this is the
second line of defence.

:class:`SystemdJournal` reads the real journal (python3-systemd); :class:`SimulatedJournal` is
the same interface in memory, for the simulated actions backend and the tests.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol, cast

from kiosk.agent.messages import LogLine
from kiosk.contract.wire import (
    LOG_LINES_MAX,
    LOG_TEXT_MAX_CHARS,
    OWN_UNITS,
    OwnUnit,
    redact_log_text,
    utc_now,
)

log = logging.getLogger(__name__)

#: Journal entries looked at for each line asked: room for the lines left out.
SCAN_FACTOR: Final = 4
#: The project's loggers (``kiosk``, ``kiosk.agent.mqtt.connection``...).
_OWN_LOGGER_RE: Final = re.compile(r"kiosk(\.[A-Za-z0-9_.]+)?")
#: A line the kiosk UI's logging printed on stderr: ``INFO kiosk.ui.home: message``.
_OWN_STDERR_RE: Final = re.compile(
    r"(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL) (?P<logger>kiosk(\.[A-Za-z0-9_.]+)?): "
    r"(?P<message>.*)",
    re.DOTALL,
)


class JournalUnavailable(RuntimeError):
    """The journal cannot be read here (no python3-systemd, no journal, no permission)."""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One journal entry, as read: its unit (``_SYSTEMD_UNIT``), and ``LOGGER`` if any."""

    at: datetime
    unit: str
    priority: int
    message: str
    logger: str | None = None


class JournalBackend(Protocol):
    def last_entries(self, units: Sequence[str], count: int) -> list[JournalEntry]:
        """The last ``count`` entries of ``units``, oldest first; may raise
        :class:`JournalUnavailable`."""


def own_message(entry: JournalEntry) -> str | None:
    """The message if the project's own code logged ``entry``, else None."""
    if entry.logger is not None:
        return entry.message if _OWN_LOGGER_RE.fullmatch(entry.logger) else None
    found = _OWN_STDERR_RE.fullmatch(entry.message.strip())
    if found is None:
        return None
    return f"{found['logger']}: {found['message']}"


def collect_logs(backend: JournalBackend, lines: int) -> tuple[list[LogLine], int]:
    """The last ``lines`` (at most :data:`LOG_LINES_MAX`) lines of the own units, redacted and
    bounded; and how many entries were left out (not from the project's code)."""
    wanted = max(1, min(lines, LOG_LINES_MAX))
    entries = backend.last_entries(OWN_UNITS, wanted * SCAN_FACTOR)
    kept: list[LogLine] = []
    left_out = 0
    for entry in entries:
        message = own_message(entry) if entry.unit in OWN_UNITS else None
        if message is None:
            left_out += 1
            continue
        kept.append(
            LogLine(
                at=entry.at,
                unit=cast(OwnUnit, entry.unit),  # checked against OWN_UNITS above
                priority=min(7, max(0, entry.priority)),
                text=redact_log_text(message),
            )
        )
    kept = kept[-wanted:]
    # The newest lines matter most: drop the oldest until the whole fits the bound.
    while kept and sum(len(line.text) for line in kept) > LOG_TEXT_MAX_CHARS:
        kept.pop(0)
    return kept, left_out


class SystemdJournal:
    """The system journal, through python3-systemd's reader."""

    def __init__(self, path: str | None = None, match_field: str = "_SYSTEMD_UNIT") -> None:
        """``path``: a journal folder (default: the system's). ``match_field``: the field that
        names the unit; journald sets ``_SYSTEMD_UNIT`` itself (tests may name another)."""
        self._path = path
        self._match_field = match_field

    def last_entries(self, units: Sequence[str], count: int) -> list[JournalEntry]:
        try:
            from systemd import journal
        except ImportError as exc:
            raise JournalUnavailable("python3-systemd is not installed") from exc
        try:
            reader: Any = journal.Reader(path=self._path)
        except OSError as exc:
            raise JournalUnavailable(f"the journal cannot be opened: {exc.strerror}") from exc
        try:
            for index, unit in enumerate(units):
                if index:
                    reader.add_disjunction()
                reader.add_match(**{self._match_field: unit})
            reader.seek_tail()
            newest_first: list[JournalEntry] = []
            while len(newest_first) < count:
                raw = reader.get_previous()
                if not raw:
                    break
                newest_first.append(_entry(raw, self._match_field))
        except OSError as exc:
            raise JournalUnavailable(f"the journal cannot be read: {exc.strerror}") from exc
        finally:
            reader.close()
        return newest_first[::-1]


def _entry(raw: dict[str, Any], unit_field: str) -> JournalEntry:
    at = raw.get("__REALTIME_TIMESTAMP")
    message = raw.get("MESSAGE", "")
    if isinstance(message, bytes):
        message = message.decode("utf-8", "replace")
    priority = raw.get("PRIORITY", 6)
    logger = raw.get("LOGGER")
    return JournalEntry(
        at=at.astimezone(UTC) if isinstance(at, datetime) else utc_now(),
        unit=str(raw.get(unit_field, "")),
        priority=priority if isinstance(priority, int) else 6,
        message=str(message),
        logger=str(logger) if logger is not None else None,
    )


class SimulatedJournal:
    """A journal in memory: what :meth:`write` put there (the simulated backend, tests)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: list[JournalEntry] = []

    def write(
        self,
        unit: str,
        message: str,
        *,
        priority: int = 6,
        logger: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self._lock:
            self._entries.append(JournalEntry(at or utc_now(), unit, priority, message, logger))
            del self._entries[: -self._capacity]

    def last_entries(self, units: Sequence[str], count: int) -> list[JournalEntry]:
        with self._lock:
            matching = [entry for entry in self._entries if entry.unit in units]
        return matching[-count:] if count > 0 else []


class JournalLogHandler(logging.Handler):
    """Copies this process's log records into a :class:`SimulatedJournal` as ``unit`` (the
    simulated backend: the demo's agents have no journal of their own)."""

    def __init__(self, journal: SimulatedJournal, unit: str = "kiosk-agent.service") -> None:
        super().__init__()
        self._journal = journal
        self._unit = unit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string must not break logging
            return
        priority = {
            logging.DEBUG: 7,
            logging.INFO: 6,
            logging.WARNING: 4,
            logging.ERROR: 3,
            logging.CRITICAL: 2,
        }.get(record.levelno, 6)
        self._journal.write(self._unit, message, priority=priority, logger=record.name)
