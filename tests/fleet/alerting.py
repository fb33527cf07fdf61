"""Builders shared by the presence and alert tests: messages in, a wired engine."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fleet.alerts.engine import AlertEngine
from fleet.alerts.notifiers import EmailNotifier, Notifier, WebhookNotifier
from fleet.alerts.rules import AlertLimits
from fleet.ingest.handler import handle_message
from fleet.models import Alert
from kiosk.contract.mqtt import Channel, Disk, Enclosure, Event, Health, UiState, topic_for

from .conftest import status_payload
from .sinks import Sink

TERMINAL = "bdx-alert-a"


def send(
    factory: sessionmaker[Session],
    channel: Channel,
    payload: bytes,
    at: datetime,
    terminal_id: str = TERMINAL,
) -> None:
    with factory() as session:
        outcome = handle_message(session, topic_for(terminal_id, channel), payload, at)
    assert outcome.kind == "stored", outcome


def status(
    factory: sessionmaker[Session], state: str, at: datetime, terminal_id: str = TERMINAL
) -> None:
    send(factory, Channel.STATUS, status_payload(state, at=at), at, terminal_id)


def health(
    seq: int,
    at: datetime,
    *,
    disk: float = 50.0,
    cpu_temperature: float = 45.0,
    ui_alive: bool = True,
    last_wipe_ok: bool | None = None,
    door_open: bool = False,
    enclosure_temperature: float = 25.0,
) -> bytes:
    return Health(
        seq=seq,
        sent_at=at,
        uptime_s=3600,
        cpu_percent=10.0,
        memory_percent=40.0,
        memory_total_bytes=4 * 1024**3,
        disks=[Disk(mount="/", total_bytes=32 * 1024**3, used_percent=disk)],
        temperatures_c={"cpu": cpu_temperature},
        clock_synced=True,
        ui=UiState(alive=ui_alive, last_wipe_ok=last_wipe_ok),
        enclosure=Enclosure(door_open=door_open, temperature_c=enclosure_temperature),
    ).to_bytes()


def event(seq: int, at: datetime, kind: str, **data: str | bool | int) -> bytes:
    return Event(seq=seq, sent_at=at, kind=kind, data=data).to_bytes()


def english(message: str) -> str:
    return message


def make_engine_for(
    factory: sessionmaker[Session],
    smtp: Sink | None,
    webhook: Sink | None,
    limits: AlertLimits | None = None,
    webhook_url: str | None = None,
) -> AlertEngine:
    notifiers: list[Notifier] = []
    if smtp is not None:
        notifiers.append(
            EmailNotifier("127.0.0.1", smtp.port, "fleet@test", ["ops@test"], english, timeout_s=5)
        )
    if webhook is not None or webhook_url is not None:
        url = webhook_url if webhook_url is not None else webhook.url  # type: ignore[union-attr]
        notifiers.append(WebhookNotifier(url, timeout_s=5))
    return AlertEngine(factory, limits or AlertLimits(), notifiers)


def alerts(factory: sessionmaker[Session]) -> list[Alert]:
    with factory() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def unresolved(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    return [(a.terminal_id, a.kind, a.state) for a in alerts(factory) if a.state != "resolved"]
