"""See the terminal on the dashboard: ask for logs or the screen, show the answer or refusal.

On a real SQLite file through the real ingest handler (the terminal's acks as it sends them);
the broker and the agent are in ``tests/test_see_terminal_e2e.py``.
"""

from __future__ import annotations

import base64
import zlib

import pytest
from fastapi.testclient import TestClient

from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.models import CommandOutputRecord
from fleet.see_terminal import KEEP_PER_KIND
from kiosk.contract.mqtt import (
    Channel,
    CommandAck,
    CommandOutput,
    LogLine,
    Reason,
    redact_log_text,
    topic_for,
)
from tests.helpers import csrf_token_of

from .conftest import later
from .test_command_web import API, PAGE, TERMINAL, logged_in_as, store
from .test_command_web import terminal as terminal


def tiny_png(shade: int = 0) -> bytes:
    """A real 2×1 PNG (grey ``shade``)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    pixels = zlib.compress(bytes([0, shade, shade]))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def ask(client: TestClient, name: str) -> str:
    """Press the panel's button; the id of the command it sent."""
    token = csrf_token_of(client.get(PAGE).text)
    response = client.post(
        f"{PAGE}/see", data={"name": name, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{PAGE}#see-terminal"
    [command] = [c for c in client.get(API).json() if c["name"] == name][:1]
    assert command["state"] == "pending"
    return str(command["id"])


def answer(
    settings: FleetSettings,
    command_id: str,
    result: str,
    seq: int,
    reason: str | None = None,
    output: CommandOutput | None = None,
) -> None:
    ack = CommandAck.model_validate(
        {
            "id": command_id,
            "result": result,
            "reason": reason,
            "seq": seq,
            "sent_at": later(seq),
            "output": output,
        }
    )
    store(settings, topic_for(TERMINAL, Channel.CMD_ACK), ack.to_bytes(), later(seq + 1))


def test_the_panel_is_french_and_only_operators_get_its_buttons(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "viewer")
    page = client.get(PAGE).text
    assert "Voir la borne" in page
    assert 'id="see-ask-logs"' not in page
    assert 'id="see-logs"' not in page
    assert "Pas encore demandé." in page
    token = csrf_token_of(page)
    refused = client.post(f"{PAGE}/see", data={"name": "logs", "csrf_token": token})
    assert refused.status_code == 403


def test_an_unknown_request_or_forged_form_is_refused(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    token = csrf_token_of(client.get(PAGE).text)
    assert (
        client.post(f"{PAGE}/see", data={"name": "reboot", "csrf_token": token}).status_code == 422
    )
    assert client.post(f"{PAGE}/see", data={"name": "logs", "csrf_token": "x"}).status_code == 400


def test_logs_are_shown_with_their_time_and_nothing_else(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    command_id = ask(client, "logs")
    assert client.get(API).json()[0]["args"] == {"lines": 50}
    page = client.get(PAGE).text
    assert "en attente de la réponse de la borne" in page
    lines = [
        LogLine(at=later(1), unit="kiosk-agent.service", priority=6, text="connected to the fleet"),
        LogLine(
            at=later(2),
            unit="kiosk-ui.service",
            priority=3,
            text=redact_log_text("kiosk.ui.x: odd page https://www.caf.fr/mon-compte"),
        ),
    ]
    answer(settings, command_id, "accepted", 1)
    answer(settings, command_id, "done", 2, output=CommandOutput(logs=lines))
    page = client.get(PAGE).text
    assert 'id="see-logs"' in page
    assert "connected to the fleet" in page
    assert "kiosk.ui.x: odd page […]" in page
    assert "caf.fr" not in page
    assert "2 lignes, les plus anciennes d’abord" in page
    assert "Reçu le " in page
    assert "erreur" in page
    assert "écran de la borne" in page


def test_a_screenshot_is_shown_and_served_to_logged_in_users_only(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    command_id = ask(client, "screenshot")
    png = tiny_png()
    answer(settings, command_id, "accepted", 1)
    output = CommandOutput(screenshot_png=base64.b64encode(png).decode())
    answer(settings, command_id, "done", 2, output=output)
    page = client.get(PAGE).text
    picture = f"/terminals/{TERMINAL}/screen/{command_id}.png"
    assert f'src="{picture}"' in page
    assert "écran d’accueil ou de veille" in page
    served = client.get(picture)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == png
    assert client.get(f"/terminals/{TERMINAL}/screen/nope12345.png").status_code == 404
    client.cookies.clear()
    assert client.get(picture, follow_redirects=False).status_code in (303, 401)


def test_a_refusal_is_shown_in_french(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    command_id = ask(client, "screenshot")
    answer(settings, command_id, "refused", 1, reason=Reason.SCREEN_IN_USE)
    page = client.get(PAGE).text
    assert "Refusé : une personne utilise la borne" in page
    assert Reason.SCREEN_IN_USE.value not in page
    assert 'id="see-screen-picture"' not in page


def test_only_the_latest_outputs_are_kept(
    client: TestClient, settings: FleetSettings, terminal: str
) -> None:
    logged_in_as(client, settings, "operator")
    ids = []
    for number in range(KEEP_PER_KIND + 2):
        command_id = ask(client, "screenshot")
        output = CommandOutput(screenshot_png=base64.b64encode(tiny_png(number)).decode())
        answer(settings, command_id, "done", 10 * number + 1, output=output)
        ids.append(command_id)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        kept = {row.command_id for row in session.query(CommandOutputRecord).all()}
    engine.dispose()
    assert kept == set(ids[-KEEP_PER_KIND:])


@pytest.mark.parametrize("kind", ["logs", "screenshot"])
def test_a_request_to_an_unreachable_terminal_waits_until_it_is_back(
    client: TestClient, settings: FleetSettings, terminal: str, kind: str
) -> None:
    from .conftest import status_payload

    store(settings, topic_for(TERMINAL, Channel.STATUS), status_payload("lost"), later(5))
    logged_in_as(client, settings, "operator")
    ask(client, kind)
    page = client.get(PAGE).text
    assert "la borne n’est pas connectée ; la demande attend son retour, jusqu’au" in page
