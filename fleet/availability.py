"""Availability: the share of each day and month a terminal (and the fleet) was online.

Definitions (``docs/fleet-dashboard.md`` says the same for operators):

- A terminal's state at any instant is the one its latest ``state_changes`` row set (the presence
  it reported: ``online`` after its birth, ``offline`` after its goodbye, ``lost`` after the
  broker's last will). Before its first change, or while ``unknown``, it is *not observed*.
- **Online** time counts as available. A *degraded* terminal (online with a health problem, see
  :mod:`fleet.presence`) is online here: it answers and serves residents, and degradation is not
  kept in the state history (it is derived from the latest health report only).
- **Down** time is time ``offline`` or ``lost``, however short (a reboot counts too).
- Time inside a **maintenance window** (the terminal's, or a fleet-wide one) is left out of both
  and shown apart as *maintenance*; so is time after the terminal was decommissioned.
- **Observed** = online + down. **Availability** = online / observed (``None`` when nothing was
  observed). A month's or the fleet's figure sums seconds first (time-weighted), it is never an
  average of daily percentages.
- An **outage** is a maximal stretch down (``offline`` then ``lost`` is one outage); it is
  counted on the day it starts, unless it starts inside a maintenance window.
- Days are calendar days in the dashboard's time zone (23 or 25 hours at a change of time).

Scale: the fleet page and the CSV read the daily roll-ups (``availability_days``,
``availability_fleet_days``), which :func:`roll_up` fills in bounded passes: one day at a time,
terminals by batches of :data:`BATCH`, each batch reading only that day's changes, the one change
before the day of each of its terminals (by the ``(terminal_id, at)`` index) and the windows
of that day. A terminal's page computes its own figures live from its own changes (a month of
one terminal's history).

Over 400 lines because the definitions above, their computation from state changes, the daily
roll-up and the month's figures are one calculation: the tests and docs/fleet-dashboard.md
follow it in this order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from fleet.models import (
    Alert,
    AvailabilityDay,
    AvailabilityFleetDay,
    EventRecord,
    MaintenanceWindow,
    StateChange,
    Terminal,
)
from fleet.states import TerminalState

logger = logging.getLogger(__name__)

UP_STATES: Final = frozenset({TerminalState.ONLINE})
DOWN_STATES: Final = frozenset({TerminalState.OFFLINE, TerminalState.LOST})
OBSERVED_STATES: Final = UP_STATES | DOWN_STATES
SESSION_EVENT: Final = "session_ended"
#: Terminals per batch of a roll-up pass.
BATCH: Final = 1000
#: Days rolled up per pass at most (a first pass over a long history catches up over passes).
MAX_DAYS_PER_PASS: Final = 62

Interval = tuple[datetime, datetime]
#: A later change, beside the one before it, in :func:`recent_outages`.
_Later = aliased(StateChange, name="later")


@dataclass
class Figures:
    """Seconds of one terminal (or a sum of terminals) over a period."""

    online_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    outages: int = 0
    sessions: int = 0

    @property
    def observed_s(self) -> float:
        return self.online_s + self.down_s

    @property
    def ratio(self) -> float | None:
        """Online / observed, ``None`` when nothing was observed."""
        return self.online_s / self.observed_s if self.observed_s > 0 else None

    def add(self, other: Figures) -> None:
        self.online_s += other.online_s
        self.down_s += other.down_s
        self.maintenance_s += other.maintenance_s
        self.outages += other.outages
        self.sessions += other.sessions


@dataclass(frozen=True)
class Outage:
    """A stretch down: ``end`` is ``None`` while it lasts."""

    terminal_id: str
    start: datetime
    end: datetime | None
    state: str

    def duration_s(self, now: datetime) -> float:
        return max(((self.end or now) - self.start).total_seconds(), 0.0)


def day_bounds(day: date, zone: tzinfo) -> Interval:
    """The instants a local calendar day starts and ends, in UTC (so that differences count
    real seconds: within one zone Python subtracts wall-clock times, 24 h on a 25-hour day)."""
    return (
        datetime.combine(day, time(0), zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC),
    )


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, in order."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap_s(start: datetime, end: datetime, windows: Sequence[Interval]) -> float:
    total = 0.0
    for w_start, w_end in windows:
        low, high = max(start, w_start), min(end, w_end)
        if high > low:
            total += (high - low).total_seconds()
    return total


def _inside(moment: datetime, windows: Sequence[Interval]) -> bool:
    return any(start <= moment < end for start, end in windows)


def figures_of(
    start_state: str | None,
    changes: Sequence[tuple[datetime, str]],
    begin: datetime,
    end: datetime,
    windows: Sequence[Interval] = (),
) -> Figures:
    """One terminal's figures over ``[begin, end)``.

    ``start_state`` is its state at ``begin`` (``None``: never heard of before), ``changes`` its
    state changes within the period in order, ``windows`` its maintenance windows (any order).
    """
    result = Figures()
    if end <= begin:
        return result
    merged = merge(windows)
    state = start_state
    cursor = begin
    for at, new_state in [*changes, (end, None)]:
        at = min(max(at, begin), end)
        if at > cursor and state in OBSERVED_STATES:
            span = (at - cursor).total_seconds()
            in_maintenance = _overlap_s(cursor, at, merged)
            result.maintenance_s += in_maintenance
            if state in UP_STATES:
                result.online_s += span - in_maintenance
            else:
                result.down_s += span - in_maintenance
        if new_state is None:
            break
        if (
            new_state in DOWN_STATES
            and state not in DOWN_STATES
            and begin <= at < end
            and not _inside(at, merged)
        ):
            result.outages += 1
        state = new_state
        cursor = max(cursor, at)
    return result


def outages_of(
    terminal_id: str,
    before: tuple[datetime, str] | None,
    changes: Sequence[tuple[datetime, str]],
) -> list[Outage]:
    """The outages in a terminal's changes, oldest first (``before``: the change just before
    them, so that an outage already under way keeps its real start)."""
    found: list[Outage] = []
    current: tuple[datetime, str] | None = None
    if before is not None and before[1] in DOWN_STATES:
        current = before
    for at, state in changes:
        if state in DOWN_STATES:
            if current is None:
                current = (at, state)
        elif current is not None:
            found.append(Outage(terminal_id, current[0], at, current[1]))
            current = None
    if current is not None:
        found.append(Outage(terminal_id, current[0], None, current[1]))
    return found


# --- One terminal, live (its page) ----------------------------------------------------------


def _windows_of(
    session: Session, terminal_ids: Sequence[str] | None, begin: datetime, end: datetime
) -> dict[str | None, list[Interval]]:
    """Maintenance windows overlapping ``[begin, end)``, by terminal (``None``: fleet-wide)."""
    query = select(
        MaintenanceWindow.terminal_id, MaintenanceWindow.starts_at, MaintenanceWindow.ends_at
    ).where(MaintenanceWindow.starts_at < end, MaintenanceWindow.ends_at > begin)
    if terminal_ids is not None:
        query = query.where(
            or_(
                MaintenanceWindow.terminal_id.is_(None),
                MaintenanceWindow.terminal_id.in_(terminal_ids),
            )
        )
    windows: dict[str | None, list[Interval]] = {}
    for terminal_id, starts_at, ends_at in session.execute(query):
        windows.setdefault(terminal_id, []).append((starts_at, ends_at))
    return windows


def _last_change_before(
    session: Session, terminal_id: str, moment: datetime
) -> tuple[datetime, str] | None:
    row = session.execute(
        select(StateChange.at, StateChange.state)
        .where(StateChange.terminal_id == terminal_id, StateChange.at < moment)
        .order_by(StateChange.at.desc(), StateChange.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


@dataclass
class TerminalHistory:
    """One terminal's state history over a period, read once for its page."""

    terminal_id: str
    begin: datetime
    end: datetime
    before: tuple[datetime, str] | None
    changes: list[tuple[datetime, str]]
    windows: list[Interval]

    def figures(self, begin: datetime, end: datetime) -> Figures:
        """Figures over a sub-period ``[begin, end)`` of the history."""
        begin, end = max(begin, self.begin), min(end, self.end)
        state = None if self.before is None else self.before[1]
        inside: list[tuple[datetime, str]] = []
        for at, new_state in self.changes:
            if at < begin:
                state = new_state
            elif at < end:
                inside.append((at, new_state))
        return figures_of(state, inside, begin, end, self.windows)

    def outages(self) -> list[Outage]:
        return outages_of(self.terminal_id, self.before, self.changes)


