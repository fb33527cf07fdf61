"""Fleet commands applied at most once: remembered by id, refused once expired, acknowledged.

Every command the session decodes reaches :meth:`CommandProcessor.on_command`. Its id is written
to disk *before* anything is executed, so a redelivered message (MQTT QoS 1, a reconnect, a
reboot) is answered with the recorded result and never runs twice. Long actions are acknowledged
``accepted`` at once and run in a background worker; the final ``done``/``failed`` follows.

Privacy: ``screenshot`` is refused while a resident session is open (by the agent, and by the
kiosk UI, which answers with a picture only on its attract or home screen); ``logs`` returns
only the project's own lines of its own units, redacted (see :mod:`kiosk.agent.journal`).

Over 400 lines because the at-most-once guarantee (record, refuse, run, acknowledge) and each
command's plan are one table of what may run and how; splitting the plans from the record would
hide which command runs twice-safe.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from kiosk.agent.actions import ActionError, ScreenRefused, TerminalActions
from kiosk.agent.messages import Command, CommandOutput
from kiosk.contract.settings import InvalidSettings, validate_settings
from kiosk.contract.wire import (
    COMMAND_CLOCK_SKEW_S,
    COMMAND_MAX_VALIDITY_S,
    LOG_LINES_DEFAULT,
    LOG_LINES_MAX,
    AckResult,
    Reason,
    Scalar,
    utc_now,
)

log = logging.getLogger(__name__)

#: ``ack(command_id, result, reason)``: the session publishes it on ``cmd/ack``.
AckCallback = Callable[[str, AckResult, "str | None"], None]
#: ``ack_output(command_id, output)``: the ``done`` ack of a command that brings something back.
OutputCallback = Callable[[str, CommandOutput], None]

STORE_FILE_NAME: Final = "commands.json"
MAX_REMEMBERED: Final = 1000
REMEMBER_FOR: Final = timedelta(days=7)


class Refused(ValueError):
    """A command that will not be executed; ``str()`` is the reason sent to the fleet."""


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command id the terminal has seen, and what became of it."""

    id: str
    name: str
    result: AckResult
    reason: str | None
    seen_at: datetime
    expires_at: datetime
    boot_id: str


class CommandStore:
    """Seen command ids in a JSON file, rewritten atomically; in memory only without a path.

    An id is forgotten once it is older than :data:`REMEMBER_FOR` *and* its command has expired
    (an expired command is refused anyway), and only the newest :data:`MAX_REMEMBERED` are kept.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        max_entries: int = MAX_REMEMBERED,
        remember_for: timedelta = REMEMBER_FOR,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """Load ``path``; raise ``OSError`` if its directory cannot be made."""
        self._path = path
        self._max_entries = max_entries
        self._remember_for = remember_for
        self._clock = clock
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._records: dict[str, CommandRecord] = self._load()

    def get(self, command_id: str) -> CommandRecord | None:
        with self._lock:
            return self._records.get(command_id)

    def records(self) -> list[CommandRecord]:
        with self._lock:
            return list(self._records.values())

    def put(self, record: CommandRecord) -> None:
        """Remember ``record`` and write the file; raise ``OSError`` if it cannot be written."""
        with self._lock:
            self._records[record.id] = record
            self._prune()
            self._save()

    def _prune(self) -> None:
        now = self._clock()
        keep = [
            record
            for record in self._records.values()
            if now - record.seen_at < self._remember_for or record.expires_at > now
        ]
        keep.sort(key=lambda record: record.seen_at)
        self._records = {record.id: record for record in keep[-self._max_entries :]}

    def _load(self) -> dict[str, CommandRecord]:
        if self._path is None:
            return {}
        try:
            raw: Any = json.loads(self._path.read_text(encoding="utf-8"))
            records = [
                CommandRecord(
                    id=str(entry["id"]),
                    name=str(entry["name"]),
                    result=AckResult(entry["result"]),
                    reason=entry["reason"],
                    seen_at=datetime.fromisoformat(entry["seen_at"]),
                    expires_at=datetime.fromisoformat(entry["expires_at"]),
                    boot_id=str(entry["boot_id"]),
                )
                for entry in raw["commands"]
            ]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unexpired commands would be refused anyway once expired; until then a redelivered
            # one could run again, which is why this is an error for the person on call.
            aside = self._path.with_name(self._path.name + ".unreadable")
            log.error(
                "command history %s unreadable (%s); moved to %s, starting an empty history",
                self._path,
                exc,
                aside,
            )
            try:
                os.replace(self._path, aside)
            except OSError as move_error:
                log.error("cannot move %s aside (%s)", self._path, move_error)
            return {}
        return {record.id: record for record in records}

    def _save(self) -> None:
        if self._path is None:
            return
        entries = []
        for record in self._records.values():
            entry = asdict(record)
            entry["seen_at"] = record.seen_at.isoformat()
            entry["expires_at"] = record.expires_at.isoformat()
            entries.append(entry)
        # Temporary file + fsync + rename: a power cut leaves the old history or the new one.
        partial = self._path.with_name(self._path.name + ".partial")
        with partial.open("w", encoding="utf-8") as history:
            json.dump({"v": 1, "commands": entries}, history)
            history.flush()
            os.fsync(history.fileno())
        os.replace(partial, self._path)


# --------------------------------------------------------------------------------------------
# The processor


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to do for one accepted command."""

    # returns a reason for ``failed``, or None (or what it brings back) for ``done``
    run: Callable[[], str | CommandOutput | None]
    long: bool  # acknowledged ``accepted`` first and run in the background
    # Success is confirmed by the next boot (see finish_interrupted), not by the action.
    confirmed_after_reboot: bool = False


