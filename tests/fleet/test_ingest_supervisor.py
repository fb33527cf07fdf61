"""``fleet serve --ingests N``: several real ``fleet ingest`` processes in one share group, each
with a broker user of its own created by the fleet, every message stored once, a killed one
started again."""

from __future__ import annotations

import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fleet import crud
from fleet.broker import acl_text, fleet_users_in_acl, password_file_users, running_broker
from fleet.cli import app
from fleet.core.db import make_engine, make_session_factory
from fleet.ingest.supervisor import IngestSupervisor, ingest_username
from fleet.models import HealthSample, Terminal
from kiosk.contract.mqtt import FLEET_USERNAME, Channel, topic_for
from tests.conftest import TEST_TERMINALS, TestBroker
from tests.helpers import wait_until

from .conftest import health_payload, later, make_settings, prepare_database
from .test_ingest_broker import publish, terminal_client

pytestmark = pytest.mark.broker


def stored(engine: Engine) -> tuple[int, int]:
    """Rows, and distinct (terminal, seq) among them (one engine: a new connection to SQLite
    sets its journal mode, which would contend with the ingests' writes)."""
    with make_session_factory(engine)() as session:
        rows = session.scalar(select(func.count()).select_from(HealthSample)) or 0
        distinct = session.execute(
            select(func.count()).select_from(
                select(HealthSample.terminal_id, HealthSample.seq).distinct().subquery()
            )
        ).scalar_one()
    return rows, distinct


def connected_users(broker: TestBroker) -> set[str]:
    log = (broker.running.config_dir / "mosquitto.log").read_text(errors="replace")
    return {
        line.split(" as ", 1)[1].split(" ", 1)[0]
        for line in log.splitlines()
        if "New client connected" in line and " as " in line
    }


def send(broker: TestBroker, first_seq: int, count: int) -> int:
    for terminal_id in TEST_TERMINALS:
        with terminal_client(
            broker.host, broker.port, terminal_id, broker.password(terminal_id)
        ) as client:
            topic = topic_for(terminal_id, Channel.HEALTH)
            for seq in range(first_seq, first_seq + count):
                publish(client, topic, health_payload(seq, later(seq)))
    return count * len(TEST_TERMINALS)


def probe(broker: TestBroker, last: list[float] = [0.0]) -> bool:  # noqa: B006
    """Send report 0 of every terminal again, at most once a second."""
    if time.monotonic() - last[0] >= 1.0:
        send(broker, 0, 1)
        last[0] = time.monotonic()
    return True


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TestBroker]:
    """The project's broker with three fleet users in its ACL, as docs/systemd.md says to
    write it for three ingests (their passwords are the supervisor's to set)."""
    credentials = {
        name: secrets.token_urlsafe(12)
        for name in (FLEET_USERNAME, "fleet-2", "fleet-3", *TEST_TERMINALS)
    }
    with running_broker(tmp_path / "broker", credentials) as running:
        yield TestBroker(running, credentials)


@pytest.fixture
def three_ingests(
    tmp_path: Path, broker: TestBroker, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[IngestSupervisor, Engine]]:
    settings = make_settings(
        tmp_path,
        broker_port=broker.port,
        broker_password=broker.password(FLEET_USERNAME),
        ingest_batch_wait_s=0.05,
    )
    prepare_database(settings)
    # The children are the `fleet ingest` command: they read their settings as it does.
    monkeypatch.setenv("FLEET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FLEET_BROKER_PORT", str(broker.port))
    monkeypatch.setenv("FLEET_INGEST_BATCH_WAIT_S", "0.05")
    monkeypatch.setenv("FLEET_SECRET_KEY", "test")
    supervisor = IngestSupervisor(settings, 3, broker.running.credentials())
    assert supervisor.missing_rights(broker.running.config_dir / "acl") == []
    supervisor.start()
    engine = make_engine(settings.database_url)
    try:
        yield supervisor, engine
    finally:
        supervisor.stop()
        engine.dispose()


