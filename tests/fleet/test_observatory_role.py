"""The role ``observatoire``: the observatory's pages and nothing else; the public open data."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fleet import crud, opendata
from fleet.api.deps import observatory_may_reach
from fleet.core.config import FleetSettings
from fleet.core.db import make_engine, make_session_factory
from fleet.main import create_app
from tests.helpers import log_in

from .conftest import make_settings, prepare_database
from .pages import OBSERVATORY_PERIOD, fill, get_paths
from .test_opendata import FEBRUARY
from .test_opendata import fill as fill_sessions

PASSWORD = "observatoire-mot-de-passe-long"


@pytest.fixture
def published(tmp_path: Path) -> FleetSettings:
    """A fleet whose February 2027 is published, with a user of the role observatoire."""
    folder = tmp_path / "open"
    settings = make_settings(tmp_path, observatory_open_data_dir=folder)
    prepare_database(settings)
    engine = make_engine(settings.database_url)
    with make_session_factory(engine)() as session:
        crud.create_user(session, "obs", PASSWORD, role="observatoire")
        session.commit()
        fill_sessions(session, terminals=4, sites=2, per_day=6)
        opendata.publish(
            session, folder, FEBRUARY.last, ZoneInfo("Europe/Paris"), 11, since=FEBRUARY.first
        )
    engine.dispose()
    return settings


def test_the_role_reads_the_observatory_and_nothing_else(published: FleetSettings) -> None:
    fleet = fill(published)
    app = create_app(published, start_ingest=False)
    with TestClient(app) as anonymous, TestClient(app) as client:
        assert log_in(client, "obs", PASSWORD).status_code == 303
        # Logged in, the role's home is the observatory.
        home = client.get("/", follow_redirects=False)
        assert home.status_code == 303
        assert home.headers["location"] == "/observatoire"
        allowed = []
        for path in get_paths(fleet):
            answer = client.get(path, follow_redirects=False)
            public = anonymous.get(path, follow_redirects=False)
            if observatory_may_reach(path.split("?")[0]):
                assert answer.status_code == 200, path
                allowed.append(path)
            elif public.status_code == 200:
                # Open to anyone (login page, health, public open data): nothing more for it.
                if answer.status_code == 303:  # the login page of someone logged in
                    assert answer.headers["location"] in ("/", "/observatoire"), path
                    continue
                assert answer.status_code == 200, path
                assert answer.content == public.content or path.startswith("/healthz"), path
            else:
                # Refused (or refused to anyone, like an enrolment's status without its key), or
                # sent to the login or the observatory: never the page itself.
                if answer.status_code == 303:
                    assert answer.headers["location"].split("?")[0] in (
                        "/",
                        "/login",
                        "/observatoire",
                    ), path
                    continue
                assert answer.status_code == 403 or (
                    answer.status_code == public.status_code and answer.status_code >= 400
                ), (path, answer.status_code)
        own_account = {p for p in get_paths(fleet) if p.startswith("/account")}
        assert "/account" in own_account
        assert {p.split("?")[0] for p in allowed} == own_account | {
            "/observatoire",
            f"/observatoire/donnees/{OBSERVATORY_PERIOD}/sessions.csv",
            f"/observatoire/graphiques/{OBSERVATORY_PERIOD}/evolution.svg",
        }


def test_the_page_shows_no_count_under_the_threshold(published: FleetSettings) -> None:
    with TestClient(create_app(published, start_ingest=False)) as client:
        assert log_in(client, "obs", PASSWORD).status_code == 303
        for table in ("sessions", "langues", "heures", "accessibilite"):
            page = client.get(f"/observatoire?periode=2027-S06&table={table}")
            assert page.status_code == 200
            assert "<svg" in page.text
            cells = [
                re.sub(r"<[^>]+>", "", cell.split("</td>")[0]).strip()
                for cell in page.text.split('class="number">')[1:]
            ]
            assert cells, table
            for cell in cells:
                assert cell in ("s", "0") or int(cell) >= 11, (table, cell)
        chart = client.get("/observatoire/graphiques/2027-02/communes.svg")
        assert chart.headers["content-type"].startswith("image/svg+xml")
        assert chart.text.startswith("<svg")


def test_the_open_data_are_public(published: FleetSettings) -> None:
    with TestClient(create_app(published, start_ingest=False)) as client:
        index = client.get("/opendata/observatoire").json()
        assert index["licence"]["name"] == "etalab-2.0"
        labels = {p["periode"] for p in index["periodes"]}
        assert labels == {"2027-02", "2027-S05", "2027-S06", "2027-S07", "2027-S08"}
        package = client.get("/opendata/observatoire/2027-02/datapackage.json")
        assert package.status_code == 200
        assert json.loads(package.content)["licenses"][0]["name"] == "etalab-2.0"
        csv = client.get("/opendata/observatoire/2027-02/langues.csv")
        assert csv.headers["content-type"].startswith("text/csv")
        assert csv.text.startswith("periode,type_periode")
        assert client.get("/opendata/observatoire/2027-02/..%2Ffleet.db").status_code == 404
        assert client.get("/opendata/observatoire/2027-13/sessions.csv").status_code == 404


def test_the_role_can_be_given(db_session: Session) -> None:
    user = crud.create_user(db_session, "obs2", PASSWORD, role="observatoire")
    db_session.commit()
    assert user.role == "observatoire"
    assert date(2027, 2, 1).isoweekday() == 1


def test_the_page_in_a_browser(published: FleetSettings, tmp_path: Path) -> None:
    """The page at 1280 and 390 px: charts and table inside the viewport, no overflow."""
    import os

    from playwright.sync_api import sync_playwright

    from tests.helpers import launch_chromium, served

    shots = Path(os.environ.get("KIOSK_SCREENSHOT_DIR", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)
    with served(create_app(published, start_ingest=False)) as url, sync_playwright() as pw:
        browser = launch_chromium(pw)
        for width in (1280, 390):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
            page = context.new_page()
            page.goto(url + "/login")
            page.fill("#username", "obs")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(url + "/observatoire")
            page.goto(url + "/observatoire?periode=2027-02&table=langues")
            assert page.locator("#chart-communes").is_visible()
            assert page.locator("h1").inner_text() == "Observatoire de l'inclusion numérique"
            overflow = page.evaluate(
                "document.documentElement.scrollWidth > document.documentElement.clientWidth"
            )
            assert not overflow, width
            page.screenshot(path=str(shots / f"observatory-{width}.png"), full_page=True)
            context.close()
        browser.close()
