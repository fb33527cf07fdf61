"""Retention of health history: raw reports for days, hourly roll-ups of them for months.

A pass rolls up every complete hour not rolled up yet (hours of ``received_at``, the fleet's
clock: once an hour is over no report can still arrive in it), then deletes raw reports and
roll-ups older than their retention, in batches so that no transaction holds the tables long.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fleet.models import HealthHourly, HealthSample

logger = logging.getLogger(__name__)

HOUR: Final = timedelta(hours=1)
DELETE_BATCH: Final = 5000


def hour_start(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@dataclass
class _Figures:
    count: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    maxima: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, value: float | None) -> None:
        if value is None:
            return
        self.sums[name] = self.sums.get(name, 0.0) + value
        self.counts[name] = self.counts.get(name, 0) + 1
        self.maxima[name] = max(self.maxima.get(name, value), value)

    def avg(self, name: str) -> float | None:
        return self.sums[name] / self.counts[name] if name in self.counts else None


def _figures_of(payload: dict[str, Any]) -> dict[str, float | None]:
    """The rolled-up figures of one health report (as the terminal table shows them)."""
    disks = [d.get("used_percent") for d in payload.get("disks") or [] if isinstance(d, dict)]
    temperatures = list((payload.get("temperatures_c") or {}).values())
    return {
        "cpu": _number(payload.get("cpu_percent")),
        "memory": _number(payload.get("memory_percent")),
        "disk": max((v for v in map(_number, disks) if v is not None), default=None),
        "temperature": max((v for v in map(_number, temperatures) if v is not None), default=None),
    }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def roll_up_hour(session: Session, hour: datetime) -> int:
    """(Re)compute the roll-ups of ``hour``; returns how many terminals it had reports from."""
    per_terminal: dict[str, _Figures] = {}
    rows = session.execute(
        select(HealthSample.terminal_id, HealthSample.payload).where(
            HealthSample.received_at >= hour, HealthSample.received_at < hour + HOUR
        )
    )
    for terminal_id, payload in rows:
        figures = per_terminal.setdefault(terminal_id, _Figures())
        figures.count += 1
        for name, value in _figures_of(payload).items():
            figures.add(name, value)
    session.execute(delete(HealthHourly).where(HealthHourly.hour == hour))
    for terminal_id, figures in per_terminal.items():
        session.add(
            HealthHourly(
                terminal_id=terminal_id,
                hour=hour,
                count=figures.count,
                cpu_avg=figures.avg("cpu"),
                cpu_max=figures.maxima.get("cpu"),
                memory_avg=figures.avg("memory"),
                memory_max=figures.maxima.get("memory"),
                disk_avg=figures.avg("disk"),
                disk_max=figures.maxima.get("disk"),
                temperature_avg=figures.avg("temperature"),
                temperature_max=figures.maxima.get("temperature"),
            )
        )
    return len(per_terminal)


@dataclass(frozen=True)
class RetentionResult:
    hours_rolled_up: int
    raw_deleted: int
    rollups_deleted: int


def run_retention(
    session: Session,
    now: datetime,
    health_retention_days: float,
    rollup_retention_days: float,
    delete_batch: int = DELETE_BATCH,
) -> RetentionResult:
    """One retention pass (committed as it goes): roll up complete hours, then delete."""
    current_hour = hour_start(now)
    latest = session.scalar(select(func.max(HealthHourly.hour)))
    if latest is not None:
        start = latest + HOUR
    else:
        oldest = session.scalar(select(func.min(HealthSample.received_at)))
        start = hour_start(oldest) if oldest is not None else current_hour
    hours = 0
    hour = start
    while hour < current_hour:
        roll_up_hour(session, hour)
        session.commit()
        hours += 1
        hour += HOUR
    raw_deleted = _delete_before(
        session, HealthSample, now - timedelta(days=health_retention_days), delete_batch
    )
    rollups_deleted = _delete_before(
        session, HealthHourly, now - timedelta(days=rollup_retention_days), delete_batch
    )
    if hours or raw_deleted or rollups_deleted:
        logger.info(
            "Retention: %d hours rolled up, %d raw health reports and %d roll-ups deleted.",
            hours,
            raw_deleted,
            rollups_deleted,
        )
    return RetentionResult(hours, raw_deleted, rollups_deleted)


def _delete_before(
    session: Session,
    model: type[HealthSample] | type[HealthHourly],
    cutoff: datetime,
    batch: int,
) -> int:
    column = model.received_at if model is HealthSample else HealthHourly.hour
    total = 0
    while True:
        ids = select(model.id).where(column < cutoff).limit(batch).scalar_subquery()
        result = session.execute(delete(model).where(model.id.in_(ids)))
        deleted = int(getattr(result, "rowcount", 0))
        session.commit()
        total += deleted
        if deleted < batch:
            return total
