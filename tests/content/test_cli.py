"""``fleet content``: check explains problems in French, keys init and publish sign a version."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.content.cli import app
from fleet.content.repository import ContentRepository
from tests.content.helpers import make_bundle

ENV = {
    "FLEET_CONTENT_ROOT_PASSPHRASE": "racine secrète",
    "FLEET_CONTENT_TARGETS_PASSPHRASE": "cibles secrètes",
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_check_accepts_a_valid_bundle(runner: CliRunner, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    result = runner.invoke(app, ["check", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "Le lot 2025.12.1 est valide" in result.output


def test_check_explains_every_problem_in_french(runner: CliRunner, tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    catalog = json.loads((bundle / "catalog.json").read_text(encoding="utf-8"))
    catalog["tiles"][0]["url"] = "http://example.org/"
    del catalog["groups"][0]["label"]
    catalog["colour"] = "blue"
    (bundle / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    os.symlink("/etc/passwd", bundle / "passwd")
    (bundle / ".cache").write_text("x")
    result = runner.invoke(app, ["check", str(bundle)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "passwd est un lien symbolique" in text
    assert ".cache porte un nom qu'une borne refuse" in text
    assert "groups[0].label : ce champ est obligatoire mais absent" in text
    assert "colour : ce champ est inconnu" in text
    assert "tiles[0].url" in text
    assert "les bornes le refuseraient" in text


def test_check_refuses_a_camera_for_another_site_in_french(
    runner: CliRunner, tmp_path: Path
) -> None:
    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    catalog = json.loads((bundle / "catalog.json").read_text(encoding="utf-8"))
    tile = catalog["tiles"][0]
    tile["media"] = {"devices": ["camera", "microphone"], "origins": ["https://visio.example.org"]}
    (bundle / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    result = runner.invoke(app, ["check", str(bundle)])
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "la caméra et le micro sont demandés pour https://visio.example.org" in text
    assert "une tuile ne peut les accorder qu'à ses propres sites" in text
    tile["media"]["origins"] = [f"https://{tile['url'].split('/')[2]}"]
    (bundle / "catalog.json").write_text(json.dumps(catalog), encoding="utf-8")
    result = runner.invoke(app, ["check", str(bundle)])
    assert result.exit_code == 0, result.output


def test_check_of_broken_json_and_missing_folder(runner: CliRunner, tmp_path: Path) -> None:
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / "catalog.json").write_text("{ nope", encoding="utf-8")
    result = runner.invoke(app, ["check", str(bundle)])
    assert result.exit_code == 1
    assert "n'est pas du JSON valide : ligne 1, colonne 3" in result.output
    result = runner.invoke(app, ["check", str(tmp_path / "absent")])
    assert result.exit_code == 1
    assert "n'est pas un dossier" in " ".join(result.output.split())


def test_keys_init_then_publish_then_timestamp(runner: CliRunner, tmp_path: Path) -> None:
    places = ["--repo", str(tmp_path / "repo"), "--keys", str(tmp_path / "keys")]
    result = runner.invoke(app, [*places, "keys", "init"], env=ENV)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "keys" / "online.pem").stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in (tmp_path / "keys" / "targets.pem").read_bytes()
    assert b"ENCRYPTED" in (tmp_path / "keys" / "root.pem").read_bytes()
    again = runner.invoke(app, [*places, "keys", "init"], env=ENV)
    assert again.exit_code == 1

    bundle = make_bundle(tmp_path / "b", "2025.12.1")
    result = runner.invoke(app, [*places, "publish", str(bundle)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "Version 2025.12.1 publiée" in " ".join(result.output.split())
    repository = ContentRepository(tmp_path / "repo")
    assert repository.published_versions() == ["2025.12.1"]

    twice = runner.invoke(app, [*places, "publish", str(bundle)], env=ENV)
    assert twice.exit_code == 1
    assert "already published" in " ".join(twice.output.split())

    wrong = {**ENV, "FLEET_CONTENT_TARGETS_PASSPHRASE": "faux"}
    bundle2 = make_bundle(tmp_path / "b2", "2025.12.2")
    refused = runner.invoke(app, [*places, "publish", str(bundle2)], env=wrong)
    assert refused.exit_code == 1
    assert "wrong passphrase" in " ".join(refused.output.split())

    before = repository.timestamp().signed.version
    result = runner.invoke(app, [*places, "timestamp"], env=ENV)
    assert result.exit_code == 0, result.output
    assert repository.timestamp().signed.version == before + 1
