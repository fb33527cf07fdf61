"""``kiosk-provision enroll``, ``label`` and ``decommission`` against a served fleet: refusals are
clear, and a failure leaves nothing half-written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.broker import free_port
from fleet.core.config import FleetSettings
from kiosk.contract import paths
from provisioning import files, unit
from provisioning.cli import build_app
from tests.conftest import TestBroker
from tests.helpers import served
from tests.provisioning.conftest import fleet_app
from tests.provisioning.test_enrolment_api import new_code

pytestmark = [pytest.mark.broker]

runner = CliRunner()


@pytest.fixture
def fleet_url(fleet_settings: FleetSettings, broker: TestBroker) -> Iterator[str]:
    with served(fleet_app(fleet_settings, broker)) as url:
        yield url


def enroll(fleet: str, code: str, etc_dir: Path, language: str = "fr") -> tuple[int, str]:
    result = runner.invoke(
        build_app(language),
        [
            "enroll",
            "--code",
            code,
            "--fleet",
            fleet,
            "--etc-dir",
            str(etc_dir),
            "--no-systemctl",
            "--wait",
            "0",
        ],
    )
    return result.exit_code, result.output


def test_expired_used_and_mistyped_codes_are_explained_and_nothing_is_written(
    fleet_settings: FleetSettings, fleet_url: str, tmp_path: Path
) -> None:
    etc_dir = tmp_path / "etc"
    code, output = enroll(fleet_url, new_code(fleet_settings, hours=-1), etc_dir)
    assert code == 1
    assert "a expiré" in output
    assert "Demandez un nouveau code" in output
    code, output = enroll(fleet_url, "ABCD-12", etc_dir)
    assert code == 1
    assert "Retapez le code" in output
    code, output = enroll(fleet_url, "AAAA-AAAA-AAAA-AAAA", etc_dir, "en")
    assert code == 1
    assert "Unknown enrolment code" in output
    assert [p.name for p in etc_dir.iterdir()] == []


def test_an_unreachable_fleet_keeps_the_code_valid(
    fleet_settings: FleetSettings, fleet_url: str, tmp_path: Path
) -> None:
    good = new_code(fleet_settings)
    code, output = enroll(f"http://127.0.0.1:{free_port()}", good, tmp_path / "etc", "en")
    assert code == 1
    assert "cannot be reached" in output
    assert "still valid" in output
    code, output = enroll(fleet_url, good, tmp_path / "etc", "en")
    assert code == 0, output


def test_enrolled_unit_label_and_a_second_code_is_refused(
    fleet_settings: FleetSettings, fleet_url: str, tmp_path: Path
) -> None:
    etc_dir = tmp_path / "etc"
    code, output = enroll(fleet_url, new_code(fleet_settings), etc_dir, "en")
    assert code == 0, output
    assert "Enrolled as bdx-begles-001 at Mairie de Bègles" in output
    assert sorted(p.name for p in etc_dir.iterdir()) == [
        "agent.toml",
        "enrolment.toml",
        "mqtt-password",
    ]
    code, output = enroll(fleet_url, new_code(fleet_settings), etc_dir, "en")
    assert code == 1
    assert "already enrolled as bdx-begles-001" in output

    png = tmp_path / "label.png"
    label = runner.invoke(build_app("en"), ["label", "--etc-dir", str(etc_dir), "-o", str(png)])
    assert label.exit_code == 0, label.output
    assert "bdx-begles-001" in label.output
    assert "Mairie de Bègles" in label.output
    assert png.read_bytes().startswith(b"\x89PNG")


def test_decommission_with_a_bad_token_wipes_nothing(
    fleet_settings: FleetSettings, fleet_url: str, tmp_path: Path
) -> None:
    etc_dir = tmp_path / "etc"
    assert enroll(fleet_url, new_code(fleet_settings), etc_dir)[0] == 0
    refused = runner.invoke(
        build_app("en"),
        ["decommission", "--token", "wrong", "--etc-dir", str(etc_dir), "--no-systemctl"],
    )
    assert refused.exit_code == 1
    assert "nothing was wiped" in refused.output
    assert (etc_dir / paths.MQTT_PASSWORD_NAME).exists()


def test_a_failed_swap_puts_every_file_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc_dir = tmp_path / "etc"
    etc_dir.mkdir()
    (etc_dir / paths.AGENT_CONFIG_NAME).write_text("old\n")
    real_replace = os.replace
    calls = []

    def flaky_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="No space"):
        files.write_all(
            etc_dir,
            [
                files.FileToWrite(paths.AGENT_CONFIG_NAME, "new\n"),
                files.FileToWrite(paths.MQTT_PASSWORD_NAME, "secret\n"),
                files.FileToWrite(paths.ENROLMENT_NAME, "x = 1\n"),
            ],
        )
    monkeypatch.undo()
    assert sorted(p.name for p in etc_dir.iterdir()) == [paths.AGENT_CONFIG_NAME]
    assert (etc_dir / paths.AGENT_CONFIG_NAME).read_text() == "old\n"


def _sysfs(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return root


def test_the_serial_is_the_firmware_s_own_and_never_the_machine_id(tmp_path: Path) -> None:
    """On the read-only image /etc/machine-id is new at each boot: it cannot name the unit."""
    dmi = "class/dmi/id/"
    placeholder = _sysfs(
        tmp_path / "a",
        {
            dmi + "product_name": "OptiPlex 3000",
            dmi + "product_serial": "To Be Filled By O.E.M.",
            dmi + "board_serial": "BX2245-0193",
        },
    )
    facts = unit.hardware_facts(placeholder)
    assert (facts["product"], facts["serial"]) == ("OptiPlex 3000", "BX2245-0193")
    # No firmware serial: the wired card's address (a virtual one, without a device, is not).
    wired = _sysfs(
        tmp_path / "b",
        {
            "class/net/eth0/address": "52:54:00:12:34:56",
            "class/net/eth0/device/uevent": "",
            "class/net/veth0/address": "aa:bb:cc:dd:ee:ff",
        },
    )
    assert unit.unit_serial(wired) == "mac:52:54:00:12:34:56"
    assert unit.unit_serial(tmp_path / "empty") is None
    assert "serial" not in unit.hardware_facts(tmp_path / "empty")