def terminal_history(
    session: Session, terminal: Terminal, begin: datetime, end: datetime
) -> TerminalHistory:
    """A terminal's changes in ``[begin, end)``, the one before, and its windows (incl. the
    time after it was decommissioned, left out like maintenance)."""
    changes = [
        (at, state)
        for at, state in session.execute(
            select(StateChange.at, StateChange.state)
            .where(
                StateChange.terminal_id == terminal.id,
                StateChange.at >= begin,
                StateChange.at < end,
            )
            .order_by(StateChange.at, StateChange.id)
        )
    ]
    by_terminal = _windows_of(session, [terminal.id], begin, end)
    windows = [*by_terminal.get(None, []), *by_terminal.get(terminal.id, [])]
    if terminal.decommissioned_at is not None and terminal.decommissioned_at < end:
        windows.append((terminal.decommissioned_at, end))
    before = _last_change_before(session, terminal.id, begin)
    return TerminalHistory(terminal.id, begin, end, before, changes, windows)


# --- The fleet, rolled up ---------------------------------------------------------------------


def _terminal_batches(session: Session, batch: int) -> Iterator[list[tuple[str, datetime | None]]]:
    last = ""
    while True:
        rows = session.execute(
            select(Terminal.id, Terminal.decommissioned_at)
            .where(Terminal.id > last)
            .order_by(Terminal.id)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        last = rows[-1][0]


def _start_states(session: Session, ids: Sequence[str], begin: datetime) -> dict[str, str]:
    """Each terminal's state at ``begin``: its last change before (one index probe each)."""
    last_state = (
        select(StateChange.state)
        .where(StateChange.terminal_id == Terminal.id, StateChange.at < begin)
        .order_by(StateChange.at.desc(), StateChange.id.desc())
        .limit(1)
        .correlate(Terminal)
        .scalar_subquery()
    )
    return {
        terminal_id: state
        for terminal_id, state in session.execute(
            select(Terminal.id, last_state).where(Terminal.id.in_(ids))
        )
        if state is not None
    }


def roll_up_day(
    session: Session, day: date, zone: tzinfo, now: datetime, batch: int = BATCH
) -> AvailabilityFleetDay:
    """(Re)compute ``day`` for every terminal (up to ``now`` if it is today), committed."""
    begin, end = day_bounds(day, zone)
    cut = min(end, now)
    complete = end <= now
    session.execute(delete(AvailabilityDay).where(AvailabilityDay.day == day))
    fleet_windows = _windows_of(session, None, begin, cut)
    sessions = dict(
        session.execute(
            select(EventRecord.terminal_id, func.count())
            .where(
                EventRecord.kind == SESSION_EVENT,
                EventRecord.received_at >= begin,
                EventRecord.received_at < cut,
            )
            .group_by(EventRecord.terminal_id)
        ).all()
    )
    total = Figures()
    terminals = 0
    for ids_and_ends in _terminal_batches(session, batch):
        ids = [terminal_id for terminal_id, _end in ids_and_ends]
        rows: list[dict[str, object]] = []
        starts = _start_states(session, ids, begin)
        changes: dict[str, list[tuple[datetime, str]]] = {}
        for terminal_id, at, state in session.execute(
            select(StateChange.terminal_id, StateChange.at, StateChange.state)
            .where(
                StateChange.terminal_id.in_(ids),
                StateChange.at >= begin,
                StateChange.at < cut,
            )
            .order_by(StateChange.terminal_id, StateChange.at, StateChange.id)
        ):
            changes.setdefault(terminal_id, []).append((at, state))
        for terminal_id, decommissioned_at in ids_and_ends:
            windows = [*fleet_windows.get(None, []), *fleet_windows.get(terminal_id, [])]
            if decommissioned_at is not None and decommissioned_at < cut:
                windows.append((decommissioned_at, cut))
            figures = figures_of(
                starts.get(terminal_id), changes.get(terminal_id, []), begin, cut, windows
            )
            figures.sessions = int(sessions.get(terminal_id, 0))
            if figures.observed_s <= 0 and figures.maintenance_s <= 0 and not figures.sessions:
                continue
            terminals += 1
            total.add(figures)
            rows.append(
                {
                    "terminal_id": terminal_id,
                    "day": day,
                    "observed_s": figures.observed_s,
                    "online_s": figures.online_s,
                    "down_s": figures.down_s,
                    "maintenance_s": figures.maintenance_s,
                    "outages": figures.outages,
                    "sessions": figures.sessions,
                    "share": figures.ratio,
                    "complete": complete,
                }
            )
        if rows:
            # One multi-row INSERT per batch, not an ORM object per terminal.
            session.execute(insert(AvailabilityDay), rows)
    alerts = session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(Alert.opened_at >= begin, Alert.opened_at < cut)
    )
    row = session.get(AvailabilityFleetDay, day) or AvailabilityFleetDay(day=day)
    row.terminals = terminals
    row.observed_s = total.observed_s
    row.online_s = total.online_s
    row.down_s = total.down_s
    row.maintenance_s = total.maintenance_s
    row.outages = total.outages
    row.sessions = total.sessions
    row.alerts = int(alerts or 0)
    row.complete = complete
    row.computed_at = now
    session.add(row)
    session.commit()
    return row