def _force(args: dict[str, Scalar]) -> bool:
    unknown = set(args) - {"force"}
    if unknown:
        raise Refused(f"unknown argument {sorted(unknown)[0]!r}; only 'force' is accepted")
    force = args.get("force", False)
    if not isinstance(force, bool):
        raise Refused(Reason.FORCE_NOT_BOOLEAN)
    return force


def _lines(args: dict[str, Scalar]) -> int:
    unknown = set(args) - {"lines"}
    if unknown:
        raise Refused(f"unknown argument {sorted(unknown)[0]!r}; only 'lines' is accepted")
    lines = args.get("lines", LOG_LINES_DEFAULT)
    if not isinstance(lines, int) or isinstance(lines, bool) or not 1 <= lines <= LOG_LINES_MAX:
        raise Refused(Reason.LINES_NOT_INTEGER)
    return lines


def _no_args(name: str, args: dict[str, Scalar]) -> None:
    if args:
        raise Refused(f"{name} takes no arguments")


class CommandProcessor:
    """Applies fleet commands at most once and acknowledges each through ``ack``."""

    def __init__(
        self,
        actions: TerminalActions,
        ack: AckCallback,
        store: CommandStore,
        *,
        terminal_id: str,
        boot_id: str,
        clock: Callable[[], datetime] = utc_now,
        run_in_background: Callable[[Callable[[], None]], None] | None = None,
        ack_output: OutputCallback | None = None,
    ) -> None:
        self._actions = actions
        self._ack = ack
        self._ack_output = ack_output
        self._store = store
        self._terminal_id = terminal_id
        self._boot_id = boot_id
        self._clock = clock
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        if run_in_background is None:
            # One worker: commands run one after the other, in the order they came.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiosk-cmd")
            executor = self._executor

            def submit(job: Callable[[], None]) -> None:
                executor.submit(job)

            run_in_background = submit
        self._run_in_background = run_in_background

    def close(self, wait: bool = True) -> None:
        """Stop the background worker (after the running command when ``wait``)."""
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)

    def on_command(self, command: Command) -> None:
        """Apply ``command`` unless seen before, expired or invalid; never raises."""
        with self._lock:
            previous = self._store.get(command.id)
            if previous is not None:
                log.info(
                    "terminal %s: command %s (%s) seen before; answering %s again",
                    self._terminal_id,
                    command.id,
                    previous.name,
                    previous.result,
                )
                self._ack(command.id, previous.result, previous.reason)
                return
            try:
                plan = self._plan(command)
            except (Refused, InvalidSettings) as refusal:
                self._finish(command, AckResult.REFUSED, str(refusal))
                return
            try:
                self._store.put(self._record(command, AckResult.ACCEPTED, None))
            except OSError as exc:
                # Without a record, a redelivery could run it twice: better not to run it.
                log.error(
                    "terminal %s: cannot record command %s (%s); refusing it",
                    self._terminal_id,
                    command.id,
                    exc,
                )
                self._ack(command.id, AckResult.REFUSED, Reason.CANNOT_RECORD)
                return
        log.info(
            "terminal %s: applying command %s (%s)", self._terminal_id, command.name, command.id
        )
        if plan.long:
            self._ack(command.id, AckResult.ACCEPTED, None)
            self._run_in_background(lambda: self._execute(command, plan))
        else:
            self._execute(command, plan)

    def finish_interrupted(self) -> None:
        """Settle commands left ``accepted`` by a previous run (call once, after start)."""
        for record in self._store.records():
            if record.result != AckResult.ACCEPTED or record.boot_id == self._boot_id:
                continue
            if record.name == "reboot":
                result: AckResult = AckResult.DONE
                reason = Reason.REBOOTED
            else:
                result, reason = AckResult.FAILED, Reason.INTERRUPTED
            self._settle(replace(record, result=result, reason=reason))

    # ---------------------------------------------------------------------------------------

    def _plan(self, command: Command) -> _Plan:
        """The plan for ``command``, or raise :class:`Refused` with the refusal reason."""
        now = self._clock()
        if command.expires_at <= command.issued_at:
            raise Refused(Reason.EXPIRES_BEFORE_ISSUED)
        # Bounded in time by the terminal's own clock, whatever the message says: an order
        # dated in the future or valid for a year would outlive what the operator meant.
        if command.issued_at - now > timedelta(seconds=COMMAND_CLOCK_SKEW_S):
            raise Refused(Reason.ISSUED_IN_FUTURE)
        if command.expires_at - command.issued_at > timedelta(seconds=COMMAND_MAX_VALIDITY_S):
            raise Refused(Reason.VALIDITY_TOO_LONG)
        if command.expired(now):
            raise Refused(Reason.EXPIRED)
        name, args = command.name, dict(command.args)
        if name in {"reboot", "restart_ui"}:
            if self._actions.session_open() and not _force(args):
                raise Refused(Reason.SESSION_OPEN_FORCE)
            _force(args)
            if name == "reboot":
                return _Plan(_calling(self._actions.reboot), long=True, confirmed_after_reboot=True)
            return _Plan(_calling(self._actions.restart_ui), long=True)
        if name == "wipe_session":
            _no_args(name, args)
            return _Plan(lambda: self._wipe(command.id), long=True)
        if name == "screenshot":
            _no_args(name, args)
            if self._actions.session_open():
                raise Refused(Reason.SCREEN_IN_USE)
            return _Plan(lambda: self._screenshot(command.id), long=True)
        if name == "logs":
            lines = _lines(args)
            return _Plan(lambda: CommandOutput(logs=self._actions.read_logs(lines)), long=True)
        if name == "set_settings":
            settings = validate_settings(args)
            return _Plan(_calling(lambda: self._actions.apply_settings(settings)), long=False)
        if name == "refresh_content":
            _no_args(name, args)
            return _Plan(_calling(self._actions.refresh_content), long=True)
        raise Refused(f"unknown command {name!r}")

    def _wipe(self, command_id: str) -> str | None:
        if self._actions.wipe_session(command_id):
            return None
        return Reason.WIPE_NOT_CLEAN

    def _screenshot(self, command_id: str) -> CommandOutput:
        png = self._actions.take_screenshot(command_id)
        return CommandOutput(screenshot_png=base64.b64encode(png).decode("ascii"))

    def _execute(self, command: Command, plan: _Plan) -> None:
        output: CommandOutput | None = None
        try:
            failure = plan.run()
        except ScreenRefused as exc:
            self._finish(command, AckResult.REFUSED, str(exc))
            return
        except ActionError as exc:
            failure = str(exc)[:200] or Reason.ACTION_FAILED
        except Exception:
            # A bug in an action must still produce an answer for the operator.
            log.exception("terminal %s: command %s crashed", self._terminal_id, command.id)
            failure = Reason.INTERNAL_ERROR
        if failure is None and plan.confirmed_after_reboot:
            # The machine is going down: the command stays ``accepted`` with this boot id, and
            # finish_interrupted() after the next boot acknowledges it ``done``.
            log.info("terminal %s: reboot requested by command %s", self._terminal_id, command.id)
            return
        if isinstance(failure, CommandOutput):
            output, failure = failure, None
        if failure is None:
            self._finish(command, AckResult.DONE, None, output)
        else:
            self._finish(command, AckResult.FAILED, failure)

    def _record(self, command: Command, result: AckResult, reason: str | None) -> CommandRecord:
        return CommandRecord(
            id=command.id,
            name=command.name,
            result=result,
            reason=reason,
            seen_at=self._clock(),
            expires_at=command.expires_at,
            boot_id=self._boot_id,
        )

    def _finish(
        self,
        command: Command,
        result: AckResult,
        reason: str | None,
        output: CommandOutput | None = None,
    ) -> None:
        previous = self._store.get(command.id)
        record = self._record(command, result, reason)
        if previous is not None:
            record = replace(record, seen_at=previous.seen_at)
        self._settle(record, output)

    def _settle(self, record: CommandRecord, output: CommandOutput | None = None) -> None:
        try:
            self._store.put(record)
        except OSError as exc:
            log.error(
                "terminal %s: result of command %s not recorded (%s)",
                self._terminal_id,
                record.id,
                exc,
            )
        level = logging.INFO if record.result == AckResult.DONE else logging.WARNING
        log.log(
            level,
            "terminal %s: command %s (%s) %s%s",
            self._terminal_id,
            record.name,
            record.id,
            record.result,
            f": {record.reason}" if record.reason else "",
        )
        if output is not None and self._ack_output is not None:
            # What it brings back goes with this ack only: a redelivery is answered ``done``
            # again, without it (the fleet keeps what it received).
            self._ack_output(record.id, output)
        else:
            self._ack(record.id, record.result, record.reason)


def _calling(action: Callable[[], None]) -> Callable[[], str | None]:
    def run() -> str | None:
        action()
        return None

    return run


# --------------------------------------------------------------------------------------------
# The real terminal
