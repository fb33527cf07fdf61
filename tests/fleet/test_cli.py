"""The ``fleet`` command line: database upgrade and administrator creation."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from fleet.cli import app
from fleet.core.db import make_engine, make_session_factory
from fleet.core.security import verify_password
from fleet.models import AuditEntry, User

runner = CliRunner()
GOOD_PASSWORD = "a long enough passphrase"


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'cli' / 'fleet.db'}"}


def users(tmp_path: Path) -> list[User]:
    engine = make_engine(env_for(tmp_path)["FLEET_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        found = list(session.scalars(select(User)))
    engine.dispose()
    return found


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env=env_for(tmp_path))

    assert result.exit_code == 0, result.output
    assert "à jour" in result.output
    assert users(tmp_path) == []


def test_create_admin_from_stdin(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["create-admin", "alice", "--password-stdin"],
        input=GOOD_PASSWORD + "\n",
        env=env_for(tmp_path),
    )

    assert result.exit_code == 0, result.output
    assert "Administrateur alice créé." in result.output
    [alice] = users(tmp_path)
    assert (alice.username, alice.role) == ("alice", "admin")
    assert verify_password(alice.password_hash, GOOD_PASSWORD)


def test_create_admin_is_written_to_the_audit_log(tmp_path: Path) -> None:
    env = {**env_for(tmp_path), "USER": "technicien", "SUDO_USER": ""}
    result = runner.invoke(
        app, ["create-admin", "alice", "--password-stdin"], input=GOOD_PASSWORD + "\n", env=env
    )

    assert result.exit_code == 0, result.output
    engine = make_engine(env["FLEET_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        entries = [(e.username, e.action, e.target) for e in session.scalars(select(AuditEntry))]
    engine.dispose()
    assert entries == [("cli:technicien", "admin_created", "alice")]


def test_create_admin_prompts_twice(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["create-admin", "bob"],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n",
        env=env_for(tmp_path),
    )

    assert result.exit_code == 0, result.output
    assert [u.username for u in users(tmp_path)] == ["bob"]


def test_create_admin_refuses_differing_passwords(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["create-admin", "bob"],
        input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}!\n",
        env=env_for(tmp_path),
    )

    assert result.exit_code == 1
    assert "diffèrent" in result.output


def test_create_admin_refuses_a_short_password(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["create-admin", "alice", "--password-stdin"],
        input="short\n",
        env=env_for(tmp_path),
    )

    assert result.exit_code == 1
    assert "trop court" in result.output
    assert "12" in result.output


def test_create_admin_refuses_an_existing_username(tmp_path: Path) -> None:
    args = ["create-admin", "alice", "--password-stdin"]
    runner.invoke(app, args, input=GOOD_PASSWORD + "\n", env=env_for(tmp_path))

    result = runner.invoke(app, args, input=GOOD_PASSWORD + "x\n", env=env_for(tmp_path))

    assert result.exit_code == 1
    assert "existe déjà" in result.output
    assert len(users(tmp_path)) == 1


def test_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text("broker_port = [\n")

    result = runner.invoke(app, ["--config", str(config), "db", "upgrade"])

    assert result.exit_code == 2
    assert "TOML" in result.output