def roll_up(
    session: Session, now: datetime, zone: tzinfo, max_days: int = MAX_DAYS_PER_PASS
) -> list[date]:
    """Roll up the complete days not rolled up yet (at most ``max_days``), then today so far."""
    today = now.astimezone(zone).date()
    last_complete = session.scalar(
        select(func.max(AvailabilityFleetDay.day)).where(AvailabilityFleetDay.complete)
    )
    if last_complete is not None:
        first = last_complete + timedelta(days=1)
    else:
        oldest = session.scalar(select(func.min(StateChange.at)))
        first = today if oldest is None else oldest.astimezone(zone).date()
    done: list[date] = []
    day = first
    while day < today and len(done) < max_days:
        roll_up_day(session, day, zone, now)
        done.append(day)
        day += timedelta(days=1)
    if day >= today:
        roll_up_day(session, today, zone, now)
        done.append(today)
    if done:
        logger.info("Availability: rolled up %d days, up to %s.", len(done), done[-1])
    return done


@dataclass
class FleetPeriod:
    """The fleet's figures by day over a period, as the roll-ups have them."""

    days: list[AvailabilityFleetDay] = field(default_factory=list)

    def total(self) -> Figures:
        figures = Figures()
        for row in self.days:
            figures.add(fleet_figures(row))
        return figures


