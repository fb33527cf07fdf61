"""Prometheus text exposition of the fleet's figures, written by hand for this small set.

Database figures (terminals, alerts, commands, rejected messages, ingest lag) are read at each
scrape, so every fleet process answers the same. The count of ingested messages is kept by the
ingest in its own process: a web process without ingest reports none.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet.ingest.broker_counters import dropped_total
from fleet.models import (
    Alert,
    CommandRecord,
    EventRecord,
    HealthSample,
    RejectedMessage,
    Terminal,
)
from fleet.states import AlertState, CommandState, TerminalState
from kiosk.contract.mqtt import ContractError, parse_topic

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
#: The window over which ingest lag is measured.
LAG_WINDOW: Final = timedelta(minutes=1)


class IngestCounters:
    """Messages handled by this process's ingest, by channel and outcome (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def count(self, topic: str, outcome: str) -> None:
        try:
            channel = parse_topic(topic).channel.value
        except ContractError:
            channel = "unknown"
        with self._lock:
            self._counts[(channel, outcome)] += 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)


def escape_label_value(value: str) -> str:
    """Backslash, double quote and newline escaped, as the exposition format requires."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    """One metric: name, help, type and its samples."""

    name: str
    help: str
    kind: str
    samples: list[Sample]

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for sample in self.samples:
            labels = ",".join(
                f'{key}="{escape_label_value(value)}"' for key, value in sample.labels.items()
            )
            suffix = f"{{{labels}}}" if labels else ""
            lines.append(f"{self.name}{suffix} {_number(sample.value)}")
        return "\n".join(lines)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _grouped(session: Session, column: object, model: type, *where: object) -> dict[str, int]:
    query = select(column, func.count()).select_from(model).where(*where).group_by(column)  # type: ignore[call-overload]
    return {str(key): int(count) for key, count in session.execute(query)}


def _by_label(label: str, counts: Mapping[str, int], every: Iterable[str] = ()) -> list[Sample]:
    """One sample per key, with zeros for the known values absent from ``counts``."""
    keys = list(dict.fromkeys([*every, *sorted(counts)]))
    return [Sample({label: key}, counts.get(key, 0)) for key in keys]


def ingest_lags(session: Session, now: datetime) -> tuple[float | None, float | None]:
    """(last, max) seconds between a report's sent_at and its storage over the last minute."""
    since = now - LAG_WINDOW
    lags: list[tuple[datetime, float]] = []
    for model in (HealthSample, EventRecord):
        rows = session.execute(
            select(model.received_at, model.sent_at).where(model.received_at >= since)
        )
        lags.extend(
            (received, max(0.0, (received - sent).total_seconds())) for received, sent in rows
        )
    if not lags:
        return None, None
    last = max(lags, key=lambda pair: pair[0])[1]
    return last, max(lag for _at, lag in lags)


def collect(session: Session, now: datetime, counters: IngestCounters | None) -> list[Family]:
    """Every metric family, read now."""
    rejected = {
        str(reason): int(total)
        for reason, total in session.execute(
            select(RejectedMessage.reason, func.sum(RejectedMessage.count)).group_by(
                RejectedMessage.reason
            )
        )
    }
    open_states = [state for state in AlertState if state != AlertState.RESOLVED]
    families = [
        Family(
            "fleet_terminals",
            "Terminals by presence state.",
            "gauge",
            _by_label("state", _grouped(session, Terminal.state, Terminal), TerminalState),
        ),
        Family(
            "fleet_alerts_open",
            "Unresolved alerts (open or acknowledged) by kind.",
            "gauge",
            _by_label("kind", _grouped(session, Alert.kind, Alert, Alert.state.in_(open_states))),
        ),
        Family(
            "fleet_commands",
            "Commands by state.",
            "gauge",
            _by_label(
                "state",
                _grouped(session, CommandRecord.state, CommandRecord),
                CommandState,
            ),
        ),
        Family(
            "fleet_messages_rejected_total",
            "Messages rejected by the ingest (every process), by reason.",
            "counter",
            _by_label("reason", rejected),
        ),
        Family(
            "fleet_broker_dropped_messages_total",
            "Messages the MQTT broker dropped (its queue for the fleet was full), as it counts "
            "them under $SYS, since the fleet began counting.",
            "counter",
            [Sample({}, float(dropped_total(session)))],
        ),
    ]
    last_lag, max_lag = ingest_lags(session, now)
    lag_samples = [] if last_lag is None else [Sample({}, last_lag)]
    families.append(
        Family(
            "fleet_ingest_lag_seconds",
            "Seconds between the last stored report's sent_at and its storage.",
            "gauge",
            lag_samples,
        )
    )
    families.append(
        Family(
            "fleet_ingest_lag_max_seconds",
            "Largest ingest lag over the last minute.",
            "gauge",
            [] if max_lag is None else [Sample({}, max_lag)],
        )
    )
    if counters is not None:
        families.append(
            Family(
                "fleet_messages_ingested_total",
                "Messages handled by this process's ingest, by channel and outcome.",
                "counter",
                [
                    Sample({"channel": channel, "outcome": outcome}, count)
                    for (channel, outcome), count in sorted(counters.snapshot().items())
                ],
            )
        )
    return families


def exposition(families: Iterable[Family]) -> str:
    return "\n".join(family.render() for family in families) + "\n"
