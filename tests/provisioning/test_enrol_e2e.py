"""End to end: a running fleet (uvicorn, with its MQTT ingest) and a real Mosquitto with the
project's configuration. An operator creates a code (``fleet enrolment create``), the technician
runs ``kiosk-provision enroll``, a real ``kiosk-agent`` starts with the written configuration,
the fleet sees it online; ``kiosk-provision decommission`` revokes it and its MQTT access is
refused at once: the live connection is dropped and every reconnection is turned away.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import crud
from fleet.cli.enrolment import app as enrolment_app
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import Terminal
from kiosk.contract import paths
from provisioning.cli import build_app
from tests.conftest import TestBroker
from tests.helpers import served, wait_until
from tests.provisioning.conftest import MqttProbe, fleet_app, mqtt_probe

pytestmark = [pytest.mark.e2e, pytest.mark.broker]

runner = CliRunner()


class AgentRunner:
    """Stands in for systemctl: ``restart kiosk-agent.service`` starts a real kiosk-agent."""

    def __init__(self, etc_dir: Path, work: Path) -> None:
        self.etc_dir = etc_dir
        self.work = work
        self.calls: list[list[str]] = []
        self.agent: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.work / "agent.log"

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        if list(argv[:2]) == ["systemctl", "restart"]:
            self.start_agent()
        if list(argv[:3]) == ["systemctl", "disable", "--now"]:
            self.stop_agent()
        return subprocess.CompletedProcess(list(argv), 0, "active\n", "")

    def start_agent(self) -> None:
        # The enrolled configuration as written, plus what a test machine needs: no real
        # sensors, no reboot, a UI socket in the test's directory.
        config = self.work / "agent-test.toml"
        config.write_text(
            (self.etc_dir / paths.AGENT_CONFIG_NAME).read_text()
            + f'[ui]\nsocket = "{self.work / "agent.sock"}"\n'
            + '[actions]\nbackend = "simulated"\n'
            + '[sensors]\nbackend = "simulated"\n'
            + "[health]\ninterval_s = 1\n"
        )
        config.chmod(0o600)
        script = Path(sys.executable).parent / "kiosk-agent"
        with self.log.open("ab") as log:
            self.agent = subprocess.Popen(
                [str(script), "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
            )

    def stop_agent(self) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()


@pytest.fixture
def agent_runner(tmp_path: Path) -> Iterator[AgentRunner]:
    work = tmp_path / "agent"
    work.mkdir()
    made = AgentRunner(tmp_path / "etc-kiosk", work)
    yield made
    made.stop_agent()


def operator_token(settings: FleetSettings) -> str:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            _token, secret = crud.create_api_token(
                session, "technician", "operator", "test", crud.utc_now()
            )
            session.commit()
            return secret
    finally:
        engine.dispose()


def terminal_row(settings: FleetSettings, terminal_id: str) -> Terminal | None:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return session.get(Terminal, terminal_id)
    finally:
        engine.dispose()


def test_enrol_see_online_decommission_and_the_broker_refuses_it(
    fleet_settings: FleetSettings,
    broker: TestBroker,
    agent_runner: AgentRunner,
    tmp_path: Path,
    probes: list[MqttProbe],
) -> None:
    etc_dir = agent_runner.etc_dir
    app = fleet_app(fleet_settings, broker, start_ingest=True)
    with served(app) as fleet_url:
        # The operator, on the fleet host.
        created = runner.invoke(
            enrolment_app,
            [
                "create",
                "--site",
                "Place Pey-Berland",
                "--commune",
                "Bordeaux",
                "--lat",
                "44.8378",
                "--lon",
                "-0.5792",
            ],
            env={"FLEET_DATABASE_URL": fleet_settings.database_url},
        )
        assert created.exit_code == 0, created.output
        found = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\b", created.output)
        assert found is not None, created.output
        code = found.group(1)

        # The technician, on the unit.
        provision = build_app("en", runner=agent_runner)
        enroll_args = [
            "enroll",
            "--code",
            code,
            "--fleet",
            fleet_url,
            "--site",
            "Place Pey-Berland",
            "--etc-dir",
            str(etc_dir),
            "--state-dir",
            str(tmp_path / "agent" / "state"),
            "--wait",
            "30",
            "--poll",
            "0.1",
        ]
        enrolled = runner.invoke(provision, enroll_args)
        assert enrolled.exit_code == 0, enrolled.output + agent_runner.log.read_text()
        assert "The fleet sees bdx-bordeaux-001 online." in enrolled.output
        assert agent_runner.calls[:2] == [
            ["systemctl", "enable", "kiosk-agent.service", "kiosk-ui.service"],
            ["systemctl", "restart", "kiosk-agent.service", "kiosk-ui.service"],
        ]
        for name in (paths.AGENT_CONFIG_NAME, paths.MQTT_PASSWORD_NAME, paths.ENROLMENT_NAME):
            assert (etc_dir / name).stat().st_mode & 0o777 == 0o600
        config = tomllib.loads((etc_dir / paths.AGENT_CONFIG_NAME).read_text())
        assert config["terminal_id"] == "bdx-bordeaux-001"
        assert config["mqtt"]["password_file"] == str(etc_dir / paths.MQTT_PASSWORD_NAME)
        terminal = terminal_row(fleet_settings, "bdx-bordeaux-001")
        assert terminal is not None
        assert terminal.state == "online"
        assert (terminal.site_name, terminal.commune) == ("Place Pey-Berland", "Bordeaux")
        assert (terminal.latitude, terminal.longitude) == (44.8378, -0.5792)

        # Idempotent: the same command again changes nothing and says so.
        again = runner.invoke(provision, enroll_args)
        assert again.exit_code == 0, again.output
        assert "Already enrolled as bdx-bordeaux-001" in again.output

        status = runner.invoke(provision, ["status", "--etc-dir", str(etc_dir)])
        assert status.exit_code == 0, status.output
        assert "online" in status.output
        assert "bdx-bordeaux-001" in status.output

        # Decommission from the unit, with an operator's token.
        password = (etc_dir / paths.MQTT_PASSWORD_NAME).read_text().strip()
        log = broker.running.config_dir / "mosquitto.log"
        log_before = len(log.read_text())
        gone = runner.invoke(
            provision,
            [
                "decommission",
                "--token",
                operator_token(fleet_settings),
                "--etc-dir",
                str(etc_dir),
                "--no-systemctl",
            ],
        )
        assert gone.exit_code == 0, gone.output
        assert not (etc_dir / paths.MQTT_PASSWORD_NAME).exists()
        assert not (etc_dir / paths.AGENT_CONFIG_NAME).exists()

        # The agent (still running: --no-systemctl) was dropped by the broker at once, and
        # its reconnections are refused.
        def broker_says(pattern: str) -> bool:
            return re.search(pattern, log.read_text()[log_before:]) is not None

        wait_until(
            lambda: broker_says(r"Client bdx-bordeaux-001 disconnected"),
            timeout_s=5,
            what="the broker dropping the decommissioned terminal",
        )
        wait_until(
            lambda: broker_says(r"Client <unknown> disconnected, not authori[sz]ed"),
            timeout_s=20,
            what="the agent's reconnection being refused",
        )
        refused = mqtt_probe(broker.host, broker.port, "bdx-bordeaux-001", password)
        probes.append(refused)
        assert refused.reason is not None
        assert refused.reason.is_failure
        assert agent_runner.agent is not None
        assert agent_runner.agent.poll() is None
        terminal = terminal_row(fleet_settings, "bdx-bordeaux-001")
        assert terminal is not None
        assert terminal.decommissioned_at is not None
    assert os.path.exists(etc_dir)