def fleet_figures(row: AvailabilityFleetDay) -> Figures:
    return Figures(row.online_s, row.down_s, row.maintenance_s, row.outages, row.sessions)


def fleet_days(session: Session, first: date, last: date) -> list[AvailabilityFleetDay]:
    return list(
        session.scalars(
            select(AvailabilityFleetDay)
            .where(AvailabilityFleetDay.day >= first, AvailabilityFleetDay.day <= last)
            .order_by(AvailabilityFleetDay.day)
        )
    )


def least_available(
    session: Session, day: date, limit: int = 20
) -> list[tuple[AvailabilityDay, str | None]]:
    """The terminals least online on ``day`` (then by id), with their site: the first rows of
    the ``(day, share, terminal_id)`` index, whatever the fleet's size."""
    rows = session.execute(
        select(AvailabilityDay, Terminal.site_name)
        .join(Terminal, Terminal.id == AvailabilityDay.terminal_id)
        .where(AvailabilityDay.day == day, AvailabilityDay.share.is_not(None))
        .order_by(AvailabilityDay.share, AvailabilityDay.terminal_id)
        .limit(limit)
    ).all()
    return [(row[0], row[1]) for row in rows]


def recent_outages(
    session: Session, since: datetime, limit: int = 50, chunk: int = 200
) -> list[Outage]:
    """Outages that started since ``since``, newest first, fleet-wide.

    Walks the changes to ``offline`` or ``lost`` since ``since`` newest first (index on ``at``),
    by chunks, keeping those whose previous change was not down, each with the next change back
    up as its end (both by the ``(terminal_id, at)`` index); stops at ``limit``: bounded by the
    outages shown, not by the fleet's history.
    """
    previous = (
        select(StateChange.state)
        .where(
            StateChange.terminal_id == _Later.terminal_id,
            or_(
                StateChange.at < _Later.at,
                (StateChange.at == _Later.at) & (StateChange.id < _Later.id),
            ),
        )
        .order_by(StateChange.at.desc(), StateChange.id.desc())
        .limit(1)
        .correlate(_Later)
        .scalar_subquery()
    )
    ended = (
        select(StateChange.at)
        .where(
            StateChange.terminal_id == _Later.terminal_id,
            StateChange.state.not_in(DOWN_STATES),
            or_(
                StateChange.at > _Later.at,
                (StateChange.at == _Later.at) & (StateChange.id > _Later.id),
            ),
        )
        .order_by(StateChange.at, StateChange.id)
        .limit(1)
        .correlate(_Later)
        .scalar_subquery()
    )
    found: list[Outage] = []
    cursor: tuple[datetime, int] | None = None
    while len(found) < limit:
        query = select(
            _Later.terminal_id, _Later.at, _Later.state, _Later.id, previous, ended
        ).where(_Later.at >= since, _Later.state.in_(DOWN_STATES))
        if cursor is not None:
            query = query.where(
                or_(_Later.at < cursor[0], (_Later.at == cursor[0]) & (_Later.id < cursor[1]))
            )
        rows = session.execute(
            query.order_by(_Later.at.desc(), _Later.id.desc()).limit(chunk)
        ).all()
        for terminal_id, at, state, _change_id, before, end in rows:
            if before not in DOWN_STATES and len(found) < limit:
                found.append(Outage(terminal_id, at, end, state))
        if len(rows) < chunk:
            break
        cursor = (rows[-1][1], rows[-1][3])
    return found
