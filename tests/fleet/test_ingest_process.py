"""The ingest's message boundary: a database that cannot take a message holds it, never drops it;
one that refuses a message as data costs that message only; the identity is stable."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fleet.core.db import make_engine, make_session_factory, upgrade_database
from fleet.ingest import writer as writer_module
from fleet.ingest.handler import Received
from fleet.ingest.mqtt import Ingest
from fleet.ingest.writer import BatchWriter
from fleet.models import HealthSample, RejectedMessage
from kiosk.contract.mqtt import Channel, topic_for
from tests.helpers import wait_until

from .conftest import health_payload, later, make_settings

HEALTH = topic_for("bdx-test-a", Channel.HEALTH)


def test_a_database_without_its_tables_holds_the_message_until_it_has_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine(settings.database_url)  # never migrated: no tables yet
    factory = make_session_factory(engine)
    committed: list[list[Received]] = []
    writer = BatchWriter(factory, on_committed=committed.append, retry_s=(0.05, 0.2))
    caplog.set_level(logging.WARNING, logger="fleet.ingest.writer")
    item = Received(HEALTH, health_payload(), later(1), mid=7, qos=1, link=1)

    storing = threading.Thread(target=writer.write, args=([item],))
    storing.start()
    wait_until(lambda: writer.outage_s is not None, 10, "the writer to hold the message")
    assert committed == []  # not acknowledged while it is not stored
    upgrade_database(engine)
    storing.join(timeout=20)

    assert committed == [[item]]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(HealthSample)) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("held and tried again" in m for m in messages)
    assert any("answers again" in m for m in messages)
    engine.dispose()


def test_a_row_the_database_refuses_costs_only_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    engine = make_engine(settings.database_url)
    upgrade_database(engine)
    factory = make_session_factory(engine)
    real_handle_batch = writer_module.handle_batch
    poison = health_payload(seq=13, at=later(13))

    def refusing(
        session: Session, batch: list[Received], clock: object, terminals: object
    ) -> object:
        if any(item.payload == poison for item in batch):
            raise IntegrityError("INSERT", {}, Exception("value too long"))
        return real_handle_batch(session, batch, clock, terminals)  # type: ignore[arg-type]

    monkeypatch.setattr(writer_module, "handle_batch", refusing)
    committed: list[Received] = []
    writer = BatchWriter(factory, on_committed=committed.extend)
    batch = [
        Received(HEALTH, health_payload(seq, later(seq)), later(seq), mid=seq, qos=1)
        for seq in range(1, 33)
    ]

    writer.write(batch)

    assert [item.mid for item in committed] == list(range(1, 33))  # every one, in order
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(HealthSample)) == 31
        refused = session.scalars(select(RejectedMessage)).one()
        assert (refused.reason, refused.count) == ("unstorable", 1)
    assert writer.unstorable == 1
    engine.dispose()


def test_the_identity_is_the_broker_user_unless_configured(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, broker_username="fleet-2")
    engine = make_engine(settings.database_url)
    assert Ingest(settings, make_session_factory(engine)).identity == "fleet-2"
    configured = make_settings(tmp_path, ingest_client_id="fleet-ingest-a")
    assert Ingest(configured, make_session_factory(engine)).identity == "fleet-ingest-a"
    engine.dispose()
