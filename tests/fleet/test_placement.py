"""Placing a terminal from the dashboard: click (form filled by JS), typed coordinates, address."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fleet import citymap, crud
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.geocoder import TOWN_HALLS, BanGeocoder, GeocoderError, TableGeocoder, ban_document
from fleet.main import create_app
from fleet.models import AuditEntry, Terminal
from tests.fleet.conftest import make_settings, prepare_database
from tests.helpers import csrf_token_of, log_in

PAGE = "/terminals/bdx-p-001"


def add_terminal(settings: FleetSettings, **values: Any) -> None:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        now = crud.utc_now()
        session.add(
            Terminal(id="bdx-p-001", state="online", state_since=now, created_at=now, **values)
        )
        session.commit()
    engine.dispose()


def stored(settings: FleetSettings) -> tuple[float | None, float | None, list[str]]:
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        terminal = session.get(Terminal, "bdx-p-001")
        assert terminal is not None
        audits = [
            f"{row.username} {row.action} {row.target} {row.detail}"
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
        result = terminal.latitude, terminal.longitude, audits
    engine.dispose()
    return result


def token(client: TestClient) -> str:
    log_in(client)
    return csrf_token_of(client.get(PAGE).text)


def test_a_terminal_without_coordinates_is_placed_by_typed_or_clicked_coordinates(
    client: TestClient, settings: FleetSettings
) -> None:
    add_terminal(settings)
    csrf = token(client)
    page = client.get(PAGE).text
    # The form works without JavaScript; the drawing carries what the click needs.
    assert 'id="place-form"' in page
    assert 'id="place-svg"' in page
    assert f'data-west="{citymap.WEST}"' in page
    assert "pas encore de coordonnées" in page

    # French decimal comma, as an operator types it.
    answer = client.post(
        f"{PAGE}/place",
        data={"latitude": "44,8086", "longitude": "-0,5478", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    latitude, longitude, audits = stored(settings)
    assert (latitude, longitude) == (44.8086, -0.5478)
    assert audits[-1] == "admin terminal_located bdx-p-001 44.80860, -0.54780 (plan)"
    shown = client.get(PAGE).text
    assert "Borne placée en 44.80860, -0.54780." in shown
    assert 'value="44.80860"' in shown


@pytest.mark.parametrize(
    ("latitude", "longitude", "words"),
    [
        ("abc", "-0.5", "doivent être des nombres décimaux"),
        ("", "", "doivent être des nombres décimaux"),
        ("nan", "-0.5", "doivent être des nombres décimaux"),
        ("48.85", "2.35", "hors de Bordeaux Métropole"),
    ],
)
def test_bad_coordinates_get_a_clear_french_message_and_change_nothing(
    client: TestClient, settings: FleetSettings, latitude: str, longitude: str, words: str
) -> None:
    add_terminal(settings, latitude=44.84, longitude=-0.58)
    csrf = token(client)
    client.post(
        f"{PAGE}/place",
        data={"latitude": latitude, "longitude": longitude, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert stored(settings)[:2] == (44.84, -0.58)
    page = client.get(PAGE).text
    assert words in page
    assert 'role="alert"' in page


def test_placing_needs_an_operator_and_the_form_token(
    client: TestClient, settings: FleetSettings
) -> None:
    add_terminal(settings)
    log_in(client)
    refused = client.post(
        f"{PAGE}/place",
        data={"latitude": "44.8", "longitude": "-0.55", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert stored(settings)[:2] == (None, None)


def test_an_address_is_placed_through_the_offline_stand_in(
    client: TestClient, settings: FleetSettings
) -> None:
    add_terminal(settings)
    csrf = token(client)
    client.post(
        f"{PAGE}/place-address",
        data={"address": "hotel de ville begles", "csrf_token": csrf},
        follow_redirects=False,
    )
    latitude, longitude, audits = stored(settings)
    assert (latitude, longitude) == (44.8086, -0.5478)
    assert audits[-1].endswith("(Hôtel de ville, Mairie, Bègles)")
    assert "Borne placée à Hôtel de ville, Mairie, Bègles" in client.get(PAGE).text

    client.post(
        f"{PAGE}/place-address",
        data={"address": "10 rue Inconnue, Lille", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert stored(settings)[:2] == (44.8086, -0.5478)
    assert "Aucune adresse de Bordeaux Métropole ne correspond" in client.get(PAGE).text


class StandIn(BaseHTTPRequestHandler):
    """A local HTTP stand-in of the BAN's /search/ answering from the offline table."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path != "/search/":
            self.send_error(404)
            return
        query = parse_qs(url.query)
        body = json.dumps(
            ban_document(TOWN_HALLS, query["q"][0], int(query.get("limit", ["5"])[0]))
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def ban_stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_ban_client_and_the_offline_table_answer_alike(ban_stand_in: str) -> None:
    ban = BanGeocoder(ban_stand_in)
    for query in ("Mairie Mérignac", "hôtel de ville, Pessac", "Le Bouscat"):
        assert ban.search(query) == TableGeocoder().search(query)
        assert ban.search(query)[0].label.endswith(query.split()[-1].strip(","))
    with pytest.raises(GeocoderError):
        BanGeocoder(ban_stand_in + "/nowhere").search("Bègles")


def test_a_configured_geocoder_places_by_address_and_its_failure_is_said(
    tmp_path: Any, ban_stand_in: str
) -> None:
    for url, expected in ((ban_stand_in, (44.8386, -0.6436)), ("http://127.0.0.1:9", None)):
        settings = make_settings(tmp_path / str(bool(expected)), geocoder_url=url)
        (tmp_path / str(bool(expected))).mkdir()
        prepare_database(settings)
        add_terminal(settings)
        with TestClient(create_app(settings, start_ingest=False)) as client:
            csrf = token(client)
            client.post(
                f"{PAGE}/place-address",
                data={"address": "Hôtel de ville Mérignac", "csrf_token": csrf},
                follow_redirects=False,
            )
            page = client.get(PAGE).text
        if expected is None:
            assert stored(settings)[:2] == (None, None)
            assert "ne répond pas : placez plutôt la borne sur le plan" in page
        else:
            assert stored(settings)[:2] == expected


def test_a_click_on_the_plan_fills_the_form_in_chromium(
    settings: FleetSettings, client: TestClient
) -> None:
    """The real browser: fleet/static/placement.js under the page's CSP, click → lat/lon."""
    from playwright.sync_api import sync_playwright

    from tests.helpers import ADMIN_PASSWORD, ADMIN_USERNAME, launch_chromium, served

    add_terminal(settings)
    with served(create_app(settings, start_ingest=False)) as base, sync_playwright() as pw:
        browser = launch_chromium(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="fr-FR")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(base + "/login")
        page.fill("input[name=username]", ADMIN_USERNAME)
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(base + PAGE)
        picker = page.locator("#place-svg")
        picker.scroll_into_view_if_needed()
        box = picker.bounding_box()
        assert box is not None
        # 55 % across and 45 % down the drawing (its frame is 20 units of 800 inside).
        page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)
        latitude, longitude = page.input_value("#place-lat"), page.input_value("#place-lon")
        span = citymap.EAST - citymap.WEST
        assert float(longitude) == pytest.approx(citymap.WEST + 420 / 760 * span, abs=2e-4)
        assert citymap.SOUTH < float(latitude) < citymap.NORTH
        assert page.get_attribute("#place-marker", "visibility") is None
        page.click("#place-form button")
        page.wait_for_selector("#placement-flash")
        assert "Borne placée" in page.inner_text("#placement-flash")
        browser.close()
    assert errors == []
    assert stored(settings)[:2] == (float(latitude), float(longitude))