@pytest.mark.timeout(300)
def test_three_ingests_share_the_messages_store_each_once_and_come_back_when_killed(
    broker: TestBroker, three_ingests: tuple[IngestSupervisor, Engine]
) -> None:
    supervisor, engine = three_ingests
    users = {ingest_username(n) for n in (1, 2, 3)}
    assert users == {FLEET_USERNAME, "fleet-2", "fleet-3"}
    # The fleet made the two extra users in the broker's live password file.
    assert users <= password_file_users(broker.running.password_file)
    wait_until(lambda: users <= connected_users(broker), 90, "the three ingests to connect")
    # Each subscribes once connected: report 0 of every terminal, again until stored (copies of
    # one report are one row), proves the group receives.
    wait_until(lambda: probe(broker) and stored(engine)[1] == len(TEST_TERMINALS), 60, "report 0")
    expected = len(TEST_TERMINALS)

    expected += send(broker, 2, 60)
    wait_until(lambda: stored(engine)[0] >= expected, 30, "every message")

    # kill -9 one of them: the supervisor starts it again, and nothing is lost meanwhile (the
    # broker keeps its share for the member that is away).
    victim = supervisor.children[1]
    assert victim.process is not None
    old_pid = victim.process.pid
    os.kill(old_pid, signal.SIGKILL)
    expected += send(broker, 100, 60)
    wait_until(
        lambda: victim.process is not None and victim.process.pid != old_pid,
        30,
        "the killed ingest to be started again",
    )
    assert victim.restarts == 1
    wait_until(lambda: stored(engine)[0] >= expected, 60, "every message after the kill")
    rows, distinct = stored(engine)
    assert rows == expected
    assert distinct == expected


def test_several_ingests_without_a_live_password_file_are_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    env = {
        "FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}",
        "FLEET_BROKER_PASSWORD": "x",
        "FLEET_ENROLMENT_BROKER_PASSWORD_FILE": "",
    }
    result = CliRunner().invoke(app, ["serve", "--ingests", "2"], env=env)

    assert result.exit_code == 2, result.output
    assert "utilisateur du broker" in result.output
    assert "FLEET_ENROLMENT_BROKER_PASSWORD_FILE" in result.output
    assert not (tmp_path / "fleet.db").exists()  # refused before the database was touched


def test_ingests_and_no_ingest_exclude_each_other(tmp_path: Path) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}"}
    result = CliRunner().invoke(app, ["serve", "--ingests", "2", "--no-ingest"], env=env)

    assert result.exit_code == 2, result.output
    assert "--no-ingest" in result.output


def test_the_acl_check_sees_which_fleet_users_have_the_fleets_rights(tmp_path: Path) -> None:
    acl = tmp_path / "acl"
    acl.write_text(acl_text([FLEET_USERNAME, "fleet-2"]))
    assert fleet_users_in_acl(acl) == {FLEET_USERNAME, "fleet-2"}
    three = IngestSupervisor(make_settings(tmp_path), 3, None, check_credentials=False)
    assert three.missing_rights(acl) == ["fleet-3"]


def test_an_ingest_whose_user_the_acl_does_not_name_is_refused(tmp_path: Path) -> None:
    """Mosquitto would give that member its share of the messages and then drop them."""
    broker_dir = tmp_path / "broker"
    broker_dir.mkdir()
    (broker_dir / "passwd").write_text("")
    (broker_dir / "acl").write_text(acl_text([FLEET_USERNAME, "fleet-2"]))
    env = {
        "FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}",
        "FLEET_BROKER_PASSWORD": "x",
        "FLEET_ENROLMENT_BROKER_PASSWORD_FILE": str(broker_dir / "passwd"),
        "FLEET_ENROLMENT_BROKER_PID_FILE": str(broker_dir / "mosquitto.pid"),
    }
    result = CliRunner().invoke(app, ["serve", "--ingests", "3"], env=env)

    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())
    assert "ne donne pas à fleet-3 les droits de la flotte" in said
    assert (broker_dir / "passwd").read_text() == ""  # no user was created


def test_a_terminal_another_ingest_just_created_is_found_not_inserted_twice(
    migrated_engine: Engine,
) -> None:
    """Two ingests see a new terminal's first messages at once: the second one's INSERT does
    nothing and it gets the row the first committed (an IntegrityError before, which cost the
    message: it was counted as unstorable and dropped)."""
    factory = make_session_factory(migrated_engine)
    with factory() as first:
        made = crud.get_or_create_terminal(first, "bdx-test-a", later(0))
        made.state = "online"
        first.commit()
    with factory() as second:
        # As the second ingest would: it looked before the first one committed.
        second.execute(crud.insert_terminal_unless_present(second, "bdx-test-a", later(5)))
        found = crud.get_or_create_terminal(second, "bdx-test-a", later(5))
        second.commit()
        assert found.state == "online"
        assert found.created_at == later(0)
        assert second.scalar(select(func.count()).select_from(Terminal)) == 1
