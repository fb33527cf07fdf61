"""Fleet side: enrolment codes, the enrolment API, and decommissioning with a real Mosquitto.

The broker is the project's configuration (password file + ACL); decommissioning removes the
terminal's user and sends SIGHUP: Mosquitto 2.0 drops the connected client at once.
"""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleet import crud, enrolment
from fleet.broker import password_file_users
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import AuditEntry, EnrolmentCode, Terminal
from tests.conftest import TestBroker
from tests.helpers import csrf_token_of, log_in
from tests.provisioning.conftest import MqttProbe, fleet_app, mqtt_probe

pytestmark = [pytest.mark.broker]


def new_code(settings: FleetSettings, hours: float = 24, **site: object) -> str:
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            created = enrolment.create_code(
                session,
                str(site.get("site", "Mairie de Bègles")),
                str(site.get("commune", "Bègles")),
                44.808,
                -0.548,
                "test",
                crud.utc_now(),
                timedelta(hours=hours),
            )
            session.commit()
            return created.code
    finally:
        engine.dispose()


def rows(settings: FleetSettings, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return list(session.scalars(select(model)))
    finally:
        engine.dispose()


def test_codes_are_easy_to_type_and_only_their_hash_is_kept(fleet_settings: FleetSettings) -> None:
    code = new_code(fleet_settings)
    assert re.fullmatch(r"[ACDEFHJKMNPRTUVWXY3479]{4}(-[ACDEFHJKMNPRTUVWXY3479]{4}){3}", code)
    stored = rows(fleet_settings, EnrolmentCode)
    assert [c.code_hash for c in stored] == [enrolment.hash_code(code.replace("-", ""))]
    assert code.replace("-", "") not in str([vars(c) for c in stored])
    # Lower case, spaces instead of dashes: the same code.
    assert enrolment.normalize_code(code.lower().replace("-", " ")) == code.replace("-", "")


def test_an_operator_creates_a_code_on_the_dashboard(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    with TestClient(fleet_app(fleet_settings, broker)) as client:
        assert log_in(client).status_code == 303
        page = client.get("/enrolment")
        assert page.status_code == 200
        token = csrf_token_of(page.text)
        refused = client.post("/enrolment", data={"site": "X", "csrf_token": "wrong"})
        assert refused.status_code == 400
        made = client.post(
            "/enrolment",
            data={
                "site": "Mairie de Bègles",
                "commune": "Bègles",
                "latitude": "44,808",
                "longitude": "-0.548",
                "csrf_token": token,
            },
        )
        assert made.status_code == 201
        assert made.headers["Cache-Control"] == "no-store"
        shown = re.search(r'id="new-enrolment-code">([A-Z0-9-]+)<', made.text)
        assert shown is not None
        # The whole command, filled in with this code and this fleet's address, as text to
        # copy and as a QR code; the validity in the operator's words.
        command = f"kiosk-provision enroll --code {shown.group(1)} --fleet http://testserver"
        assert f'id="enrolment-command">{command}<' in made.text
        assert 'data-copy="enrolment-command"' in made.text
        assert "<svg" in made.text
        assert "Code QR de la commande" in made.text
        assert "dans un délai de 24\u202fh." in made.text  # Babel: a narrow no-break space
        assert "CODE" not in made.text.replace(shown.group(1), "")
        assert "Mairie de Bègles" in client.get("/enrolment").text
        assert shown.group(1) not in client.get("/enrolment").text  # shown once
    assert "enrolment_code_created" in [e.action for e in rows(fleet_settings, AuditEntry)]


def test_enrolment_creates_the_terminal_and_its_mqtt_user(
    fleet_settings: FleetSettings, broker: TestBroker, probes: list[MqttProbe]
) -> None:
    code = new_code(fleet_settings)
    with TestClient(fleet_app(fleet_settings, broker)) as client:
        answer = client.post(
            "/api/v1/enrol",
            json={"code": code.lower(), "hardware": {"machine": "x86_64"}, "config_dir": "/etc/k"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["terminal_id"] == "bdx-begles-001"
        config = tomllib.loads(body["agent_config"])
        assert config["terminal_id"] == "bdx-begles-001"
        assert config["mqtt"] == {
            "host": broker.host,
            "port": broker.port,
            "password_file": "/etc/k/mqtt-password",
        }
        assert body["ca_pem"] is None
        assert body["content_root"] is None

        # The code is spent; a second one at the same commune gets the next number.
        again = client.post("/api/v1/enrol", json={"code": code})
        assert again.status_code == 410
        assert again.json()["error"] == "used"
        assert "déjà été utilisé" in again.json()["detail"]
        second = client.post("/api/v1/enrol", json={"code": new_code(fleet_settings)})
        assert second.json()["terminal_id"] == "bdx-begles-002"

    (terminal, _second) = sorted(rows(fleet_settings, Terminal), key=lambda t: t.id)
    assert (terminal.site_name, terminal.commune) == ("Mairie de Bègles", "Bègles")
    assert (terminal.latitude, terminal.longitude) == (44.808, -0.548)
    assert "bdx-begles-001" in password_file_users(broker.running.password_file)
    probe = mqtt_probe(broker.host, broker.port, "bdx-begles-001", body["mqtt_password"])
    probes.append(probe)
    assert probe.reason is not None
    assert not probe.reason.is_failure
    audit = [(e.action, e.target) for e in rows(fleet_settings, AuditEntry)]
    assert ("terminal_enrolled", "bdx-begles-001") in audit


def test_mistyped_expired_and_unknown_codes_get_clear_errors(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    expired = new_code(fleet_settings, hours=-1)
    with TestClient(fleet_app(fleet_settings, broker)) as client:
        malformed = client.post("/api/v1/enrol", json={"code": "ABCD-1234"})
        assert malformed.status_code == 422
        assert malformed.json()["error"] == "malformed"
        unknown = client.post("/api/v1/enrol", json={"code": "AAAA-AAAA-AAAA-AAAA"})
        assert unknown.status_code == 404
        assert "Code d'inscription inconnu" in unknown.json()["detail"]
        gone = client.post("/api/v1/enrol?lang=en", json={"code": expired})
        assert gone.status_code == 410
        assert gone.json() == {
            "error": "expired",
            "detail": "This enrolment code has expired: ask the operations team for a new one.",
        }
    assert rows(fleet_settings, Terminal) == []


def test_failed_attempts_are_rate_limited(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    code = new_code(fleet_settings)
    app = fleet_app(fleet_settings, broker, max_failures=3)
    with TestClient(app) as client:
        for _ in range(3):
            assert (
                client.post("/api/v1/enrol", json={"code": "AAAA-AAAA-AAAA-AAAA"}).status_code
                == 404
            )
        blocked = client.post("/api/v1/enrol", json={"code": code})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert blocked.json()["error"] == "rate_limited"
    assert rows(fleet_settings, Terminal) == []
    # The right code from another address is not held back by the guesser's failures.
    with TestClient(app, client=("198.51.100.20", 5000)) as technician:
        assert technician.post("/api/v1/enrol", json={"code": code}).status_code == 200


def test_two_fleet_processes_share_the_enrolment_counts(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    """Found from outside: the limiter lived in memory, so each process allowed the limit."""
    first = fleet_app(fleet_settings, broker, max_failures=4)
    second = fleet_app(fleet_settings, broker, max_failures=4)
    wrong = {"code": "AAAA-AAAA-AAAA-AAAA"}
    with TestClient(first) as one, TestClient(second) as other:
        for _ in range(2):
            assert one.post("/api/v1/enrol", json=wrong).status_code == 404
            assert other.post("/api/v1/enrol", json=wrong).status_code == 404
        assert one.post("/api/v1/enrol", json=wrong).status_code == 429
        assert other.post("/api/v1/enrol", json=wrong).status_code == 429


def test_decommissioning_cuts_a_connected_terminal_off_at_once(
    fleet_settings: FleetSettings, broker: TestBroker, probes: list[MqttProbe]
) -> None:
    code = new_code(fleet_settings)
    app = fleet_app(fleet_settings, broker)
    with TestClient(app) as client:
        body = client.post("/api/v1/enrol", json={"code": code}).json()
        terminal_id, password = body["terminal_id"], body["mqtt_password"]
        connected = mqtt_probe(broker.host, broker.port, terminal_id, password)
        probes.append(connected)
        assert connected.reason is not None
        assert not connected.reason.is_failure

        assert client.post(f"/api/v1/terminals/{terminal_id}/decommission").status_code == 401
        assert log_in(client).status_code == 303
        no_csrf = client.post(f"/api/v1/terminals/{terminal_id}/decommission")
        assert no_csrf.status_code == 403
        token = csrf_token_of(client.get("/enrolment").text)
        done = client.post(
            f"/api/v1/terminals/{terminal_id}/decommission", headers={"X-CSRF-Token": token}
        )
        assert done.status_code == 200, done.text
        assert done.json()["decommissioned_at"] is not None

        # The broker closed the live connection, and the same credentials are now refused.
        assert connected.disconnected.wait(5), "the connected terminal was not dropped"
        retry = mqtt_probe(broker.host, broker.port, terminal_id, password)
        probes.append(retry)
        assert retry.reason is not None
        assert retry.reason.is_failure
        assert str(retry.reason) in ("Not authorized", "Bad user name or password")

        unknown = client.post(
            "/api/v1/terminals/bdx-nowhere-001/decommission", headers={"X-CSRF-Token": token}
        )
        assert unknown.status_code == 404
    assert terminal_id not in password_file_users(broker.running.password_file)
    [terminal] = rows(fleet_settings, Terminal)
    assert terminal.decommissioned_at is not None
    assert ("terminal_decommissioned", terminal_id) in [
        (e.action, e.target) for e in rows(fleet_settings, AuditEntry)
    ]


def test_the_status_endpoint_needs_the_terminal_s_token(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    with TestClient(fleet_app(fleet_settings, broker)) as client:
        body = client.post("/api/v1/enrol", json={"code": new_code(fleet_settings)}).json()
        url = f"/api/v1/enrol/{body['terminal_id']}/status"
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"X-Terminal-Token": "nope"}).status_code == 401
        seen = client.get(url, headers={"X-Terminal-Token": body["status_token"]})
        assert seen.status_code == 200
        assert seen.json()["state"] == "unknown"


def test_without_a_password_file_enrolment_is_refused_and_the_code_kept(
    fleet_settings: FleetSettings, broker: TestBroker, tmp_path: Path
) -> None:
    code = new_code(fleet_settings)
    app = fleet_app(fleet_settings, broker, broker_password_file=None)
    with TestClient(app) as client:
        refused = client.post("/api/v1/enrol", json={"code": code})
        assert refused.status_code == 503
    [stored] = rows(fleet_settings, EnrolmentCode)
    assert stored.used_at is None


def test_the_fleet_cli_lists_codes_and_decommissions(
    fleet_settings: FleetSettings, broker: TestBroker, probes: list[MqttProbe]
) -> None:
    from typer.testing import CliRunner

    from fleet.cli.enrolment import app as enrolment_app

    with TestClient(fleet_app(fleet_settings, broker)) as client:
        body = client.post("/api/v1/enrol", json={"code": new_code(fleet_settings)}).json()
    connected = mqtt_probe(broker.host, broker.port, body["terminal_id"], body["mqtt_password"])
    probes.append(connected)
    env = {
        "FLEET_DATABASE_URL": fleet_settings.database_url,
        "FLEET_DEFAULT_LANGUAGE": "en",
        "FLEET_ENROLMENT_BROKER_PASSWORD_FILE": str(broker.running.password_file),
        "FLEET_ENROLMENT_BROKER_PID_FILE": str(broker.running.pid_file),
    }
    listed = CliRunner().invoke(enrolment_app, ["list"], env=env)
    assert listed.exit_code == 0
    assert "bdx-begles-001" in listed.output
    unknown = CliRunner().invoke(enrolment_app, ["decommission", "bdx-nowhere-001"], env=env)
    assert unknown.exit_code == 3
    done = CliRunner().invoke(enrolment_app, ["decommission", body["terminal_id"]], env=env)
    assert done.exit_code == 0, done.output
    assert connected.disconnected.wait(5)
    assert body["terminal_id"] not in password_file_users(broker.running.password_file)
    no_file = CliRunner().invoke(
        enrolment_app,
        ["decommission", body["terminal_id"]],
        env={**env, "FLEET_ENROLMENT_BROKER_PASSWORD_FILE": ""},
    )
    assert no_file.exit_code == 2


def test_a_fleet_that_could_not_answer_fully_refuses_before_spending_the_code(
    fleet_settings: FleetSettings, broker: TestBroker
) -> None:
    """A broker address no terminal could use (here with a space) is the fleet's mistake: the
    technician is told so, and the code stays valid for when it is fixed."""
    code = new_code(fleet_settings)
    app = fleet_app(fleet_settings, broker, broker_public_host="broker example")
    with TestClient(app) as client:
        refused = client.post("/api/v1/enrol", json={"code": code})
        assert refused.status_code == 503
        assert refused.json()["error"] == "misconfigured"
        assert "appelez l'équipe d'exploitation" in refused.json()["detail"]
    [stored] = rows(fleet_settings, EnrolmentCode)
    assert stored.used_at is None
    assert rows(fleet_settings, Terminal) == []


@pytest.mark.parametrize("site", ["Mairie\tde Bègles", "Mairie\nde Bègles", "Mairie \x1b[2J"])
def test_a_site_with_a_control_character_is_refused_in_words_that_say_so(
    fleet_settings: FleetSettings, broker: TestBroker, site: str
) -> None:
    """The answer would carry it to the technician's screen: the form and the command line
    refuse it, saying what is wrong, and no code is made."""
    from typer.testing import CliRunner

    from fleet.cli.enrolment import app as enrolment_app

    with TestClient(fleet_app(fleet_settings, broker)) as client:
        assert log_in(client).status_code == 303
        token = csrf_token_of(client.get("/enrolment").text)
        refused = client.post(
            "/enrolment", data={"site": site, "commune": "Bègles", "csrf_token": token}
        )
    assert refused.status_code == 400
    assert "ni tabulation, ni retour à la ligne" in refused.text
    env = {"FLEET_DATABASE_URL": fleet_settings.database_url, "FLEET_DEFAULT_LANGUAGE": "fr"}
    typed = CliRunner().invoke(
        enrolment_app, ["create", "--site", site, "--commune", "Bègles"], env=env
    )
    assert typed.exit_code == 2
    assert "ni tabulation, ni retour à la ligne" in typed.output
    assert rows(fleet_settings, EnrolmentCode) == []
